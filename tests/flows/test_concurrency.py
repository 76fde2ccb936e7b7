"""Concurrent runs on one output, as real processes (the CLI, each with its own Prefect
home): they never interleave, and a run never replaces a date another run published
after it started."""

import json
import os
import subprocess
import sys
import time

import pytest
from filelock import FileLock

from recsys_core.io.lock import LOCK_FILE
from recsys_core.publishing.snapshot import published_dates, read_manifest, verify_snapshot
from tests.conftest import ROOT

SMALL = {"iterations": 2, "top_k": 5, "run_date": "2026-11-20"}


def _waiting(prefect_home) -> bool:
    logs = list((prefect_home / "logs").glob("nightly-*.log"))
    return any("is held by another run" in log.read_text() for log in logs)


def _start(tmp_path, name, params, api_url):
    """A CLI run with its own Prefect home (its logs) on the harness's API."""
    home = tmp_path / f"prefect-{name}"
    home.mkdir()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": api_url}
    return subprocess.Popen(
        [sys.executable, "-m", "flows.nightly", "--params", json.dumps(params)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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
            f: _start(tmp_path, str(f), {**base, "factors": f}, prefect_api_url) for f in (8, 12)
        }
        deadline = time.monotonic() + 240
        while not all(_waiting(tmp_path / f"prefect-{f}") for f in runs):
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
