"""Answers come in the language the person writes in."""
from actions.context import detect_language
from actions.language import ActionDetectLanguage
from tests.conftest import make_tracker, run, slot_events


def test_script_decides_the_language():
    assert detect_language("契税多少") == "zh"
    assert detect_language("how much is the deed tax") == "en"
    assert detect_language("我想check一下ZT2026000001的status") == "zh"
    assert detect_language("I want 水电气过户 please") == "en"
    assert detect_language("check (2024)浙0681执1234号 please") == "en"


def test_messages_without_words_do_not_decide():
    for text in ("", "13812345678", "👍👍", "/affirm", "ZT2026000001"):
        assert detect_language(text) is None


def test_metadata_lang_is_used_when_the_text_does_not_tell(domain):
    tracker = make_tracker(text="13812345678", metadata={"lang": "en"}, slots={"language": "zh"})
    events, _ = run(ActionDetectLanguage(), tracker, domain)
    assert slot_events(events) == {"language": "en"}


def test_text_wins_over_metadata(domain):
    tracker = make_tracker(text="契税怎么算", metadata={"lang": "en"})
    events, _ = run(ActionDetectLanguage(), tracker, domain)
    assert slot_events(events) == {"language": "zh"}


def test_emoji_keeps_the_current_language(domain):
    tracker = make_tracker(text="🙏", slots={"language": "en"})
    events, _ = run(ActionDetectLanguage(), tracker, domain)
    assert events == []


def test_a_bare_code_does_not_switch_the_language():
    assert detect_language("YJSZ2468") is None
    assert detect_language("482913") is None
    assert detect_language("查询码是 YJSZ2468") == "zh"
    assert detect_language("my code is YJSZ2468") == "en"
