"""Connects the domains' form kinds to the back-office queue (the composition root's job).

A domain owns the forms it receives: their schemas (msgspec Structs written with
``kernel.forms``) and their kinds (a file in the queue's ``kinds.toml`` format). The queue
validates, files and shows them without naming them; this file only registers them, once,
when the portal is imported (so the API, the web forms, ``scripts/bot_forms.py`` and the
tests all see the same kinds), and says which of a person's own objects a form field offers.
"""

from __future__ import annotations

from backoffice import forms, kinds, prefill
from cases import forms as case_forms
from title_transfer import forms as transfer_forms
from title_transfer.owned import buyer_transfers


def wire_forms() -> None:
    """Register every domain's form kinds with the queue (idempotent).

    The order is the order of the kinds everywhere (``GET /api/v1/forms``, the "new request"
    cards, the help that lists the numbers a person may give: 受理编号、查询号或案号): the title
    transfer's, then the cases', then the queue's own. Keep it stable: the assistant's fallback
    copy (``scripts/bot_forms.py``) is compared with what the portal serves.
    """
    for kinds_file, domain_forms in ((transfer_forms.KINDS_FILE, transfer_forms.FORMS),
                                     (case_forms.KINDS_FILE, case_forms.FORMS)):
        kinds.register_kinds(kinds_file)
        for kind, struct in domain_forms.items():
            forms.register_form(kind, struct)
    prefill.register_choices(transfer_forms.TRACKING_FIELD, buyer_transfers)  # a buyer's forms offer their transfers


wire_forms()

__all__ = ["wire_forms"]
