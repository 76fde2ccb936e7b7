"""One Prefect task per nightly step: each calls the core's step through ``run_step``.

A task reusing a complete step folder finishes in Prefect's ``Cached`` state: the step
folder is the cache (``recsys_core.io.workdir``), and Prefect's state follows it. Prefect's own
caching is off (``NO_CACHE``, results not persisted), so no Prefect record can point at a
folder that is gone. Results are small dicts, kept in memory.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, State

from recsys_core.config import (
    ALSConfig,
    EnsembleConfig,
    EvalProtocol,
    GraphFilterConfig,
    IngestConfig,
    PublishConfig,
    RankConfig,
    SplitConfig,
    TrainMatrix,
    WeightConfig,
)
from recsys_core.evaluation.protocol import EvalPart
from recsys_core.models.registry import ModelConfig
from recsys_core.pipeline import nightly as pipeline


def retry_on_io_error(task, task_run, state) -> bool:
    """Retry transient I/O failures only: bad input (InputError, a ValueError) fails the same
    way every time."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:  # noqa: BLE001 - anything else is a bug or bad data, not transient
        return False
    return False


IO_RETRIES = dict(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=retry_on_io_error)
# The step folder is the only cache; Prefect keeps no result records of its own.
STEP = dict(cache_policy=NO_CACHE, persist_result=False)


def _step(step: str, out_dir: str, **inputs) -> dict | State:
    """Run or reuse the step; a reuse is reported as a ``Cached`` state."""
    result = pipeline.run_step(step, out_dir, **inputs)
    log = get_run_logger()
    if result["reused"]:
        log.info("%s: reused %s", step, out_dir)
        return Completed(data=result, name="Cached", message=f"reused {out_dir}")
    log.info("%s done in %.2fs: %s", step, result["seconds"], out_dir)
    return result


@task(name="ingest", **IO_RETRIES, **STEP)
def ingest_task(out_dir: str, input_path: str, input_sha256: str, config: IngestConfig) -> dict:
    """Raw log → canonical interactions Parquet + id maps."""
    return _step("ingest", out_dir, input_path=input_path, input_sha256=input_sha256, config=config)


@task(name="split", **STEP)
def split_task(out_dir: str, ingest_dir: str, config: SplitConfig) -> dict:
    """Canonical interactions → per-user train / validation / test."""
    return _step("split", out_dir, ingest_dir=ingest_dir, config=config)


@task(name="weight", **STEP)
def weight_task(out_dir: str, split_dir: str, config: WeightConfig, protocol: EvalProtocol) -> dict:
    """Split → BM25 + alpha confidence matrices (evaluation and full)."""
    return _step("weight", out_dir, split_dir=split_dir, config=config, protocol=protocol)


@task(name="train", timeout_seconds=4 * 3600, **STEP)
def train_task(
    out_dir: str,
    weight_dir: str,
    matrix: TrainMatrix,
    config: ModelConfig,
    warm_start_dir: str | None = None,
) -> dict:
    """Fit the model on the ``eval`` or ``full`` matrix (ALS: optionally warm-started)."""
    return _step(
        f"train-{matrix}",
        out_dir,
        weight_dir=weight_dir,
        matrix=matrix,
        config=config,
        warm_start_dir=warm_start_dir,
    )


@task(name="evaluate", timeout_seconds=3600, **STEP)
def evaluate_task(
    out_dir: str, split_dir: str, train_dir: str, config: RankConfig, protocol: EvalProtocol
) -> dict:
    """Model vs popularity metrics on validation and test."""
    return _step(
        "evaluate",
        out_dir,
        split_dir=split_dir,
        train_dir=train_dir,
        config=config,
        protocol=protocol,
    )


@task(name="score", timeout_seconds=3600, **STEP)
def score_task(
    out_dir: str, split_dir: str, ingest_dir: str, train_dir: str, config: RankConfig
) -> dict:
    """Top-k for every user with the serving model."""
    return _step(
        "score",
        out_dir,
        split_dir=split_dir,
        ingest_dir=ingest_dir,
        train_dir=train_dir,
        config=config,
    )


@task(name="blend-choose", timeout_seconds=3600, **STEP)
def blend_choose_task(
    out_dir: str,
    split_dir: str,
    member_dirs: list[str],
    config: EnsembleConfig,
    top_k: int,
    protocol: EvalProtocol,
) -> dict:
    """The ensemble's weights and popularity weight, chosen on validation (or fixed)."""
    return _step(
        "blend-choose",
        out_dir,
        split_dir=split_dir,
        member_dirs=member_dirs,
        config=config,
        top_k=top_k,
        protocol=protocol,
    )


@task(name="blend", **STEP)
def blend_task(
    out_dir: str,
    weight_dir: str,
    matrix: TrainMatrix,
    member_dirs: dict[str, str],
    weights: dict[str, float],
    popularity_weight: float,
    sharpen: bool = True,
) -> dict:
    """The ensemble's model file from its fitted members."""
    return _step(
        "blend",
        out_dir,
        weight_dir=weight_dir,
        matrix=matrix,
        member_dirs=member_dirs,
        weights=weights,
        popularity_weight=popularity_weight,
        sharpen=sharpen,
    )


# Tuning tasks run mapped, in worker threads, where Prefect cannot enforce a timeout (it
# warns for every task): they carry none.
@task(name="sweep-chain", **STEP)
def sweep_chain_task(
    out_dir: str, weight_dir: str, config: ALSConfig, checkpoints: tuple[int, ...]
) -> dict:
    """One ALS run for every trial that differs only in sweeps; factors at each count."""
    return _step(
        "sweep-chain", out_dir, weight_dir=weight_dir, config=config, checkpoints=checkpoints
    )


@task(name="trial-evaluate", **STEP)
def trial_evaluate_task(
    out_dir: str,
    split_dir: str,
    chain_dir: str,
    sweeps: int,
    config: RankConfig,
    protocol: EvalProtocol,
    parts: tuple[EvalPart, ...] = ("validation",),
) -> dict:
    """A trial's metrics from its chain's factors (validation only, unless asked)."""
    return _step(
        "trial-evaluate",
        out_dir,
        split_dir=split_dir,
        chain_dir=chain_dir,
        sweeps=sweeps,
        config=config,
        protocol=protocol,
        parts=parts,
    )


@task(name="gf-trial-evaluate", **STEP)
def gf_trial_evaluate_task(
    out_dir: str,
    split_dir: str,
    train_dir: str,
    config: GraphFilterConfig,
    rank: RankConfig,
    protocol: EvalProtocol,
    parts: tuple[EvalPart, ...] = ("validation",),
) -> dict:
    """A graph-filter trial's metrics on its fitted SVD (validation only, unless asked)."""
    return _step(
        "gf-trial-evaluate",
        out_dir,
        split_dir=split_dir,
        train_dir=train_dir,
        config=config,
        rank=rank,
        protocol=protocol,
        parts=parts,
    )


# User blocks may run on Dask workers, where Prefect cannot enforce a timeout either.
@task(name="evaluate-block", **STEP)
def evaluate_block_task(
    out_dir: str,
    split_dir: str,
    train_dir: str,
    config: RankConfig,
    protocol: EvalProtocol,
    block: tuple[int, int],
) -> dict:
    """The evaluation model's lists for one block (``(index, count)``) of evaluated users."""
    return _step(
        "evaluate-block",
        out_dir,
        split_dir=split_dir,
        train_dir=train_dir,
        config=config,
        protocol=protocol,
        block=block,
    )


@task(name="evaluate-merge", **STEP)
def evaluate_merge_task(
    out_dir: str, split_dir: str, block_dirs: list[str], config: RankConfig, protocol: EvalProtocol
) -> dict:
    """The blocks' lists → model vs popularity metrics on validation and test."""
    return _step(
        "evaluate-merge",
        out_dir,
        split_dir=split_dir,
        block_dirs=block_dirs,
        config=config,
        protocol=protocol,
    )


@task(name="score-block", **STEP)
def score_block_task(
    out_dir: str,
    split_dir: str,
    ingest_dir: str,
    train_dir: str,
    config: RankConfig,
    block: tuple[int, int],
) -> dict:
    """Top-k for one block (``(index, count)``) of users, as a Parquet part."""
    return _step(
        "score-block",
        out_dir,
        split_dir=split_dir,
        ingest_dir=ingest_dir,
        train_dir=train_dir,
        config=config,
        block=block,
    )


@task(name="score-merge", **STEP)
def score_merge_task(out_dir: str, block_dirs: list[str]) -> dict:
    """The blocks' parts, in order → recommendations.parquet."""
    return _step("score-merge", out_dir, block_dirs=block_dirs)


@task(name="publish", **IO_RETRIES, **STEP)
def publish_task(
    publish: PublishConfig,
    score_dir: str,
    evaluate_dir: str,
    train_dir: str,
    manifest: dict,
    work_dir: str,
) -> dict:
    """Dated snapshot (renamed into place, or committed in order on an object store);
    _LATEST last; then retention and pruning."""
    result = pipeline.publish_step(
        publish=publish,
        score_dir=score_dir,
        evaluate_dir=evaluate_dir,
        train_dir=train_dir,
        manifest=manifest,
        work_dir=work_dir,
    )
    get_run_logger().info("publish: %s %s", result["status"], result["snapshot"])
    return result


TASKS = {
    "ingest": ingest_task,
    "split": split_task,
    "weight": weight_task,
    "train-eval": train_task,
    "evaluate": evaluate_task,
    "train-full": train_task,
    "score": score_task,
    "blend-choose": blend_choose_task,
    "blend": blend_task,
    "publish": publish_task,
    "sweep-chain": sweep_chain_task,
    "trial-evaluate": trial_evaluate_task,
    "gf-trial-evaluate": gf_trial_evaluate_task,
    "evaluate-block": evaluate_block_task,
    "evaluate-merge": evaluate_merge_task,
    "score-block": score_block_task,
    "score-merge": score_merge_task,
}
