"""Jieba tokenizer that also copes with English and with very long messages.

Jieba segments Chinese well and splits English on spaces, but it returns the spaces
and punctuation as tokens of their own. Whitespace tokens carry no meaning and only
lengthen DIET's sequences, so they are dropped here. Messages are capped at
``max_tokens`` tokens: the intent of a 5,000-character message is in its first few
hundred tokens, and the cap keeps parse latency flat.
"""
from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from components.rasa_patches import apply_all

# Loaded with the model in every Rasa process: see rasa_patches for why.
apply_all()


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True
)
class BilingualJiebaTokenizer(JiebaTokenizer):
    """JiebaTokenizer without whitespace tokens, lower-cased, length-capped."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        config = JiebaTokenizer.get_default_config()
        config["max_tokens"] = 256
        return config

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = super().tokenize(message, attribute)
        kept = [
            Token(t.text.lower(), t.start, t.end, data=t.data, lemma=t.lemma)
            for t in tokens
            if t.text.strip()
        ]
        return kept[: int(self._config.get("max_tokens", 256))]
