"""Every model in one place, so one metadata object knows the whole schema (Alembic, tests).

A domain package that gains models adds its module here.
"""

from __future__ import annotations

import accounts.models  # noqa: F401
import auction_listings.follows  # noqa: F401
import auction_listings.models  # noqa: F401
import backoffice.models  # noqa: F401
import cases.models  # noqa: F401
import cases.payouts  # noqa: F401
import documents.models  # noqa: F401
import storage.audit  # noqa: F401
import storage.chat_log  # noqa: F401
import storage.kv  # noqa: F401
import storage.throttle  # noqa: F401
import title_transfer.models  # noqa: F401
from storage.db import metadata

__all__ = ["metadata"]
