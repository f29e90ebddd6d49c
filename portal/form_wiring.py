"""Connects the domains' form kinds and notices to the back-office queue (the composition root's job).

A domain owns the forms it receives: their schemas (msgspec Structs written with
``kernel.forms``) and their kinds (a file in the queue's ``kinds.toml`` format). The queue
validates, files and shows them without naming them; this file only registers them, once,
when the portal is imported (so the API, the web forms, ``scripts/bot_forms.py`` and the
tests all see the same kinds), and says which of a person's own objects a form field offers.
The domains' notices (what the followers of a case or a lot are told) are registered with the
queue's outbox here too, so the outbox sender, its own process, can word them.
"""

from __future__ import annotations

from auction_listings import events as lot_events
from auction_listings import review as lot_review
from backoffice import forms, kinds, notify, prefill
from cases import events as case_events
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
                                     (case_forms.KINDS_FILE, case_forms.FORMS),
                                     (lot_review.KINDS_FILE, {})):  # the pre-review items: no form
        kinds.register_kinds(kinds_file)
        for kind, struct in domain_forms.items():
            forms.register_form(kind, struct)
    prefill.register_choices(transfer_forms.TRACKING_FIELD, buyer_transfers)  # a buyer's forms offer their transfers
    for notices in (case_events.NOTICES, lot_events.NOTICES):
        notify.register_texts(notices)


wire_forms()

__all__ = ["wire_forms"]
