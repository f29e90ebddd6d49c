"""Tables behind the key/value stores (server-side sessions, throttle counters)."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar.store import StoreModelMixin


class KeyValueItem(StoreModelMixin):
    __tablename__ = "kv_store"
