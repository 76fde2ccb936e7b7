"""One Prefect task per nightly step. Each reads paths, calls the core, returns a small dict."""

from __future__ import annotations

import datetime as dt

from prefect import get_run_logger, task

from recsys_core import steps
from recsys_core.config import ALSConfig, IngestConfig, RankConfig, SplitConfig, WeightConfig
from tasks.caching import content_key

# Results are small dicts of paths and numbers: JSON, never pickle.
CACHED = dict(cache_key_fn=content_key, persist_result=True, result_serializer="json")


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


def _log(name: str, result: dict) -> dict:
    get_run_logger().info("%s done in %.2fs: %s", name, result["seconds"], result.get("dir"))
    return result


@task(name="ingest", **IO_RETRIES, **CACHED)
def ingest_task(input_path: str, input_sha256: str, out_dir: str, config: dict) -> dict:
    """Raw log → canonical interactions Parquet + id maps (input_sha256 keys the cache)."""
    return _log("ingest", steps.run_ingest(input_path, out_dir, IngestConfig(**config)))


@task(name="split", **CACHED)
def split_task(ingest_dir: str, out_dir: str, config: dict) -> dict:
    """Canonical interactions → per-user train / validation / test."""
    return _log("split", steps.run_split(ingest_dir, out_dir, SplitConfig(**config)))


@task(name="weight", **CACHED)
def weight_task(split_dir: str, out_dir: str, config: dict, eval_mode: str) -> dict:
    """Split → BM25 + alpha confidence matrices (evaluation and full)."""
    return _log("weight", steps.run_weight(split_dir, out_dir, WeightConfig(**config), eval_mode))


@task(name="train", timeout_seconds=4 * 3600, **CACHED)
def train_task(
    weight_dir: str, which: str, out_dir: str, config: dict, warm_start_dir: str | None = None
) -> dict:
    """Fit ALS on the ``eval`` or ``full`` matrix, optionally from another model's items."""
    result = steps.run_train(weight_dir, which, out_dir, ALSConfig(**config), warm_start_dir)
    return _log(f"train-{which}", result)


@task(name="evaluate", timeout_seconds=3600, **CACHED)
def evaluate_task(split_dir: str, train_dir: str, out_dir: str, config: dict) -> dict:
    """Model vs popularity metrics on validation and test."""
    return _log("evaluate", steps.run_evaluate(split_dir, train_dir, out_dir, RankConfig(**config)))


@task(name="score", timeout_seconds=3600, **CACHED)
def score_task(split_dir: str, ingest_dir: str, train_dir: str, out_dir: str, config: dict) -> dict:
    """Top-k for every user with the full model."""
    return _log(
        "score", steps.run_score(split_dir, ingest_dir, train_dir, out_dir, RankConfig(**config))
    )


@task(name="publish", **IO_RETRIES)
def publish_task(
    output_dir: str,
    run_date: dt.date,
    score_dir: str,
    evaluate_dir: str,
    train_dir: str,
    manifest: dict,
    overwrite: bool = True,
    keep_last: int = 14,
) -> dict:
    """Dated snapshot, renamed into place; LATEST replaced last; then retention."""
    result = steps.run_publish(
        output_dir,
        run_date,
        score_dir,
        evaluate_dir,
        train_dir,
        manifest,
        overwrite=overwrite,
        keep_last=keep_last,
    )
    return _log("publish", result)
