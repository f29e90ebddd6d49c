import datetime as dt

import pytest

from storage.workdays import WorkCalendar, default_calendar

D = dt.date


def test_weekends_are_not_working_days() -> None:
    cal = default_calendar()
    assert cal.is_working_day(D(2026, 11, 27))  # Friday
    assert not cal.is_working_day(D(2026, 11, 28))  # Saturday
    assert not cal.is_working_day(D(2026, 11, 29))  # Sunday


def test_national_day_week_is_skipped_and_makeup_saturday_counts() -> None:
    cal = default_calendar()
    assert not cal.is_working_day(D(2026, 10, 5))  # holiday Monday
    assert cal.is_working_day(D(2026, 10, 10))  # make-up Saturday
    # Friday 30 Sep + 1 working day jumps the whole holiday to Thursday 8 Oct.
    assert cal.add_working_days(D(2026, 9, 30), 1) == D(2026, 10, 8)


def test_add_working_days_counts_from_the_next_working_day() -> None:
    cal = default_calendar()
    assert cal.add_working_days(D(2026, 11, 27), 0) == D(2026, 11, 27)
    assert cal.add_working_days(D(2026, 11, 28), 0) == D(2026, 11, 30)  # Saturday → Monday
    assert cal.add_working_days(D(2026, 11, 27), 1) == D(2026, 11, 30)
    assert cal.add_working_days(D(2026, 11, 25), 15) == D(2026, 12, 16)


def test_working_days_between() -> None:
    cal = default_calendar()
    assert cal.working_days_between(D(2026, 11, 27), D(2026, 11, 30)) == 1
    assert cal.working_days_between(D(2026, 11, 30), D(2026, 11, 27)) == 0


def test_a_date_cannot_be_both_holiday_and_working_day() -> None:
    with pytest.raises(ValueError, match="both holiday and working day"):
        WorkCalendar({D(2026, 1, 1)}, {D(2026, 1, 1)}, {2026})


def test_negative_days_refused() -> None:
    with pytest.raises(ValueError):
        default_calendar().add_working_days(D(2026, 1, 5), -1)
