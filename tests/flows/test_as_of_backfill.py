"""Honest backfills: each date reads only what that night could have seen."""

import datetime as dt
import json

import pytest

from recsys_core.publishing.snapshot import read_manifest

SMALL = {"factors": 8, "iterations": 3, "top_k": 5, "max_metric_drop": 1.0}
DAYS = [dt.date(2026, 11, 10) + dt.timedelta(days=n) for n in range(10)]
HEADER = "UserID,ProductCode,Event,Timestamp\n"


def _events(until: dt.date | None = None) -> str:
    lines = [
        f"u{u},p{(u * 5 + n * 7 + j) % 37},view,{day.isoformat()}T12:00:00Z\n"
        for n, day in enumerate(DAYS)
        if until is None or day <= until
        for u in range(40)
        for j in range(2)
    ]
    return HEADER + "".join(lines)


@pytest.mark.slow
def test_a_backfilled_date_equals_a_run_on_that_dates_data_alone(prefect_harness, tmp_path, capsys):
    from flows.backfill import main as backfill
    from flows.nightly import main as nightly

    full = tmp_path / "logs" / "events.csv"
    full.parent.mkdir()
    full.write_text(_events())
    out = tmp_path / "out"
    params = {**SMALL, "input_path": str(full), "output_dir": str(out)}
    assert (
        backfill(["--start", "2026-11-15", "--end", "2026-11-17", "--params", json.dumps(params)])
        == 0
    )
    snapshots = {d: read_manifest(out / f"dt={d}") for d in ("2026-11-15", "2026-11-17")}
    assert snapshots["2026-11-15"]["rows"]["interactions"] == 40 * 2 * 6
    assert snapshots["2026-11-17"]["rows"]["interactions"] == 40 * 2 * 8  # the data grew
    assert snapshots["2026-11-15"]["window"]["end"] == "2026-11-16T00:00:00+00:00"
    assert snapshots["2026-11-15"]["window"]["left_out"] == 40 * 2 * 4

    # The same date run on a file holding only the events up to it.
    alone = tmp_path / "alone" / "events.csv"
    alone.parent.mkdir()
    alone.write_text(_events(until=dt.date(2026, 11, 15)))
    other = tmp_path / "other"
    single = {
        **params,
        "input_path": str(alone),
        "output_dir": str(other),
        "run_date": "2026-11-15",
    }
    assert nightly(["--params", json.dumps(single)]) == 0
    name = "dt=2026-11-15/recommendations.parquet"
    assert (out / name).read_bytes() == (other / name).read_bytes()
    assert (out / name).read_bytes() != (out / "dt=2026-11-17/recommendations.parquet").read_bytes()


@pytest.mark.slow
def test_a_run_date_template_reads_that_dates_file(prefect_harness, tmp_path):
    from flows.nightly import main as nightly

    logs = tmp_path / "logs"
    for day in (dt.date(2026, 11, 15), dt.date(2026, 11, 16)):
        folder = logs / f"dt={day.isoformat()}"
        folder.mkdir(parents=True)
        (folder / "events.csv").write_text(_events(until=day))
    params = {
        **SMALL,
        "input_path": str(logs / "dt={run_date}" / "events.csv"),
        "output_dir": str(tmp_path / "out"),
        "run_date": "2026-11-16",
    }
    assert nightly(["--params", json.dumps(params)]) == 0
    manifest = read_manifest(tmp_path / "out" / "dt=2026-11-16")
    assert manifest["input_files"] == [str(logs / "dt=2026-11-16" / "events.csv")]
    assert manifest["rows"]["interactions"] == 40 * 2 * 7


@pytest.mark.slow
def test_a_log_without_timestamps_is_reused_across_dates(
    prefect_harness, synthetic_adjacency, tmp_path
):
    from flows.nightly import nightly

    params = {**SMALL, "input_path": str(synthetic_adjacency), "output_dir": str(tmp_path / "o")}
    nightly(**params, run_date=dt.date(2026, 11, 15))
    second = nightly(**params, run_date=dt.date(2026, 11, 16))
    states = {row["step"]: row["state"] for row in second["timings"]}
    assert {states[s] for s in ("ingest", "split", "train-eval[als]", "score")} == {"Cached"}
    window = read_manifest(tmp_path / "o" / "dt=2026-11-16")["window"]
    assert window["applied"] is False and window["reason"] == "no timestamps"
