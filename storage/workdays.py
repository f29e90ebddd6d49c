"""Working-day arithmetic for service levels: weekends, public holidays and make-up days.

The calendar is data (storage/data/holidays.toml), loaded and validated once.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import lru_cache
from pathlib import Path

import msgspec

HOLIDAYS_FILE = Path(__file__).parent / "data" / "holidays.toml"


class _CalendarFile(msgspec.Struct, forbid_unknown_fields=True):
    covered_years: list[int]
    holidays: list[dt.date]
    working_weekends: list[dt.date]


class WorkCalendar:
    def __init__(self, holidays: set[dt.date], working_weekends: set[dt.date], covered_years: set[int]):
        overlap = holidays & working_weekends
        if overlap:
            raise ValueError(f"dates both holiday and working day: {sorted(overlap)}")
        self.holidays = holidays
        self.working_weekends = working_weekends
        self.covered_years = covered_years

    @classmethod
    def from_file(cls, path: Path = HOLIDAYS_FILE) -> WorkCalendar:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        data = msgspec.convert(raw, _CalendarFile)
        return cls(set(data.holidays), set(data.working_weekends), set(data.covered_years))

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.holidays:
            return False
        if day in self.working_weekends:
            return True
        return day.weekday() < 5

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day on or after ``day``."""
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start``; 0 means the same (or next) working day."""
        if days < 0:
            raise ValueError("days must be >= 0")
        day = self.next_working_day(start)
        remaining = days
        while remaining:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    return WorkCalendar.from_file()
