"""The nightly flow's user blocks on a 2-worker local Dask cluster (prefect-dask): the
published lists and metrics equal the in-process run's."""

import json
import os
import socket

import numpy as np
import pyarrow.parquet as pq
import pytest

SMALL = {"factors": 16, "iterations": 5, "top_k": 10, "run_date": "2026-11-20"}


def _published(result):
    return pq.read_table(f"{result['snapshot']}/recommendations.parquet")


def _steps(result):
    return [row["step"] for row in result["timings"]]


@pytest.mark.slow
def test_dask_blocks_publish_the_in_process_lists(
    prefect_harness, synthetic_adjacency, tmp_path, monkeypatch
):
    pytest.importorskip("prefect_dask")
    from flows.nightly import nightly
    from tasks import runner

    base = {**SMALL, "input_path": str(synthetic_adjacency)}
    local = nightly(**base, output_dir=str(tmp_path / "local"))
    # Two single-threaded worker processes whatever this machine's core count.
    monkeypatch.setitem(runner.LOCAL_CLUSTER, "n_workers", 2)
    on_dask = nightly(**base, output_dir=str(tmp_path / "dask"), task_runner="dask", user_blocks=3)
    assert _steps(local).count("score") == 1 and "score-block" not in _steps(local)
    assert _steps(on_dask).count("score-block") == 3
    assert _steps(on_dask).count("evaluate-block") == 3
    # The blocks ran in the cluster's worker processes, not in this one.
    workers = {
        json.loads(path.read_text())["worker"]
        for path in (tmp_path / "dask" / "_work").glob("*-block/*/summary.json")
    }
    assert workers and f"{socket.gethostname()}/{os.getpid()}" not in workers
    assert on_dask["metrics"] == local["metrics"]
    a, b = _published(local), _published(on_dask)
    assert a.schema == b.schema
    for column in ("user_id", "rank", "item_id"):
        assert a.column(column).equals(b.column(column)), column
    np.testing.assert_allclose(
        b.column("score").to_numpy(), a.column("score").to_numpy(), rtol=1e-6
    )


def test_task_runner_kinds():
    from tasks.runner import block_task_runner

    with block_task_runner("local", None) as in_process:
        assert in_process is None
    with pytest.raises(ValueError, match="task_runner"), block_task_runner("spark", None):
        pass
