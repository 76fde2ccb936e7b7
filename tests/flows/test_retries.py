"""Injected I/O faults (a test fixture, never a production flag): transient ones are
retried and the run completes; a permanent one fails the run and leaves the published
snapshot as it was."""

import errno
import json
import os
from pathlib import Path

import pytest

import recsys_core.io.adjacency as adjacency
import recsys_core.pipeline.execute as execute
import recsys_core.pipeline.steps as steps
import recsys_core.publishing.commit as publishing
from recsys_core.publishing.snapshot import published_dates, read_manifest, verify_snapshot

SMALL = {"factors": 8, "iterations": 3, "top_k": 5, "max_metric_drop": 1.0}


@pytest.fixture(autouse=True)
def no_retry_delay(monkeypatch):
    """The steps' retries as shipped, without their waits (2 s, then 10 s): what is tested
    is that a step retries, not how long it waits."""
    from tasks.steps import TASKS

    for name, step_task in list(TASKS.items()):
        if step_task.retries:
            monkeypatch.setitem(TASKS, name, step_task.with_options(retry_delay_seconds=0))


def inject_io_errors(monkeypatch, owner, name: str, times: int) -> list[int]:
    """Make ``owner.name`` raise OSError on its first ``times`` calls; returns the call count."""
    original, calls = getattr(owner, name), [0]

    def flaky(*args, **kwargs):
        calls[0] += 1
        if calls[0] <= times:
            raise OSError(errno.EIO, f"injected I/O error in {name}")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, flaky)
    return calls


@pytest.fixture
def published(prefect_harness, synthetic_adjacency, tmp_path):
    from flows.nightly import main

    params = {**SMALL, "input_path": str(synthetic_adjacency), "output_dir": str(tmp_path / "out")}
    assert main(["--params", json.dumps({**params, "run_date": "2026-11-19"})]) == 0
    return {**params, "run_date": "2026-11-20", "factors": 12}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("owner", "name"),
    [
        (publishing, "link_or_copy"),
        (adjacency, "read_input_bytes"),
        (steps, "save_model"),
        (steps, "write_recommendations"),
    ],
    ids=["first write of publish", "reading the input", "writing a model", "writing scores"],
)
def test_a_transient_io_error_is_retried_and_the_run_completes(
    published, monkeypatch, tmp_path, owner, name
):
    from flows.nightly import main

    fresh = tmp_path / "fresh.txt"  # a path of its own: the ingest step is not reused
    fresh.write_bytes(open(published["input_path"], "rb").read())
    calls = inject_io_errors(monkeypatch, owner, name, times=1)
    assert main(["--params", json.dumps({**published, "input_path": str(fresh)})]) == 0
    assert calls[0] >= 2  # failed once, then the retry went through
    out = tmp_path / "out"
    assert published_dates(out) == ["dt=2026-11-19", "dt=2026-11-20"]
    verify_snapshot(out / "dt=2026-11-20")


# pyarrow's words for a write to a full disk (measured: pq.write_table on a full tmpfs).
PYARROW_ENOSPC = "Error writing bytes to file. Detail: [errno 28] No space left on device"

# Every folder step of a default (ensemble) night, in the order they complete.
NIGHT_STEPS = (
    "ingest",
    "split",
    "weight",
    "blend-budget",
    "train-eval",
    "blend-choose",
    "blend",
    "evaluate",
    "train-full",
    "score",
    "fallback",
    "similar-check",
    "similar-items",
)


def fail_each_step_once(monkeypatch, error: OSError | None = None) -> dict[str, int]:
    """Each folder step's first completion (the write of its summary, after its files)
    raises ``error`` (an injected EIO by default); returns the faults per step."""
    original, faults = execute.write_summary, {}

    def flaky(folder, summary):
        step = Path(folder).parent.name
        if step not in faults:
            faults[step] = 1
            raise error or OSError(errno.EIO, f"injected I/O error in {step}")
        return original(folder, summary)

    monkeypatch.setattr(execute, "write_summary", flaky)
    return faults


def _leftovers(folder: Path) -> list[str]:
    """Staged or half-written entries (hidden names) under ``folder``, locks aside."""
    return [str(p) for p in folder.rglob(".*") if p.name != ".lock"]


@pytest.mark.slow
def test_every_step_retries_a_transient_fault_and_the_run_completes(
    published, monkeypatch, tmp_path
):
    from flows.nightly import main

    fresh = tmp_path / "fresh.txt"  # a path of its own: every step runs afresh
    fresh.write_bytes(open(published["input_path"], "rb").read())
    faults = fail_each_step_once(monkeypatch)
    publish_calls = inject_io_errors(monkeypatch, publishing, "link_or_copy", times=1)
    params = {**published, "input_path": str(fresh), "model": "ensemble"}
    assert main(["--params", json.dumps(params)]) == 0
    assert set(faults) == set(NIGHT_STEPS) and publish_calls[0] >= 2
    out = tmp_path / "out"
    assert published_dates(out) == ["dt=2026-11-19", "dt=2026-11-20"]
    verify_snapshot(out / "dt=2026-11-20")
    assert _leftovers(out) == []


@pytest.mark.slow
def test_a_permanent_fault_in_any_step_keeps_everything_usable(
    published, monkeypatch, tmp_path, capsys
):
    """Night after night, a different step fails for good (after its retries): every failed
    run ends with one line naming where it was writing, leaves the published snapshot,
    _LATEST and the work folder usable, and nothing staged behind. Each night reuses the
    steps the last one completed, so the fault moves one step further down the flow; the
    night after the last fault publishes."""
    from flows.nightly import main

    out = tmp_path / "out"
    before = read_manifest(out / "dt=2026-11-19")
    fresh = tmp_path / "fresh.txt"  # a path of its own: every step runs afresh
    fresh.write_bytes(open(published["input_path"], "rb").read())
    params = {**published, "input_path": str(fresh), "model": "ensemble"}
    original, tries = execute.write_summary, {}

    def broken(step: str):
        def write_summary(folder, summary):
            if Path(folder).parent.name == step:
                tries[step] = tries.get(step, 0) + 1
                raise OSError(errno.EIO, "injected I/O error")
            return original(folder, summary)

        return write_summary

    for step in [*NIGHT_STEPS, "publish"]:
        with monkeypatch.context() as patched:
            if step == "publish":
                calls = inject_io_errors(patched, publishing, "link_or_copy", times=10**6)
            else:
                patched.setattr(execute, "write_summary", broken(step))
            capsys.readouterr()
            assert main(["--params", json.dumps(params)]) == 1, step
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert "injected I/O error" in last, last
        assert str(out if step == "publish" else out / "_work" / step) in last, last
        assert published_dates(out) == ["dt=2026-11-19"], step
        assert read_manifest(out / "dt=2026-11-19") == before, step
        verify_snapshot(out / "dt=2026-11-19")
        assert (out / "_LATEST").read_text() == "dt=2026-11-19\n", step
        assert _leftovers(out) == [], step
    # Each failed for good after a try and two retries (per member, where members run side
    # by side).
    assert set(tries) == set(NIGHT_STEPS) and calls[0] == 3
    assert all(count % 3 == 0 for count in tries.values()), tries
    assert main(["--params", json.dumps(params)]) == 0
    assert published_dates(out) == ["dt=2026-11-19", "dt=2026-11-20"]
    verify_snapshot(out / "dt=2026-11-20")
    assert _leftovers(out) == []


@pytest.mark.slow
@pytest.mark.parametrize("where", ["score", "publish"])
def test_a_full_disk_names_the_path_and_the_next_run_completes(
    published, monkeypatch, tmp_path, capsys, where
):
    """A full disk: the scores' Parquet is half written, then pyarrow's own error (as it
    raises it on a full tmpfs: errno 28, naming no file); or publishing's first link fails
    with ENOSPC. The run fails naming where it was writing; the published snapshot,
    _LATEST and the work folder stay usable, and the next run (disk freed) publishes."""
    from flows.nightly import main

    out = tmp_path / "out"
    before = read_manifest(out / "dt=2026-11-19")
    if where == "score":
        original = steps.write_recommendations

        def half_written(table, path):
            original(table, path)
            os.truncate(path, os.path.getsize(path) // 2)
            raise OSError(errno.ENOSPC, PYARROW_ENOSPC)

        monkeypatch.setattr(steps, "write_recommendations", half_written)
    else:

        def full_disk(source, target, *args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(publishing, "link_or_copy", full_disk)
    capsys.readouterr()
    assert main(["--params", json.dumps(published)]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "No space left on device" in last
    assert (str(out / "_work" / "score") if where == "score" else str(out)) in last
    assert published_dates(out) == ["dt=2026-11-19"]
    assert read_manifest(out / "dt=2026-11-19") == before and verify_snapshot(out / "dt=2026-11-19")
    assert (out / "_LATEST").read_text() == "dt=2026-11-19\n"
    assert _leftovers(out) == []
    monkeypatch.undo()
    assert main(["--params", json.dumps(published)]) == 0
    assert published_dates(out) == ["dt=2026-11-19", "dt=2026-11-20"]
    verify_snapshot(out / "dt=2026-11-20")
