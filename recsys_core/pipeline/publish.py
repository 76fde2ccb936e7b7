"""Publish orchestration, in one place: decide once → judge (quality gate, churn) →
commit the dated snapshot → retention → prune the work dir."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pyarrow.parquet as pq

from recsys_core.config import PublishConfig
from recsys_core.evaluation.churn import list_churn
from recsys_core.io.boundary import writing
from recsys_core.io.storage import Store, open_store
from recsys_core.io.workdir import FALLBACK_FILE as FALLBACK_STEP_FILE
from recsys_core.io.workdir import MODEL_FILE, RECOMMENDATIONS_FILE, prune_work, read_summary
from recsys_core.io.workdir import SIMILAR_ITEMS_FILE as SIMILAR_ITEMS_STEP_FILE
from recsys_core.publishing.commit import (
    apply_retention,
    decide,
    publish_similar_items,
    publish_snapshot,
)
from recsys_core.publishing.history import record_night
from recsys_core.publishing.quality_gate import QualityGateFailed, judge_against_latest
from recsys_core.publishing.snapshot import (
    FALLBACK_FILE,
    REJECTED_DIR,
    Decision,
    published_dates,
    read_manifest,
    read_recommendations,
    similar_items_store,
    snapshot_name,
)

# The snapshot's files, from the step folders: recommendations, metrics, model.
SnapshotFiles = tuple[Path, dict, Path]


def publish_step(
    *,
    publish: PublishConfig,
    score_dir: str,
    evaluate_dir: str,
    train_dir: str,
    manifest: dict,
    work_dir: str,
    step_folders: tuple[str, ...],
    fallback_dir: str | None = None,
    similar_dir: str | None = None,
) -> dict:
    """Publish the dated snapshot as the publish policy decides (evaluated once), its
    similar items first (``similar_dir``: the similar-items step's folder), then apply
    retention to both and prune the ``step_folders`` no kept snapshot came from."""
    with writing(publish.output_dir):  # a full disk's error names the output
        started = time.perf_counter()
        output = open_store(publish.output_dir)
        metrics = read_summary(evaluate_dir)["metrics"]
        files = (Path(score_dir) / RECOMMENDATIONS_FILE, metrics, Path(train_dir) / MODEL_FILE)
        decision = decide(
            output,
            publish.run_date,
            manifest["fingerprint"],
            overwrite=publish.overwrite,
            started_at=publish.started_at,
        )
        name = snapshot_name(publish.run_date)
        extra = {}
        if fallback_dir is not None:
            extra[FALLBACK_FILE] = Path(fallback_dir) / FALLBACK_STEP_FILE
        similar = similar_items_store(output)
        manifest = {
            **manifest,
            "fallback": output.child(name).uri(FALLBACK_FILE) if extra else None,
            "similar_items": similar.uri(name) if similar_dir is not None else None,
        }
        if decision in (Decision.PUBLISH, Decision.REPLACE):  # a no-op rerun judges nothing
            manifest = judged_manifest(output, publish, manifest, files, extra)
        if similar_dir is not None and decision is not Decision.KEEP:
            # First: the user lists' manifest never names a similar-items date that is absent.
            similar_table = Path(similar_dir) / SIMILAR_ITEMS_STEP_FILE
            publish_similar_items(output, publish.run_date, similar_table, manifest)
        _, location = publish_snapshot(
            output, publish.run_date, *files, manifest, decision=decision, extra_files=extra
        )
        if decision in (Decision.PUBLISH, Decision.REPLACE):
            record_night(output, name)
        removed = apply_retention(output, publish.keep_last)
        if published_dates(similar):
            apply_retention(similar, publish.keep_last)
        keep = set(manifest["work_dirs"])
        for name in published_dates(output):
            keep.update(read_manifest(output.child(name)).get("work_dirs", []))
        pruned = prune_work(work_dir, step_folders, keep)
        return {
            "status": str(decision),
            "snapshot": location,
            "quality_gate": manifest.get("quality_gate"),
            "removed": removed,
            "pruned": pruned,
            "seconds": round(time.perf_counter() - started, 3),
        }


def judged_manifest(
    output: Store,
    publish: PublishConfig,
    manifest: dict,
    files: SnapshotFiles,
    extra_files: dict[str, Path] | None = None,
) -> dict:
    """``manifest`` with the quality gate's verdict, the churn and the run's seconds. A
    refused candidate (without ``force_publish``) is kept in ``_rejected/`` and
    :class:`QualityGateFailed` raised."""
    recommendations, metrics, _ = files
    verdict = judge_against_latest(output, metrics, publish.max_metric_drop)
    forced = publish.force_publish and not verdict.passed
    manifest = {
        **manifest,
        "quality_gate": {**verdict.as_dict(), "forced": forced},
        "churn": churn_since_previous(output, publish.run_date, recommendations),
    }
    if publish.started_at is not None:  # the run's time up to publish, for the history
        seconds = (dt.datetime.now(dt.UTC) - publish.started_at).total_seconds()
        manifest["run_seconds"] = round(seconds, 3)
    if not (verdict.passed or publish.force_publish):
        rejected = output.child(REJECTED_DIR)
        _, kept_at = publish_snapshot(
            rejected, publish.run_date, *files, manifest, extra_files=extra_files
        )
        apply_retention(rejected, publish.keep_last)
        raise QualityGateFailed(verdict, kept_at)
    return manifest


def churn_since_previous(output: Store, run_date: dt.date, recommendations: Path) -> dict | None:
    """:func:`~recsys_core.evaluation.churn.list_churn` against the newest published date
    before ``run_date`` (None when there is none)."""
    earlier = [name for name in published_dates(output) if name < snapshot_name(run_date)]
    if not earlier:
        return None
    previous = read_recommendations(output, earlier[-1].removeprefix("dt="))
    current = pq.read_table(recommendations)
    return {"previous": earlier[-1], **list_churn(previous, current)}
