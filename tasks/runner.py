"""The flow's step runner: each step as its Prefect task, its folder derived from its inputs.

User blocks (``blocks``) run one after another in this process, or, given a
``block_runner`` (:func:`block_task_runner`: the ``task_runner`` parameter, its one home),
as tasks of a ``user-blocks`` subflow on that task runner, a Dask cluster.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.states import State
from prefect.task_runners import TaskRunner

from recsys_core.io.workdir import STEP_NAMES, step_dir
from tasks.steps import TASKS


@dataclass
class PrefectStepRunner:
    """Runs steps as tasks and keeps a timing row per step (state, wall and core seconds).

    A folder step's ``out_dir`` is computed here from exactly the inputs the task is given,
    so the folder cannot drift from what the step was computed from.
    """

    work_dir: Path
    block_runner: Callable[[], TaskRunner] | None = None
    timings: list[dict] = field(default_factory=list)

    def _task_inputs(self, step: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if step in STEP_NAMES:
            return {"out_dir": step_dir(self.work_dir, step, inputs), **inputs}
        return {**inputs, "work_dir": str(self.work_dir)}

    def _record(self, step: str, state: State, started: float) -> dict:
        return self._row(step, state.name, state.result(), started)

    def _row(self, step: str, state_name: str, result: dict, started: float) -> dict:
        self.timings.append(
            {
                "step": step,
                "state": state_name,
                "wall_s": round(time.perf_counter() - started, 3),
                "core_s": 0.0 if result.get("reused") else result["seconds"],
            }
        )
        return result

    def __call__(self, step: str, **inputs: Any) -> dict:
        started = time.perf_counter()
        state = TASKS[step](**self._task_inputs(step, inputs), return_state=True)
        return self._record(step, state, started)

    def map(self, step: str, many: list[dict[str, Any]]) -> list[dict]:
        """Submit one task per inputs on the flow's task runner; results in order."""
        started = time.perf_counter()
        futures = [TASKS[step].submit(**self._task_inputs(step, inputs)) for inputs in many]
        for future in futures:
            future.wait()
        return [self._record(step, future.state, started) for future in futures]

    def blocks(self, step: str, many: list[dict[str, Any]]) -> list[dict]:
        """A step's user blocks: in order here, or as a subflow on ``block_runner``."""
        if self.block_runner is None:
            return [self(step, **inputs) for inputs in many]
        started = time.perf_counter()
        subflow = user_blocks_flow.with_options(task_runner=self.block_runner())
        done = subflow(step, [self._task_inputs(step, inputs) for inputs in many])
        return [self._row(step, name, result, started) for name, result in done]


@flow(name="user-blocks", validate_parameters=False)
def user_blocks_flow(step: str, many: list[dict[str, Any]]) -> list[tuple[str, dict]]:
    """One task per block on this flow's task runner; (state name, result) in block order.
    A failed block fails the subflow with its error."""
    futures = [TASKS[step].submit(**inputs) for inputs in many]
    for future in futures:
        future.wait()
    return [(future.state.name, future.result()) for future in futures]


# Environment of a local cluster's worker processes: each is one core, so the top-k ranks
# on one thread (recsys_core.ranking.topk.compute_threads) and BLAS stays on one.
DASK_WORKER_ENV = {"RECSYS_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
# The local cluster when no scheduler is given: one single-threaded worker process per core.
LOCAL_CLUSTER = {
    "n_workers": os.cpu_count() or 1,
    "threads_per_worker": 1,
    "processes": True,
    "dashboard_address": None,
    "env": DASK_WORKER_ENV,
}


class DaskBlocks:
    """Task runners for user blocks, all on one Dask cluster: the one at ``address``, or a
    local cluster (:data:`LOCAL_CLUSTER`) started on first use and kept until
    :meth:`close` (a nightly's evaluate and score share it: a start costs ≈ 10-20 s)."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._cluster = None

    def __call__(self) -> TaskRunner:
        from prefect_dask import DaskTaskRunner

        if self.address is None:
            from distributed import LocalCluster

            self._cluster = LocalCluster(**LOCAL_CLUSTER)
            self.address = self._cluster.scheduler_address
        return DaskTaskRunner(address=self.address)

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster, self.address = None, None


@contextmanager
def block_task_runner(kind: str, dask_address: str | None) -> Iterator[DaskBlocks | None]:
    """The task runners user blocks run on, for the length of a flow run: None in process
    (``local``); for ``dask``, the cluster at ``dask_address``, else at Dask's
    ``scheduler-address`` config (``DASK_SCHEDULER_ADDRESS``), else a local cluster of one
    single-threaded worker process per core."""
    if kind == "local":
        yield None
        return
    if kind != "dask":
        raise ValueError(f"unknown task_runner {kind!r} (expected 'local' or 'dask')")
    import dask

    blocks = DaskBlocks(dask_address or dask.config.get("scheduler-address", None))
    try:
        yield blocks
    finally:
        blocks.close()
