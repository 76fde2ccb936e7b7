"""The nightly flow's user blocks on a 2-worker local Dask cluster (prefect-dask): the
published lists and metrics equal the in-process run's."""

import json
import os
import socket

import pyarrow.parquet as pq
import pytest

SMALL = {"factors": 16, "iterations": 5, "top_k": 10, "run_date": "2026-11-20"}


@pytest.fixture(scope="module")
def wide_log(tmp_path_factory):
    """2,600 users: blocks start on 1,024-user tiles, so three blocks all hold users."""
    from recsys_core.data.synthetic import synthetic_pairs, write_adjacency

    users, items = synthetic_pairs(n_users=2600, n_items=400, seed=3)
    return write_adjacency(tmp_path_factory.mktemp("wide") / "train.txt", users, items)


def _published(result):
    return pq.read_table(f"{result['snapshot']}/recommendations.parquet")


def _steps(result):
    """The steps of the timing rows, without their labels (``score-block[2/3]``)."""
    return [row["step"].split("[")[0] for row in result["timings"]]


@pytest.mark.slow
def test_dask_blocks_publish_the_in_process_lists(prefect_harness, wide_log, tmp_path, monkeypatch):
    pytest.importorskip("prefect_dask")
    from flows.nightly import nightly
    from tasks import runner

    base = {**SMALL, "input_path": str(wide_log)}
    local = nightly(**base, output_dir=str(tmp_path / "local"))
    # Two single-threaded worker processes whatever this machine's core count.
    monkeypatch.setitem(runner.LOCAL_CLUSTER, "n_workers", 2)
    on_dask = nightly(**base, output_dir=str(tmp_path / "dask"), task_runner="dask", user_blocks=3)
    assert _steps(local).count("score") == 1 and "score-block" not in _steps(local)
    assert _steps(on_dask).count("score-block") == 3
    assert _steps(on_dask).count("evaluate-block") == 3
    summaries = [
        json.loads(path.read_text())
        for path in (tmp_path / "dask" / "_work").glob("*-block/*/summary.json")
    ]
    # The blocks ran in the cluster's worker processes, not in this one, and none was empty.
    workers = {block["worker"] for block in summaries}
    assert workers and f"{socket.gethostname()}/{os.getpid()}" not in workers
    assert len(summaries) == 6 and all(block["stop"] > block["start"] for block in summaries)
    assert on_dask["metrics"] == local["metrics"]
    # Same rows and scores to the bit: blocks score in the in-process run's tiles.
    assert _published(on_dask).equals(_published(local))


def test_task_runner_kinds():
    from tasks.runner import block_task_runner

    with block_task_runner("local", None) as in_process:
        assert in_process is None
    with pytest.raises(ValueError, match="task_runner"), block_task_runner("spark", None):
        pass
