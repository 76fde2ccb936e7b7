"""The as-of window of a run: which events a snapshot dated ``run_date`` may see."""

from __future__ import annotations

import datetime as dt
import zoneinfo


def as_of_window(
    run_date: dt.date, timezone: str, lookback_days: int | None = None
) -> tuple[str | None, str]:
    """``(start, end)`` as UTC ISO times: events before the end of ``run_date`` in
    ``timezone``, and with ``lookback_days`` only those of that many local days.

    Examples
    --------
    >>> as_of_window(dt.date(2026, 11, 15), "America/New_York", 2)
    ('2026-11-14T05:00:00+00:00', '2026-11-16T05:00:00+00:00')
    """
    zone = zoneinfo.ZoneInfo(timezone)
    next_day = run_date + dt.timedelta(days=1)
    end = dt.datetime.combine(next_day, dt.time(0), zone)
    start = None
    if lookback_days is not None:
        start = dt.datetime.combine(next_day - dt.timedelta(days=lookback_days), dt.time(0), zone)
    as_utc = lambda t: t.astimezone(dt.UTC).isoformat()  # noqa: E731
    return (None if start is None else as_utc(start)), as_utc(end)
