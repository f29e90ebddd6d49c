"""The one type for a row id taken from a URL (path or query): an integer the database can hold.

Ids are BIGINT, so anything outside 1 … 2^63-1 cannot name a row. Declaring a parameter as
``RowId`` makes Litestar refuse such values with a 400 that names the parameter, before any
query runs (SQLite raised OverflowError and PostgreSQL a DataError for them), and publishes
the bounds in the OpenAPI schema.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar.params import Parameter

MAX_ROW_ID = 2**63 - 1

RowId: TypeAlias = Annotated[int, Parameter(ge=1, le=MAX_ROW_ID, description="a row id: 1 … 2^63-1")]

__all__ = ["MAX_ROW_ID", "RowId"]
