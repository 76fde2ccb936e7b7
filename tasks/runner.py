"""The flow's step runner: each step as its Prefect task, its folder derived from its inputs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect.states import State

from recsys_core.workdir import STEP_NAMES, step_dir
from tasks.steps import TASKS


@dataclass
class PrefectStepRunner:
    """Runs steps as tasks and keeps a timing row per step (state, wall and core seconds).

    A folder step's ``out_dir`` is computed here from exactly the inputs the task is given,
    so the folder cannot drift from what the step was computed from.
    """

    work_dir: Path
    timings: list[dict] = field(default_factory=list)

    def _task_inputs(self, step: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if step in STEP_NAMES:
            return {"out_dir": step_dir(self.work_dir, step, inputs), **inputs}
        return {**inputs, "work_dir": str(self.work_dir)}

    def _record(self, step: str, state: State, started: float) -> dict:
        result = state.result()
        self.timings.append(
            {
                "step": step,
                "state": state.name,
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
