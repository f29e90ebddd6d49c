"""Bulk backfill from the court's case system: one case per JSON line, each in its own transaction.

A bad line is reported with its line number and every problem (the same checks as the ingest
API) and nothing of it is written; the other lines are imported. Re-running the same file
changes nothing (source ids). Node statistics are refreshed at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cases.errors import CaseError, IngestInvalid
from cases.ingest import ingest_case
from cases.schemas import CaseIn
from cases.stats import refresh_node_stats

MAX_LINE = 5 * 1024 * 1024


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line number, what is wrong)
    new_codes: list[tuple[str, str]] = field(default_factory=list)  # (case number, query code made here)

    @property
    def ok(self) -> bool:
        return not self.problems


def _explain(exc: CaseError) -> str:
    errors = exc.details.get("errors") if isinstance(exc, IngestInvalid) else None
    if errors:
        return "; ".join(f"{e['path']}: {e['message_en']}" for e in errors)
    return exc.message_en


async def import_jsonl(engine: AsyncEngine, path: Path, secret: str, *, actor_label: str = "cli:import-cases",
                       refresh_stats: bool = True) -> ImportReport:
    report = ImportReport()
    decoder = msgspec.json.Decoder(CaseIn)
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE:
                report.problems.append((number, f"line longer than {MAX_LINE} bytes"))
                continue
            try:
                data = decoder.decode(raw)
            except msgspec.DecodeError as exc:  # ValidationError included: says which field
                report.problems.append((number, str(exc)))
                continue
            async with AsyncSession(engine, expire_on_commit=False) as session:
                try:
                    result = await ingest_case(session, data, secret=secret, actor_label=actor_label)
                    await session.commit()
                except CaseError as exc:
                    await session.rollback()
                    report.problems.append((number, _explain(exc)))
                    continue
            if result.created:
                report.created += 1
            elif result.added or result.updated:
                report.updated += 1
            else:
                report.unchanged += 1
            if result.query_code:
                report.new_codes.append((result.case_number, result.query_code))
    if refresh_stats:
        async with AsyncSession(engine) as session:
            await refresh_node_stats(session)
            await session.commit()
    return report


async def refresh_stats(engine: AsyncEngine) -> int:
    async with AsyncSession(engine) as session:
        n = await refresh_node_stats(session)
        await session.commit()
    return n


__all__ = ["ImportReport", "import_jsonl", "refresh_stats"]
