"""Thirty nights in a row through backfill, retention on: what is kept verifies, nothing
piles up (snapshots, work folders, file descriptors, memory) and a night costs the same
on the thirtieth as on the fifth (slow)."""

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pytest

from recsys_core.publishing.history import history_rows
from recsys_core.publishing.snapshot import published_dates, read_manifest, verify_snapshot

NIGHTS, KEEP = 30, 7
FIRST = dt.date(2026, 10, 1)
SMALL = {"model": "als", "factors": 8, "iterations": 3, "top_k": 5, "max_metric_drop": 1.0}
# One night here takes seconds. A CI run on 2026-12-03 hung in this test: a night waited on
# the output's Prefect slot, which a previous night had left held (active_slots 1). Its 60 s
# lease never lapsed: the harness's API is an ephemeral server, which runs no repossessor
# (the service that frees expired leases on a real server). So the soak runs without the
# slot, like the kill tests (tests/flows/test_cross_machine_lock.py is about the slot), and
# a wait on the file lock still fails loudly within minutes rather than after 6 h.
LOCK_TIMEOUT_S = 300


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _step_folders(work: Path) -> set[str]:
    """``<work>/<step>/<key>`` folders (hidden entries and locks aside)."""
    return {
        str(key)
        for step in work.iterdir()
        if step.is_dir() and not step.name.startswith(".")
        for key in step.iterdir()
        if not key.name.startswith(".")
    }


def _a_day_passes(work: Path) -> None:
    """Age every step folder by a day: pruning spares folders younger than that (a
    concurrent run's), and real nights are a day apart."""
    then = (dt.datetime.now() - dt.timedelta(hours=25)).timestamp()
    for folder in work.glob("*/*") if work.is_dir() else []:
        os.utime(folder, (then, then))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_thirty_nights_in_a_row_stay_clean(
    prefect_harness, synthetic_adjacency, tmp_path, monkeypatch
):
    from flows.backfill import backfill

    monkeypatch.setenv("RECSYS_OUTPUT_SLOT", "off")

    out = tmp_path / "out"
    dates = [FIRST + dt.timedelta(days=n) for n in range(NIGHTS)]
    # Each night its own log (one more user a night): every step runs again, so retention
    # has step folders to prune.
    logs = tmp_path / "logs"
    logs.mkdir()
    base = synthetic_adjacency.read_text()
    for n, day in enumerate(dates):
        (logs / f"{day.isoformat()}.txt").write_text(f"{base}{90_000 + n} 1000 1001\n")
    params = {
        **SMALL,
        "input_path": str(logs / "{run_date}.txt"),
        "output_dir": str(out),
        "keep_last": KEEP,
        "lock_timeout_s": LOCK_TIMEOUT_S,
    }
    seconds, files, rss = [], [], []
    for day in dates:
        _a_day_passes(out / "_work")
        started = dt.datetime.now()
        rows = backfill(start=day, end=day, params=params)
        seconds.append((dt.datetime.now() - started).total_seconds())
        assert rows == [{"run_date": day.isoformat(), "status": "published"}]
        files.append(_open_files())
        rss.append(_rss_mb())
    print(f"seconds {np.round(seconds, 2).tolist()}\nfds {files}\nrss MB {np.round(rss).tolist()}")

    kept = [f"dt={d.isoformat()}" for d in dates[-KEEP:]]
    assert published_dates(out) == kept
    for name in kept:
        verify_snapshot(out / name)
    assert (out / "_LATEST").read_text() == f"{kept[-1]}\n"
    needed = {d for name in kept for d in read_manifest(out / name)["work_dirs"]}
    assert _step_folders(out / "_work") == needed
    history = history_rows(out, last=100)
    assert [row["date"] for row in history] == [d.isoformat() for d in dates]

    # Nothing grows night after night: the last ten nights against nights 5-14 (the first
    # nights warm caches up). Generous bounds: a leak or a per-night cost that grows with
    # the nights published (30 nights) would break them, noise would not.
    early, late = slice(4, 14), slice(NIGHTS - 10, NIGHTS)
    assert max(files[late]) <= max(files[early]) + 2, files
    assert np.mean(rss[late]) <= np.mean(rss[early]) * 1.15 + 25, rss
    assert np.median(seconds[late]) <= 2 * np.median(seconds[early]), seconds
