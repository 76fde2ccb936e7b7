"""The step table: every step declared once (name, function, what it does, retries,
timeout). The work-dir's step folders, the Prefect tasks (``tasks/steps.py``) and the
runners are derived from it; a new step is one row here and one function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from recsys_core.pipeline import blocks, publish, steps
from recsys_core.tuning import trials


@dataclass(frozen=True, slots=True)
class Step:
    """One step. A ``folder`` step is ``run(staging, **inputs) -> summary`` into a
    content-addressed folder (:mod:`recsys_core.io.workdir`); any other is
    ``run(**inputs) -> summary`` (publish writes into ``output_dir``).

    ``io_retries``: a transient ``OSError`` is retried (the task layer's policy). Every
    step is safe to retry: a folder step's folder is write-once (a retry stages afresh),
    and publish commits atomically;
    ``timeout_s``: the task's limit (steps run mapped in threads or on Dask workers carry
    none: Prefect cannot enforce one there).
    """

    name: str
    run: Callable[..., dict]
    doc: str
    folder: bool = True
    io_retries: bool = True
    timeout_s: int | None = None


HOUR = 3600

STEPS: Mapping[str, Step] = {
    step.name: step
    for step in (
        # The nightly, in order.
        Step("ingest", steps.ingest_step, "Raw log → canonical Parquet + id maps"),
        Step("split", steps.split_step, "Per-user train / validation / test"),
        Step("weight", steps.weight_step, "BM25 + confidence matrices (evaluation and full)"),
        Step(
            "train-eval",
            steps.train_step,
            "Fit a family on the evaluation matrix",
            timeout_s=4 * HOUR,
        ),
        Step(
            "evaluate",
            steps.evaluate_step,
            "Model vs popularity on validation and test",
            timeout_s=HOUR,
        ),
        Step(
            "train-full", steps.train_step, "Fit a family on all data (serving)", timeout_s=4 * HOUR
        ),
        Step("score", steps.score_step, "Top-k for every user", timeout_s=HOUR),
        Step("fallback", steps.fallback_step, "The list an unknown user gets"),
        Step(
            "similar-check",
            steps.similar_check_step,
            "Similar items vs popularity's on validation",
            timeout_s=HOUR,
        ),
        Step(
            "similar-items",
            steps.similar_items_step,
            "Top-k similar items of every item",
            timeout_s=HOUR,
        ),
        # The ensemble's own steps: which candidates fit the night's budget, the blend chosen
        # on validation, its model file.
        Step(
            "blend-budget",
            steps.blend_budget_step,
            "Candidates' predicted evaluate + score seconds, before any fit",
        ),
        Step(
            "blend-choose",
            steps.blend_choose_step,
            "The blend, chosen on validation",
            timeout_s=HOUR,
        ),
        Step("blend", steps.blend_step, "The ensemble's model file from its members"),
        # Tuning (run mapped in threads: no timeouts).
        Step("sweep-chain", trials.sweep_chain_step, "One fit for trials differing in sweeps"),
        Step("trial-evaluate", trials.trial_evaluate_step, "A sweep-chain trial's metrics"),
        Step("shared-fit-evaluate", trials.shared_fit_trial_step, "A shared-fit trial's metrics"),
        # Evaluate and score in user blocks, each then merged (may run on Dask workers).
        Step("evaluate-block", blocks.evaluate_block_step, "One block's evaluation lists"),
        Step("evaluate-merge", blocks.evaluate_merge_step, "The blocks' lists → metrics"),
        Step("score-block", blocks.score_block_step, "One block's top-k, a Parquet part"),
        Step("score-merge", blocks.score_merge_step, "The blocks' parts → recommendations"),
        # Publishing writes into output_dir, not a step folder.
        Step(
            "publish",
            publish.publish_step,
            "Dated snapshot, _LATEST, retention",
            folder=False,
            io_retries=True,
        ),
    )
}
# Steps with a folder under the work dir (what pruning may remove).
STEP_NAMES = tuple(name for name, step in STEPS.items() if step.folder)


def step(name: str) -> Step:
    """The step called ``name``."""
    if name not in STEPS:
        raise ValueError(f"unknown step {name!r} (expected one of {', '.join(STEPS)})")
    return STEPS[name]
