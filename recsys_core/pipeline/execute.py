"""Running steps: one step into its folder (or reused), and the in-process runner.

:func:`run_step` reuses a complete step folder (the cache, see
:mod:`recsys_core.io.workdir`) or runs the step into a staged folder that appears whole.
:class:`LocalRunner` drives a plan (:mod:`recsys_core.pipeline.plan`) with plain calls
(benchmarks, notebooks, tests); the flow's runner is Prefect's (``tasks/runner.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recsys_core.io.atomic import staged_folder
from recsys_core.io.boundary import writing
from recsys_core.io.workdir import read_summary, reusable, step_dir, write_summary
from recsys_core.pipeline.plan import Plan, StepCall, drive
from recsys_core.pipeline.table import step as step_named


def run_step(step: str, out_dir: str, **inputs: Any) -> dict:
    """Run folder step ``step`` into ``out_dir``, or reuse ``out_dir`` when it is complete.

    Returns the step's summary plus ``dir``, ``seconds`` and ``reused``.
    """
    started = time.perf_counter()
    reused = reusable(out_dir)
    if reused:
        summary = read_summary(out_dir)
    else:
        with writing(out_dir), staged_folder(out_dir) as staging:
            summary = step_named(step).run(staging, **inputs)
            write_summary(staging, summary)
    seconds = round(time.perf_counter() - started, 3)
    return {**summary, "dir": out_dir, "seconds": seconds, "reused": reused}


def folder_of(work_dir: str | Path, call: StepCall) -> str | None:
    """The folder a call writes, derived from exactly its inputs (None: a step without
    one, such as publish)."""
    return step_dir(work_dir, call.step, call.inputs) if step_named(call.step).folder else None


def run_call(work_dir: str | Path, call: StepCall) -> dict:
    """One call, in this process."""
    out_dir = folder_of(work_dir, call)
    if out_dir is None:
        return step_named(call.step).run(**call.inputs)
    return run_step(call.step, out_dir, **call.inputs)


@dataclass
class LocalRunner:
    """Runs steps in this process, one after another; ``measure(title, call)`` wraps each
    call (timing, memory)."""

    work_dir: str | Path
    measure: Callable[[str, Callable[[], dict]], dict] = field(default=lambda title, call: call())

    def __call__(self, step: str, label: str | None = None, **inputs: Any) -> dict:
        """Run one step on ``inputs``."""
        return self._run(StepCall(step, inputs, label))

    def run_plan(self, plan: Plan) -> dict[str, dict]:
        """Drive ``plan`` to its end, one call after another; its results by name."""
        return drive(plan, self._run, lambda batch: [self._run(call) for call in batch.calls])

    def _run(self, call: StepCall) -> dict:
        return self.measure(call.step, lambda: run_call(self.work_dir, call))
