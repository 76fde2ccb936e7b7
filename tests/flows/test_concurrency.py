"""Concurrent runs on one output, as real processes (the CLI, each with its own Prefect
home): they never interleave, and a run never replaces a date another run published
after it started."""

import time

import pytest
from filelock import FileLock

from recsys_core.io.lock import LOCK_FILE
from recsys_core.publishing.snapshot import published_dates, read_manifest, verify_snapshot
from tests.flows.processes import has_logged, nightly_process

SMALL = {"iterations": 2, "top_k": 5, "run_date": "2026-11-20"}
HELD = "is held by another run"  # what a run waiting for the output lock logs


@pytest.mark.slow
def test_two_runs_for_one_date_with_different_parameters(
    prefect_api_url, synthetic_adjacency, tmp_path
):
    out = tmp_path / "out"
    out.mkdir()
    base = {**SMALL, "input_path": str(synthetic_adjacency), "output_dir": str(out)}
    # Both runs must have started before either publishes: hold their output lock until
    # each one's log says it is waiting for it.
    with FileLock(out / LOCK_FILE):
        runs = {
            f: nightly_process(tmp_path / f"prefect-{f}", {**base, "factors": f}, prefect_api_url)
            for f in (8, 12)
        }
        deadline = time.monotonic() + 240
        while not all(has_logged(tmp_path / f"prefect-{f}", HELD) for f in runs):
            assert time.monotonic() < deadline, "the runs never reached the output lock"
            assert all(p.poll() is None for p in runs.values()), "a run ended early"
            time.sleep(0.5)
    results = {f: (p.wait(timeout=400), p.stdout.read(), p.stderr.read()) for f, p in runs.items()}
    codes = sorted(code for code, _, _ in results.values())
    assert codes == [0, 1], results
    winner = next(f for f, (code, _, _) in results.items() if code == 0)
    loser_err = next(err for code, _, err in results.values() if code == 1)
    assert "was published by another run" in loser_err.strip().splitlines()[-1]
    assert published_dates(out) == ["dt=2026-11-20"]
    manifest = verify_snapshot(out / "dt=2026-11-20")
    assert manifest["params"]["factors"] == winner  # the first run's snapshot, untouched
    assert read_manifest(out / "dt=2026-11-20")["fingerprint"] == manifest["fingerprint"]
