"""Connects the domains' form kinds to the back-office queue (the composition root's job).

A domain owns the forms it receives: their schemas (msgspec Structs written with
``kernel.forms``) and their kinds (a file in the queue's ``kinds.toml`` format). The queue
validates, files and shows them without naming them; this file only registers them, once,
when the portal is imported (so the API, the web forms, ``scripts/bot_forms.py`` and the
tests all see the same kinds), and says which of a person's own objects a form field offers.
"""

from __future__ import annotations

from backoffice import forms, kinds, prefill
from title_transfer import forms as transfer_forms
from title_transfer.owned import buyer_transfers


def wire_forms() -> None:
    """Register every domain's form kinds with the queue (idempotent)."""
    kinds.register_kinds(transfer_forms.KINDS_FILE)
    for kind, struct in transfer_forms.FORMS.items():
        forms.register_form(kind, struct)
    prefill.register_choices(transfer_forms.TRACKING_FIELD, buyer_transfers)  # a buyer's forms offer their transfers


wire_forms()

__all__ = ["wire_forms"]
