"""The nightly run's steps as file-in, file-out functions (what the Prefect tasks call).

Each step writes into its own folder through :func:`step_output`: files land in a hidden
sibling and the folder appears, complete with a ``_SUCCESS`` marker, in one rename.
Each returns a small JSON-able dict (paths, counts, seconds).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import scipy.sparse as sp

from recsys_core.columns import Columns
from recsys_core.config import ALSConfig, IngestConfig, RankConfig, SplitConfig, WeightConfig
from recsys_core.evaluation import evaluate
from recsys_core.io.canonical import read_canonical
from recsys_core.io.ingest import ingest
from recsys_core.matrices import SplitArrays, eval_training_matrix, full_matrix
from recsys_core.scoring import recommendations_table, score_all_users
from recsys_core.snapshot import (
    MANIFEST_FILE,
    AlreadyPublished,
    apply_retention,
    publish_snapshot,
    published_dates,
    snapshot_name,
)
from recsys_core.splitting import split_interactions
from recsys_core.training import fit_als, load_factors, save_factors
from recsys_core.weighting import confidence

SUCCESS = "_SUCCESS"
SPLIT_FILE = "split.parquet"
EVAL_CONFIDENCE = "eval_confidence.npz"
EVAL_USERS = "eval_users.npy"
FULL_CONFIDENCE = "full_confidence.npz"
FACTORS_FILE = "factors.npz"
METRICS_FILE = "metrics.json"
RECOMMENDATIONS_FILE = "recommendations.parquet"
SUMMARY_FILE = "summary.json"


def is_complete(folder: str | Path) -> bool:
    """True when a step folder was fully written."""
    return (Path(folder) / SUCCESS).is_file()


@contextlib.contextmanager
def step_output(folder: str | Path) -> Iterator[Path]:
    """Yield a staging folder that becomes ``folder`` (with ``_SUCCESS``) only on success."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}")
    staging.mkdir()
    try:
        yield staging
        (staging / SUCCESS).write_text(dt.datetime.now(dt.UTC).isoformat())
        if folder.exists():  # a leftover without _SUCCESS, or a forced redo
            shutil.rmtree(folder)
        os.rename(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _finish(folder: Path, summary: dict, started: float) -> dict:
    return {**summary, "dir": str(folder), "seconds": round(time.perf_counter() - started, 3)}


def _write_summary(staging: Path, summary: dict) -> None:
    (staging / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str))


def run_ingest(input_path: str, out_dir: str, config: IngestConfig) -> dict:
    """Raw log → canonical interactions + id maps (+ quarantine.parquet when asked)."""
    started = time.perf_counter()
    with step_output(out_dir) as staging:
        summary = asdict(ingest(input_path, staging, config))
        if summary["quarantine_path"]:
            summary["quarantine_path"] = str(Path(out_dir) / Path(summary["quarantine_path"]).name)
        _write_summary(staging, summary)
    return _finish(Path(out_dir), summary, started)


def run_split(ingest_dir: str, out_dir: str, config: SplitConfig) -> dict:
    """Canonical interactions → split table (one row per distinct pair, with its part)."""
    started = time.perf_counter()
    canonical = read_canonical(ingest_dir)
    split = split_interactions(canonical.interactions, canonical.n_users, canonical.n_items, config)
    parts = np.bincount(split.column(Columns.PART).to_numpy() + 1, minlength=4)
    summary = {
        "pairs": split.num_rows,
        "not_evaluated": int(parts[0]),
        "train": int(parts[1]),
        "validation": int(parts[2]),
        "test": int(parts[3]),
        "n_users": canonical.n_users,
        "n_items": canonical.n_items,
    }
    with step_output(out_dir) as staging:
        pq.write_table(split, staging / SPLIT_FILE)
        _write_summary(staging, summary)
    return _finish(Path(out_dir), summary, started)


def load_split(split_dir: str) -> tuple[SplitArrays, int, int]:
    """The split table and its (n_users, n_items), as the split step wrote them."""
    info = json.loads((Path(split_dir) / SUMMARY_FILE).read_text())
    arrays = SplitArrays.from_table(pq.read_table(Path(split_dir) / SPLIT_FILE))
    return arrays, info["n_users"], info["n_items"]


def run_weight(split_dir: str, out_dir: str, config: WeightConfig, eval_mode: str) -> dict:
    """Split → BM25 + alpha confidence matrices for the evaluation and the full model."""
    started = time.perf_counter()
    arrays, n_users, n_items = load_split(split_dir)
    eval_users, train = eval_training_matrix(arrays, n_users, n_items, eval_mode)
    with step_output(out_dir) as staging:
        sp.save_npz(staging / EVAL_CONFIDENCE, confidence(train, config), compressed=False)
        np.save(staging / EVAL_USERS, eval_users, allow_pickle=False)
        sp.save_npz(
            staging / FULL_CONFIDENCE,
            confidence(full_matrix(arrays, n_users, n_items), config),
            compressed=False,
        )
        summary = {"eval_users": len(eval_users), "eval_nnz": int(train.nnz)}
        _write_summary(staging, summary)
    return _finish(Path(out_dir), summary, started)


def run_train(
    weight_dir: str,
    which: str,
    out_dir: str,
    config: ALSConfig,
    warm_start_dir: str | None = None,
) -> dict:
    """Fit ALS on the ``eval`` or ``full`` confidence matrix; write factors.npz.

    ``warm_start_dir`` (a train folder) starts from that model's item factors.
    """
    started = time.perf_counter()
    name = EVAL_CONFIDENCE if which == "eval" else FULL_CONFIDENCE
    matrix = sp.load_npz(Path(weight_dir) / name).tocsr()
    if which == "eval":
        model_users = np.load(Path(weight_dir) / EVAL_USERS, allow_pickle=False)
    else:
        model_users = np.arange(matrix.shape[0])
    initial = None
    if warm_start_dir is not None:
        initial = load_factors(Path(warm_start_dir) / FACTORS_FILE)[0].item_factors
    factors = fit_als(matrix, config, initial_item_factors=initial)
    with step_output(out_dir) as staging:
        save_factors(staging / FACTORS_FILE, factors, config, model_users=model_users)
        summary = {
            "users": int(matrix.shape[0]),
            "items": int(matrix.shape[1]),
            "nnz": int(matrix.nnz),
            "iterations": config.iterations,
            "warm_start": warm_start_dir,
        }
        _write_summary(staging, summary)
    return _finish(Path(out_dir), summary, started)


def run_evaluate(split_dir: str, train_dir: str, out_dir: str, config: RankConfig) -> dict:
    """Evaluation factors + split → metrics.json (model and popularity baseline)."""
    started = time.perf_counter()
    arrays, _, n_items = load_split(split_dir)
    factors, _, extra = load_factors(Path(train_dir) / FACTORS_FILE)
    metrics = evaluate(
        arrays, n_items, factors.user_factors, factors.item_factors, extra["model_users"], config
    )
    with step_output(out_dir) as staging:
        (staging / METRICS_FILE).write_text(json.dumps(metrics, indent=2))
    return _finish(Path(out_dir), {"metrics": metrics}, started)


def run_score(
    split_dir: str, ingest_dir: str, train_dir: str, out_dir: str, config: RankConfig
) -> dict:
    """Full factors → top-k for every user, with external ids, as recommendations.parquet."""
    started = time.perf_counter()
    arrays, n_users, n_items = load_split(split_dir)
    factors, _, _ = load_factors(Path(train_dir) / FACTORS_FILE)
    seen = full_matrix(arrays, n_users, n_items)
    items, scores = score_all_users(seen, factors.user_factors, factors.item_factors, config)
    canonical = read_canonical(ingest_dir)
    table = recommendations_table(
        items,
        scores,
        canonical.users.column("user_id").combine_chunks(),
        canonical.items.column("item_id").combine_chunks(),
    )
    with step_output(out_dir) as staging:
        pq.write_table(table, staging / RECOMMENDATIONS_FILE, row_group_size=256 * 1024)
    return _finish(Path(out_dir), {"rows": table.num_rows, "users": n_users}, started)


def run_publish(
    output_dir: str,
    run_date: dt.date,
    score_dir: str,
    evaluate_dir: str,
    train_dir: str,
    manifest: dict,
    *,
    overwrite: bool = True,
    keep_last: int = 14,
) -> dict:
    """Publish the dated snapshot, then apply retention (``keep_last`` newest dates).

    A date already published with the same fingerprint is kept as it is.

    ``manifest["fingerprint"]`` (input sha256 + parameters + code version) decides whether
    an existing snapshot is "the same run": then nothing is rewritten.
    """
    started = time.perf_counter()
    target = Path(output_dir) / snapshot_name(run_date)
    if (target / MANIFEST_FILE).is_file():
        existing = json.loads((target / MANIFEST_FILE).read_text())
        if existing.get("fingerprint") == manifest.get("fingerprint"):
            return _finish(
                target, {"status": "already published", "snapshot": str(target)}, started
            )
        if not overwrite:
            raise AlreadyPublished(
                f"{target} is already published from other input or parameters (overwrite=false)"
            )
    table = pq.read_table(Path(score_dir) / RECOMMENDATIONS_FILE)
    metrics = json.loads((Path(evaluate_dir) / METRICS_FILE).read_text())
    path = publish_snapshot(
        output_dir,
        run_date,
        table,
        metrics,
        Path(train_dir) / FACTORS_FILE,
        manifest,
        overwrite=True,
    )
    removed = apply_retention(output_dir, keep_last)
    pruned = prune_work(output_dir, manifest.get("work_dirs", []))
    summary = {"status": "published", "snapshot": str(path), "removed": removed, "pruned": pruned}
    return _finish(path, summary, started)


def prune_work(output_dir: str, current: list[str], min_age_s: float = 24 * 3600) -> list[str]:
    """Remove step folders no kept snapshot was built from, once idle for ``min_age_s``.

    Keeps the folders of every published snapshot's manifest (so reruns of kept dates stay
    cached) and of the current run; the age guard spares a concurrent run's fresh folders.
    Only step roots that manifests name are touched.
    """
    keep = {str(Path(d).resolve()) for d in current}
    for name in published_dates(output_dir):
        manifest = json.loads((Path(output_dir) / name / MANIFEST_FILE).read_text())
        keep.update(str(Path(d).resolve()) for d in manifest.get("work_dirs", []))
    step_roots = {Path(d).parent for d in keep}
    now = time.time()
    pruned = []
    for root in step_roots:
        for folder in root.iterdir() if root.is_dir() else []:
            if str(folder.resolve()) in keep or now - folder.stat().st_mtime < min_age_s:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            pruned.append(str(folder))
    return sorted(pruned)
