"""The flow's step runner: each step as its Prefect task, its folder derived from its inputs.

User blocks (a plan's ``StepBatch`` of them) run one after another in this process, or,
given a ``block_runner`` (:func:`block_task_runner`: the ``task_runner`` parameter, its one home),
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
from prefect.task_runners import TaskRunner

from recsys_core.pipeline.execute import folder_of
from recsys_core.pipeline.plan import Plan, StepBatch, StepCall, drive
from tasks.steps import TASKS


@dataclass
class PrefectStepRunner:
    """Drives a plan with one task per step call and keeps a timing row per call (state,
    wall and core seconds), named as the call's title (``train-eval[als]``).

    A folder step's ``out_dir`` is derived here from exactly the inputs the task is given,
    so the folder cannot drift from what the step was computed from.
    """

    work_dir: Path
    block_runner: Callable[[], TaskRunner] | None = None
    timings: list[dict] = field(default_factory=list)

    def run_plan(self, plan: Plan) -> dict[str, dict]:
        """Drive ``plan`` to its end; its results by name."""
        return drive(plan, self._call, self._batch)

    def _task_inputs(self, call: StepCall) -> dict[str, Any]:
        out_dir = folder_of(self.work_dir, call)
        return call.inputs if out_dir is None else {"out_dir": out_dir, **call.inputs}

    def _row(self, title: str, state_name: str, result: dict, started: float) -> dict:
        self.timings.append(
            {
                "step": title,
                "state": state_name,
                "wall_s": round(time.perf_counter() - started, 3),
                "core_s": 0.0 if result.get("reused") else result.get("seconds", 0.0),
            }
        )
        return result

    def _call(self, call: StepCall) -> dict:
        started = time.perf_counter()
        state = titled_task(call.step, call.title)(**self._task_inputs(call), return_state=True)
        return self._row(call.title, state.name, state.result(), started)

    def _batch(self, batch: StepBatch) -> list[dict]:
        """User blocks in order here, or as a subflow on ``block_runner``; other batches
        submitted on the flow's task runner (threads)."""
        if batch.user_blocks and self.block_runner is None:
            return [self._call(call) for call in batch.calls]
        started = time.perf_counter()
        submitted = [(call.step, call.title, self._task_inputs(call)) for call in batch.calls]
        if batch.user_blocks:
            subflow = user_blocks_flow.with_options(task_runner=self.block_runner())
            done = subflow(submitted)
        else:
            done = _submit_all(submitted)
        return [
            self._row(call.title, name, result, started)
            for call, (name, result) in zip(batch.calls, done, strict=True)
        ]


# A batch's calls as they cross into a subflow: (step, title, task inputs).
Submitted = list[tuple[str, str, dict[str, Any]]]


def titled_task(step: str, title: str):
    """The step's task, its runs named ``title``."""
    return TASKS[step].with_options(task_run_name=title)


def _submit_all(submitted: Submitted) -> list[tuple[str, dict]]:
    """One future per call on the current task runner; (state name, result) in order. A
    failed task raises its error."""
    futures = [titled_task(step, title).submit(**inputs) for step, title, inputs in submitted]
    for future in futures:
        future.wait()
    return [(future.state.name, future.result()) for future in futures]


@flow(name="user-blocks", validate_parameters=False)
def user_blocks_flow(submitted: Submitted) -> list[tuple[str, dict]]:
    """One task per block on this flow's task runner; (state name, result) in block order.
    A failed block fails the subflow with its error."""
    return _submit_all(submitted)


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
