"""Backfill under the harness: three dates, three snapshots; a rerun writes nothing new."""

import pytest

from recsys_core.publishing.snapshot import published_dates

SMALL = {"factors": 8, "iterations": 3, "top_k": 5}


def test_backfill_three_dates_then_rerun_writes_nothing(
    prefect_harness, synthetic_adjacency, tmp_path
):
    import datetime as dt

    from flows.backfill import backfill

    out = tmp_path / "out"
    params = {**SMALL, "input_path": str(synthetic_adjacency), "output_dir": str(out)}
    rows = backfill(start=dt.date(2026, 11, 18), end=dt.date(2026, 11, 20), params=params)
    assert [r["status"] for r in rows] == ["published"] * 3
    assert published_dates(out) == ["dt=2026-11-18", "dt=2026-11-19", "dt=2026-11-20"]
    assert (out / "_LATEST").read_text().strip() == "dt=2026-11-20"
    before = {p: p.stat().st_mtime_ns for p in out.glob("dt=*/*")}

    again = backfill(start=dt.date(2026, 11, 18), end=dt.date(2026, 11, 20), params=params)
    assert [r["status"] for r in again] == ["already published"] * 3
    assert {p: p.stat().st_mtime_ns for p in out.glob("dt=*/*")} == before

    # Other parameters, no overwrite: the same policy as nightly keeps what is published.
    changed = {**params, "top_k": 4}
    kept = backfill(start=dt.date(2026, 11, 19), end=dt.date(2026, 11, 19), params=changed)
    assert kept[0]["status"].startswith("skipped: already published from other input")
    assert {p: p.stat().st_mtime_ns for p in out.glob("dt=*/*")} == before

    forced = backfill(
        start=dt.date(2026, 11, 20), end=dt.date(2026, 11, 20), overwrite=True, params=params
    )
    assert forced == [{"run_date": "2026-11-20", "status": "already published"}]  # same fingerprint


def test_backfill_rejects_reversed_range():
    import datetime as dt

    from flows.backfill import dates_between

    with pytest.raises(ValueError, match="before --start"):
        dates_between(dt.date(2026, 11, 20), dt.date(2026, 11, 19))
    assert len(dates_between(dt.date(2026, 11, 30), dt.date(2026, 12, 2))) == 3
