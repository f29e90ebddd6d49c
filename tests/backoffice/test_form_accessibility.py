"""Hints and errors are tied to their inputs; after a failed submit the error summary takes focus
and each of its links leads to an input that exists."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.backoffice.helpers import Client, form_value, post, ref_from, sign_in
from tests.backoffice.test_journey import CLUE
from tests.conftest import Factory

NEW = "/my/submissions/new/asset_clue"


class _Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.described: dict[str, list[str]] = {}  # element id (or tag) -> ids it points to
        self.summaries: list[dict[str, str | None]] = []
        self.summary_links: list[str] = []
        self._in_summary = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if a.get("aria-describedby"):
            self.described[str(a.get("id") or tag)] = str(a["aria-describedby"]).split()
        if "error-summary" in (a.get("class") or "").split():
            self.summaries.append(a)
            self._in_summary += 1
        elif self._in_summary and tag == "a" and (a.get("href") or "").startswith("#"):
            self.summary_links.append(str(a["href"])[1:])

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._in_summary:
            self._in_summary -= 1


def _assert_wired(page: _Page) -> None:
    for element, ids in page.described.items():
        missing = [i for i in ids if i not in page.ids]
        assert not missing, f"{element} is described by missing ids {missing}"
    for target in page.summary_links:
        assert target in page.ids, f"the error summary links to #{target}, which is not on the page"


async def test_a_failed_submit_ties_errors_to_inputs_and_focuses_the_summary(client: Client, factory: Factory) -> None:
    await sign_in(client, await factory.user("creditor"))
    form = await client.get(NEW)
    blank = _Page(form.text)
    _assert_wired(blank)
    assert blank.summaries == []  # nothing to fix yet, nothing grabs the focus

    key = form_value(form.text, NEW, "_key")
    sent = await post(client, NEW, {**CLUE, "case_number": "", "contact_phone": "12", "_key": key})
    assert sent.status_code in (400, 422), sent.status_code
    page = _Page(sent.text)
    _assert_wired(page)
    # Each field in error is described by its own error message (and by its hint, when it has one).
    assert "e-case_number" in page.described.get("f-case_number", [])
    assert "e-contact_phone" in page.described.get("f-contact_phone", [])
    # The summary takes the focus once the page loads (or htmx swaps it in), without a script.
    assert len(page.summaries) == 1
    summary = page.summaries[0]
    assert summary.get("tabindex") == "-1" and "autofocus" in summary
    assert {"f-case_number", "f-contact_phone"} <= set(page.summary_links)


async def test_the_correction_answers_summary_links_to_its_own_inputs(client: Client, factory: Factory) -> None:
    creditor = await factory.user("creditor")
    court = await factory.user("staff", "court")
    await sign_in(client, creditor)
    form = await client.get(NEW)
    sent = await post(client, NEW, {**CLUE, "_key": form_value(form.text, NEW, "_key")})
    ref = ref_from(sent.headers["location"])

    await sign_in(client, court)
    page = await client.get(f"/staff/items/{ref}")
    version = form_value(page.text, f"/staff/items/{ref}/claim", "version")
    assert (await post(client, f"/staff/items/{ref}/claim", {"version": version})).status_code == 303
    page = await client.get(f"/staff/items/{ref}")
    version = form_value(page.text, f"/staff/items/{ref}/correction", "version")
    asked = await post(client, f"/staff/items/{ref}/correction",
                       {"version": version, "body": "请留一个能接通的电话。", "fields": ["contact_phone"]})
    assert asked.status_code == 303

    await sign_in(client, creditor)
    page = await client.get(f"/my/submissions/{ref}")
    version = form_value(page.text, f"/my/submissions/{ref}/answer", "_version")
    answered = await post(client, f"/my/submissions/{ref}/answer",
                          {"_version": version, "contact_phone": "12", "_body": ""})
    assert answered.status_code in (400, 422), answered.status_code
    result = _Page(answered.text)
    _assert_wired(result)
    assert result.summary_links == ["f-a-contact_phone"]
    assert "e-a-contact_phone" in result.described["f-a-contact_phone"]
