"""Two machines, one S3 output: runs with separate work dirs (so no shared file lock)
against one Prefect server serialise on Prefect's global concurrency limit named after
the output (tasks/output_slot.py). One publishes; the other waits, then fails with the
conflict error; nothing is replaced silently."""

import time

import pytest

from recsys_core.io.storage import open_store
from recsys_core.publishing.snapshot import published_dates, read_manifest, verify_snapshot
from tests.flows.processes import has_logged, nightly_process

SMALL = {"model": "als", "iterations": 2, "top_k": 5, "run_date": "2026-11-20"}
SLOT_HELD = "Prefect concurrency limit"  # what a run waiting for the slot logs


def _machine(home, params: dict, api_url: str):
    """A run as another machine would start it: its own Prefect home, work dir and local
    cache (so its file lock is its own), the shared server and bucket."""
    params = {**params, "work_dir": str(home / "work")}
    return nightly_process(home, params, api_url, XDG_CACHE_HOME=str(home / "cache"))


@pytest.mark.slow
def test_two_machines_never_both_publish_one_date_of_one_s3_output(
    prefect_api_url, s3_bucket, synthetic_adjacency, tmp_path, monkeypatch
):
    from tasks.output_slot import output_slot

    monkeypatch.setenv("PREFECT_API_URL", prefect_api_url)
    bucket = open_store(f"s3://{s3_bucket}")
    bucket.put_file(synthetic_adjacency, "logs", "train.txt")
    out = f"s3://{s3_bucket}/recs"
    base = {**SMALL, "input_path": f"s3://{s3_bucket}/logs/train.txt", "output_dir": out}
    # A third party holds the output's slot until both runs wait for it, so neither can
    # publish before the other has started (the race the slot exists for).
    with output_slot(out, timeout_s=60) as name:
        assert name is not None and name.startswith("recsys-output-s3-")
        runs = {
            f: _machine(tmp_path / f"machine-{f}", {**base, "factors": f}, prefect_api_url)
            for f in (8, 12)
        }
        deadline = time.monotonic() + 240
        while not all(has_logged(tmp_path / f"machine-{f}", SLOT_HELD) for f in runs):
            assert time.monotonic() < deadline, "the runs never waited for the slot"
            assert all(p.poll() is None for p in runs.values()), "a run ended early"
            time.sleep(0.5)
    results = {f: (p.wait(timeout=400), p.stdout.read(), p.stderr.read()) for f, p in runs.items()}
    assert sorted(code for code, _, _ in results.values()) == [0, 1], results
    winner = next(f for f, (code, _, _) in results.items() if code == 0)
    loser_err = next(err for code, _, err in results.values() if code == 1)
    assert "was published by another run" in loser_err.strip().splitlines()[-1]
    assert published_dates(out) == ["dt=2026-11-20"]
    manifest = verify_snapshot(f"{out}/dt=2026-11-20")
    assert manifest["params"]["factors"] == winner  # the first run's snapshot, untouched
    assert read_manifest(f"{out}/dt=2026-11-20")["fingerprint"] == manifest["fingerprint"]
