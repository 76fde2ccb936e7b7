"""How a flow's wiring talks to whatever runs its steps.

A *plan* is a generator: it yields a :class:`StepCall` (one step, given exactly its inputs)
or a :class:`StepBatch` (several, concurrently where the runner can) and is sent back the
result (a list for a batch); it returns every step's result by name. The runner (Prefect
tasks in ``tasks/runner.py``, plain calls in :class:`~recsys_core.pipeline.execute.
LocalRunner`) drives it through :func:`drive` with its own ways to run a call and a batch,
so the core never calls back into the layer that runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class StepCall:
    """Run ``step`` on ``inputs``; ``label`` (a model family, a block) names this call of
    the step where it runs more than once: ``train-eval[als]``."""

    step: str
    inputs: dict[str, Any]
    label: str | None = None

    @property
    def title(self) -> str:
        """The step's name as runs and timing rows show it."""
        return self.step if self.label is None else f"{self.step}[{self.label}]"


@dataclass(frozen=True, slots=True)
class StepBatch:
    """Several calls of one step, run concurrently where the runner can; ``user_blocks``:
    the calls are user blocks, which may run on a cluster."""

    calls: list[StepCall] = field(default_factory=list)
    user_blocks: bool = False


Plan = Generator[StepCall | StepBatch, Any, dict[str, dict]]


def drive(
    plan: Plan,
    run_call: Callable[[StepCall], dict],
    run_batch: Callable[[StepBatch], list[dict]],
) -> dict[str, dict]:
    """Run ``plan`` to its end with a runner's own ``run_call`` and ``run_batch``; the
    plan's results by name."""
    try:
        request = next(plan)
        while True:
            if isinstance(request, StepBatch):
                request = plan.send(run_batch(request))
            else:
                request = plan.send(run_call(request))
    except StopIteration as done:
        return done.value
