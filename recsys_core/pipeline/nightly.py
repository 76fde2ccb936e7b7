"""The nightly run: its steps as file-in, file-out functions, and their wiring, once.

Each step function writes into a staging folder it is given and returns a small JSON-able
summary. :func:`run_step` is the only caller: it reuses a complete step folder (the cache,
see :mod:`recsys_core.io.workdir`) or runs the step into a staged folder that appears whole.
:func:`run_nightly` wires the steps; *how* a step is run is the caller's ``StepRunner``:
Prefect tasks in the flow (``tasks/runner.py``), plain calls in the benchmark
(:class:`LocalRunner`). Both derive a step's folder from exactly the inputs it is given.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow.parquet as pq
import scipy.sparse as sp

from recsys_core.columns import Columns, Parts
from recsys_core.config import (
    EnsembleConfig,
    EvalProtocol,
    IngestConfig,
    PipelineConfig,
    PublishConfig,
    RankConfig,
    SplitConfig,
    TrainMatrix,
    WeightConfig,
)
from recsys_core.data.matrices import (
    SplitArrays,
    eval_training_matrix,
    full_matrix,
    read_split,
    write_split,
)
from recsys_core.data.splitting import split_interactions
from recsys_core.data.weighting import confidence
from recsys_core.errors import InputError
from recsys_core.evaluation.churn import list_churn
from recsys_core.evaluation.protocol import evaluate, evaluated_view
from recsys_core.io.atomic import sha256_file, staged_folder
from recsys_core.io.canonical import read_canonical
from recsys_core.io.ingest import has_timestamps, ingest, input_files
from recsys_core.io.storage import Store, is_uri, local_input, open_store
from recsys_core.io.workdir import (
    EVAL_CONFIDENCE_FILE,
    EVAL_USERS_FILE,
    FACTORS_FILE,
    FULL_CONFIDENCE_FILE,
    FULL_MATRIX_FILE,
    INPUTS_DIR,
    RECOMMENDATIONS_FILE,
    SPLIT_FILE,
    canonical_json,
    prune_work,
    read_summary,
    reusable,
    step_dir,
    write_summary,
)
from recsys_core.models.als import load_factors, serving_als_config
from recsys_core.models.ensemble import Ensemble, choose_blend, fixed_blend
from recsys_core.models.graph_filter import GraphFilter
from recsys_core.models.registry import (
    Model,
    ModelConfig,
    family_name,
    fit_model,
    load_model,
    save_model,
)
from recsys_core.pipeline.blocks import (
    block_count,
    evaluate_block_step,
    evaluate_merge_step,
    id_maps,
    score_block_step,
    score_merge_step,
    scored_table,
)
from recsys_core.publishing.commit import apply_retention, publish_snapshot
from recsys_core.publishing.quality_gate import QualityGateFailed, judge_against_latest
from recsys_core.publishing.snapshot import (
    REJECTED_DIR,
    Decision,
    publish_decision,
    published_dates,
    read_manifest,
    read_recommendations,
    snapshot_name,
    write_recommendations,
)
from recsys_core.ranking.topk import item_popularity, popularity_bias
from recsys_core.tuning import trials as tuning
from recsys_core.version import core_version, git_commit

# ---------------------------------------------------------------- the steps


def ingest_step(staging: Path, *, input_path: str, input_sha256: str, config: IngestConfig) -> dict:
    """Raw log → canonical interactions + id maps (+ quarantine.parquet when asked).

    ``input_sha256`` names the input's content in the step key, and the bad-rows file of a
    run that failed on too many bad rows: ``<work_dir>/ingest/rejected-<sha>.parquet``
    (the staging folder itself is removed with the failure).
    """
    rejected = staging.parent / f"rejected-{input_sha256[:16]}.parquet"
    summary = asdict(ingest(input_path, staging, config, rejected_path=rejected))
    # The run is keyed and fingerprinted on input_sha256: what was read must be that.
    if input_checksum(input_path) != input_sha256:
        raise InputError(
            input_path,
            "an input that does not change while the run reads it",
            got="different content at the end of ingest than at the start",
            hint="write inputs elsewhere and rename them into place",
        )
    return summary


def split_step(staging: Path, *, ingest_dir: str, config: SplitConfig) -> dict:
    """Canonical interactions → split table and the full users × items matrix."""
    canonical = read_canonical(ingest_dir)
    n_users, n_items = canonical.n_users, canonical.n_items
    table = split_interactions(canonical.interactions, n_users, n_items, config)
    write_split(table, n_users, n_items, staging / SPLIT_FILE)
    arrays = SplitArrays.from_table(table, n_users, n_items)
    sp.save_npz(staging / FULL_MATRIX_FILE, full_matrix(arrays), compressed=False)
    parts = np.bincount(table.column(Columns.PART).to_numpy() - Parts.NOT_EVALUATED, minlength=4)
    if parts[2] == 0 or parts[3] == 0:
        raise InputError(
            read_summary(ingest_dir)["source"],
            f"users with at least min_user_items={config.min_user_items} interactions, so "
            "that validation and test parts exist",
            got=f"{int(parts[2])} validation and {int(parts[3])} test interactions",
            hint="lower min_user_items, or give more history per user",
        )
    return {
        "pairs": table.num_rows,
        "not_evaluated": int(parts[0]),
        "train": int(parts[1]),
        "validation": int(parts[2]),
        "test": int(parts[3]),
        "n_users": n_users,
        "n_items": n_items,
    }


def weight_step(
    staging: Path, *, split_dir: str, config: WeightConfig, protocol: EvalProtocol
) -> dict:
    """Split → BM25 + alpha confidence matrices for the evaluation and the serving model."""
    eval_users, train = eval_training_matrix(read_split(Path(split_dir) / SPLIT_FILE), protocol)
    full = sp.load_npz(Path(split_dir) / FULL_MATRIX_FILE).tocsr()
    sp.save_npz(staging / EVAL_CONFIDENCE_FILE, confidence(train, config), compressed=False)
    np.save(staging / EVAL_USERS_FILE, eval_users, allow_pickle=False)
    sp.save_npz(staging / FULL_CONFIDENCE_FILE, confidence(full, config), compressed=False)
    return {"eval_users": len(eval_users), "eval_nnz": int(train.nnz), "full_nnz": int(full.nnz)}


_CONFIDENCE_FILES: Mapping[TrainMatrix, str] = {
    "eval": EVAL_CONFIDENCE_FILE,
    "full": FULL_CONFIDENCE_FILE,
}


def train_step(
    staging: Path,
    *,
    weight_dir: str,
    matrix: TrainMatrix,
    config: ModelConfig,
    warm_start_dir: str | None = None,
) -> dict:
    """Fit the model family ``config`` names on the ``eval`` or ``full`` confidence matrix
    (a graph filter uses its non-zero pattern); write the model file.

    ``warm_start_dir`` (an ALS train folder) starts from that model's item factors.
    """
    user_items = _confidence_matrix(weight_dir, matrix)
    if matrix == "eval":
        users = np.load(Path(weight_dir) / EVAL_USERS_FILE, allow_pickle=False)
    else:
        users = np.arange(user_items.shape[0])
    initial = None
    if warm_start_dir is not None:
        initial = load_factors(Path(warm_start_dir) / FACTORS_FILE)[0].item_factors
    model = fit_model(user_items, config, users, initial_item_factors=initial)
    save_model(staging / FACTORS_FILE, model, asdict(config))
    return {
        "model": type(config).__name__,
        "users": int(user_items.shape[0]),
        "items": int(user_items.shape[1]),
        "nnz": int(user_items.nnz),
        "iterations": getattr(config, "iterations", None),
        "warm_start": warm_start_dir,
    }


def _confidence_matrix(weight_dir: str, matrix: TrainMatrix) -> sp.csr_matrix:
    if matrix not in _CONFIDENCE_FILES:
        raise ValueError(f"matrix must be one of {', '.join(_CONFIDENCE_FILES)}, got {matrix!r}")
    return sp.load_npz(Path(weight_dir) / _CONFIDENCE_FILES[matrix]).tocsr()


def blend_choose_step(
    staging: Path,
    *,
    split_dir: str,
    member_dirs: list[str],
    config: EnsembleConfig,
    top_k: int,
    protocol: EvalProtocol,
) -> dict:
    """The ensemble's weights and popularity weight: chosen on a sample of the validation
    users from the fitted evaluation models (``ensemble_choose``), or the fixed ones."""
    members = [load_model(Path(folder) / FACTORS_FILE)[0] for folder in member_dirs]
    names = [family_name(member) for member in members]
    if not config.ensemble_choose:
        return fixed_blend(names, config)
    view = evaluated_view(read_split(Path(split_dir) / SPLIT_FILE), protocol)

    def choose(candidates: list) -> dict:
        return choose_blend(
            candidates,
            names,
            view.rows,
            view.seen,
            view.truth["validation"],
            view.popularity,
            top_k,
            config,
        )

    choice = choose(members)
    if any(getattr(member, "sharpen_steps", 0) for member in members):
        # Sharpening helps some logs and costs others: try the filter without it too.
        without = choose([without_sharpening(member) for member in members])
        sharpened = choice["validation_sample"][choice["metric"]]
        # A tie goes to the cheaper filter, without sharpening.
        choice = choice if sharpened > without["validation_sample"][choice["metric"]] else without
        choice["sharpen"] = choice is not without
        choice["without_sharpening"] = without["validation_sample"]
    return choice


def without_sharpening(model: Model) -> Model:
    """The model with a graph filter's sharpening off (others as they are)."""
    return replace(model, sharpen_steps=0) if isinstance(model, GraphFilter) else model


def blend_step(
    staging: Path,
    *,
    weight_dir: str,
    matrix: TrainMatrix,
    member_dirs: Mapping[str, str],
    weights: Mapping[str, float],
    popularity_weight: float,
    sharpen: bool = True,
) -> dict:
    """The ensemble's model file: the members with a weight (family → fitted folder) and
    the popularity term of the ``eval`` or ``full`` training matrix; ``sharpen`` False
    turns a graph filter's sharpening off (the choice found it did not pay)."""
    popularity = item_popularity(_confidence_matrix(weight_dir, matrix))
    loaded = [load_model(Path(member_dirs[name]) / FACTORS_FILE) for name in weights]
    keep = (lambda model: model) if sharpen else without_sharpening
    model = Ensemble(
        tuple(keep(member) for member, _ in loaded),
        tuple(float(weight) for weight in weights.values()),
        popularity_bias(popularity, popularity_weight),
    )
    params = {
        "members": {name: params for name, (_, params) in zip(weights, loaded, strict=True)},
        "weights": dict(weights),
        "popularity_weight": popularity_weight,
        "sharpen": sharpen,
    }
    save_model(staging / FACTORS_FILE, model, params)
    return {"model": "Ensemble", "weights": dict(weights), "popularity_weight": popularity_weight}


def evaluate_step(
    staging: Path, *, split_dir: str, train_dir: str, config: RankConfig, protocol: EvalProtocol
) -> dict:
    """Evaluation factors + split → metrics.json (model and popularity baseline)."""
    arrays = read_split(Path(split_dir) / SPLIT_FILE)
    model, _ = load_model(Path(train_dir) / FACTORS_FILE)
    return {"metrics": evaluate(arrays, model, config, protocol)}


def score_step(
    staging: Path, *, split_dir: str, ingest_dir: str, train_dir: str, config: RankConfig
) -> dict:
    """Serving factors → top-k for every user, with external ids, as recommendations.parquet."""
    seen = sp.load_npz(Path(split_dir) / FULL_MATRIX_FILE).tocsr()
    model, _ = load_model(Path(train_dir) / FACTORS_FILE)
    table = scored_table(seen, model, config, id_maps(ingest_dir))
    write_recommendations(table, staging / RECOMMENDATIONS_FILE)
    return {"rows": table.num_rows, "users": seen.shape[0]}


STEPS: Mapping[str, Callable[..., dict]] = {
    "ingest": ingest_step,
    "split": split_step,
    "weight": weight_step,
    "train-eval": train_step,
    "evaluate": evaluate_step,
    "train-full": train_step,
    "score": score_step,
    "blend-choose": blend_choose_step,
    "blend": blend_step,
    "sweep-chain": tuning.sweep_chain_step,
    "trial-evaluate": tuning.trial_evaluate_step,
    "gf-trial-evaluate": tuning.gf_trial_evaluate_step,
    "evaluate-block": evaluate_block_step,
    "evaluate-merge": evaluate_merge_step,
    "score-block": score_block_step,
    "score-merge": score_merge_step,
}


def run_step(step: str, out_dir: str, **inputs: Any) -> dict:
    """Run ``step`` into ``out_dir``, or reuse ``out_dir`` when it is complete.

    Returns the step's summary plus ``dir``, ``seconds`` and ``reused``.
    """
    started = time.perf_counter()
    reused = reusable(out_dir)
    if reused:
        summary = read_summary(out_dir)
    else:
        with staged_folder(out_dir) as staging:
            summary = STEPS[step](staging, **inputs)
            write_summary(staging, summary)
    seconds = round(time.perf_counter() - started, 3)
    return {**summary, "dir": out_dir, "seconds": seconds, "reused": reused}


def publish_step(
    *,
    publish: PublishConfig,
    score_dir: str,
    evaluate_dir: str,
    train_dir: str,
    manifest: dict,
    work_dir: str,
) -> dict:
    """Publish the dated snapshot (see ``snapshot.publish_decision``), then apply retention
    and prune work-dir folders no kept snapshot came from."""
    started = time.perf_counter()
    output = open_store(publish.output_dir)
    metrics = read_summary(evaluate_dir)["metrics"]
    files = (Path(score_dir) / RECOMMENDATIONS_FILE, metrics, Path(train_dir) / FACTORS_FILE)
    decision = publish_decision(
        output, publish.run_date, manifest["fingerprint"], publish.overwrite, publish.started_at
    )
    if decision in (Decision.PUBLISH, Decision.REPLACE):  # a no-op rerun judges nothing
        manifest = judged_manifest(output, publish, manifest, files)
    decision, location = publish_snapshot(
        output,
        publish.run_date,
        *files,
        manifest,
        overwrite=publish.overwrite,
        started_at=publish.started_at,
    )
    removed = apply_retention(output, publish.keep_last)
    keep = set(manifest["work_dirs"])
    for name in published_dates(output):
        keep.update(read_manifest(output.child(name)).get("work_dirs", []))
    pruned = prune_work(work_dir, keep)
    return {
        "status": str(decision),
        "snapshot": location,
        "quality_gate": manifest.get("quality_gate"),
        "removed": removed,
        "pruned": pruned,
        "seconds": round(time.perf_counter() - started, 3),
    }


def judged_manifest(
    output: Store, publish: PublishConfig, manifest: dict, files: tuple[Path, dict, Path]
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
        _, kept_at = publish_snapshot(rejected, publish.run_date, *files, manifest)
        apply_retention(rejected, publish.keep_last)
        raise QualityGateFailed(verdict, kept_at)
    return manifest


def churn_since_previous(output: Store, run_date: dt.date, recommendations: Path) -> dict | None:
    """:func:`~recsys_core.evaluation.churn.list_churn` against the newest published date before
    ``run_date`` (None when there is none)."""
    earlier = [name for name in published_dates(output) if name < snapshot_name(run_date)]
    if not earlier:
        return None
    previous = read_recommendations(output, earlier[-1].removeprefix("dt="))
    current = pq.read_table(recommendations)
    return {"previous": earlier[-1], **list_churn(previous, current)}


# ---------------------------------------------------------------- the wiring


class StepRunner(Protocol):
    """Runs one step given exactly its inputs; a folder step's folder is derived from them.

    ``map`` runs one step over many inputs (concurrently where the runner can); ``blocks``
    runs a step's user blocks (on a cluster where the runner has one).
    ``work_dir`` is the local folder the step folders go under.
    """

    work_dir: str | Path

    def __call__(self, step: str, **inputs: Any) -> dict: ...

    def map(self, step: str, many: list[dict[str, Any]]) -> list[dict]: ...

    def blocks(self, step: str, many: list[dict[str, Any]]) -> list[dict]: ...


@dataclass
class LocalRunner:
    """Runs steps in this process (benchmarks, notebooks); ``measure(step, call)`` wraps
    each call (timing, memory)."""

    work_dir: str | Path
    measure: Callable[[str, Callable[[], dict]], dict] = field(default=lambda step, call: call())

    def __call__(self, step: str, **inputs: Any) -> dict:
        if step == "publish":
            call = lambda: publish_step(**inputs, work_dir=str(self.work_dir))  # noqa: E731
        else:
            out_dir = step_dir(self.work_dir, step, inputs)
            call = lambda: run_step(step, out_dir, **inputs)  # noqa: E731
        return self.measure(step, call)

    def map(self, step: str, many: list[dict[str, Any]]) -> list[dict]:
        return [self(step, **inputs) for inputs in many]

    def blocks(self, step: str, many: list[dict[str, Any]]) -> list[dict]:
        return self.map(step, many)


def fingerprint(input_sha256: str, configs: PipelineConfig) -> str:
    """What makes two runs "the same": input content, every content parameter, code.

    The family not in use (ALS settings of a graph-filter run, and the reverse) is left
    out: changing it does not change the snapshot.
    """
    unused = {"als": {"graph_filter", "ensemble"}, "graph_filter": {"als", "ensemble"}}
    content = {k: v for k, v in _fields(configs).items() if k not in unused.get(configs.model, ())}
    payload = f"{input_sha256}|{canonical_json(content)}|{core_version()}"
    return hashlib.sha256(payload.encode()).hexdigest()


def model_record(family: str, choice: dict | None) -> dict:
    """What the manifest says about the model behind the lists: its family and, for an
    ensemble, the blend chosen (or fixed) this run, without the whole grid."""
    if choice is None:
        return {"family": family}
    left_out = {"grid", "dir", "reused", "seconds"}  # the whole grid is in the step folder
    return {"family": family, "blend": {k: v for k, v in choice.items() if k not in left_out}}


def ranking_config(configs: PipelineConfig) -> RankConfig:
    """How lists are ranked: a graph filter blends popularity on its own scale, and an
    ensemble's model file carries its own popularity term."""
    if configs.model == "graph_filter":
        return replace(configs.rank, popularity_weight=configs.graph_filter.gf_popularity_weight)
    if configs.model == "ensemble":
        return replace(configs.rank, popularity_weight=0.0)
    return configs.rank


def member_configs(configs: PipelineConfig) -> dict[str, tuple[ModelConfig, ModelConfig]]:
    """Each single family's (evaluation, serving) fit settings. A graph filter has no
    training schedule: its serving fit is the same SVD on all data."""
    return {
        "als": (configs.als, serving_als_config(configs.als, configs.serving)),
        "graph_filter": (configs.graph_filter, configs.graph_filter),
    }


def _train_full(
    run: StepRunner, configs: PipelineConfig, family: str, weight_dir: str, results: dict
) -> dict:
    """The serving fit of one family; a ``warm`` ALS starts from its evaluation model."""
    eval_dir = results.get(f"train-eval:{family}", results.get("train-eval"))["dir"]
    warm = family == "als" and configs.serving.full_schedule == "warm"
    return run(
        "train-full",
        weight_dir=weight_dir,
        matrix="full",
        config=member_configs(configs)[family][1],
        warm_start_dir=eval_dir if warm else None,
    )


def _ensemble_models(
    run: StepRunner,
    configs: PipelineConfig,
    split_dir: str,
    weight_dir: str,
    matrix: TrainMatrix,
    results: dict | None = None,
) -> dict[str, dict]:
    """The ensemble's fits and model file for ``matrix``: at ``eval``, each member's
    evaluation fit and the blend's choice; at ``full``, the serving fits of the members the
    choice kept. Result keys: ``train-<matrix>:<family>``, ``blend-choose``, and
    ``train-<matrix>`` for the blended model (what evaluate and score read)."""
    done: dict[str, dict] = {}
    if matrix == "eval":
        for family, (config, _) in member_configs(configs).items():
            done[f"train-eval:{family}"] = run(
                "train-eval", weight_dir=weight_dir, matrix="eval", config=config
            )
        done["blend-choose"] = run(
            "blend-choose",
            split_dir=split_dir,
            member_dirs=[done[f"train-eval:{f}"]["dir"] for f in member_configs(configs)],
            config=configs.ensemble,
            top_k=configs.rank.top_k,
            protocol=configs.eval_protocol,
        )
        choice = done["blend-choose"]
    else:
        choice = results["blend-choose"]
        for family, weight in choice["weights"].items():
            if weight > 0:
                done[f"train-full:{family}"] = _train_full(
                    run, configs, family, weight_dir, results
                )
    kept = {family: w for family, w in choice["weights"].items() if w > 0}
    done[f"train-{matrix}"] = run(
        "blend",
        weight_dir=weight_dir,
        matrix=matrix,
        member_dirs={family: done[f"train-{matrix}:{family}"]["dir"] for family in kept},
        weights=kept,
        popularity_weight=choice["popularity_weight"],
        sharpen=choice.get("sharpen", True),
    )
    return done


def _fields(config: Any) -> dict[str, Any]:
    return {item.name: getattr(config, item.name) for item in fields(config)}


def fetch_input(input_path: str | Path, work_dir: str | Path) -> tuple[str, str]:
    """(where the input is, as the manifest records it; a local file with its bytes).

    A remote input (a URI) is downloaded under ``<work_dir>/inputs`` on every run.
    """
    source = str(input_path) if is_uri(input_path) else str(Path(input_path).resolve())
    return source, str(local_input(source, Path(work_dir) / INPUTS_DIR))


def input_checksum(input_path: str | Path) -> str:
    """sha256 of the input: of the file, or for a folder or glob of each file's name and
    sha256 in reading order. A missing input fails with an :class:`InputError`."""
    files = input_files(input_path)
    if len(files) == 1 and Path(input_path).is_file():
        return sha256_file(files[0])
    listing = "".join(f"{path.name}\0{sha256_file(path)}\n" for path in files)
    return hashlib.sha256(listing.encode()).hexdigest()


def _in_blocks(
    run: StepRunner, step: str, blocks: int, inputs: dict[str, Any], merge: dict[str, Any]
) -> dict:
    """``step`` on every user, or in ``blocks`` user blocks merged by ``<step>-merge``
    (given the blocks' folders and ``merge``)."""
    if blocks == 1:
        return run(step, **inputs)
    done = run.blocks(f"{step}-block", [{**inputs, "block": (i, blocks)} for i in range(blocks)])
    return run(f"{step}-merge", block_dirs=[block["dir"] for block in done], **merge)


def run_nightly(
    run: StepRunner,
    configs: PipelineConfig,
    input_path: str | Path,
    publish: PublishConfig | None = None,
    params_record: Mapping[str, Any] | None = None,
    manifest_extra: Mapping[str, Any] | None = None,
    user_blocks: int = 1,
) -> dict[str, dict]:
    """ingest → split → weight → train-eval → evaluate → train-full → score (→ publish).

    Returns each step's result by name. ``params_record`` (the flat parameters) and
    ``manifest_extra`` go into the manifest as they were given. ``user_blocks``: evaluate
    and score in that many user blocks (0: :func:`~recsys_core.pipeline.blocks.block_count`), run
    by the runner's ``blocks``; the lists are the same for any count.
    """
    source, local = fetch_input(input_path, run.work_dir)
    input_sha = input_checksum(local)
    ingest_config, uncut = configs.ingest, None
    if ingest_config.time_window is not None and not has_timestamps(local, ingest_config):
        # No event times, nothing to cut: leave the date out of the step keys, so an
        # unchanged log is not re-ingested (and everything after it refit) every date.
        start, end = ingest_config.time_window
        uncut = {"start": start, "end": end, "applied": False, "reason": "no timestamps"}
        ingest_config = replace(ingest_config, time_window=None)
    results: dict[str, dict] = {}
    results["ingest"] = run(
        "ingest", input_path=local, input_sha256=input_sha, config=ingest_config
    )
    results["split"] = run("split", ingest_dir=results["ingest"]["dir"], config=configs.split)
    split_dir = results["split"]["dir"]
    results["weight"] = run(
        "weight", split_dir=split_dir, config=configs.weight, protocol=configs.eval_protocol
    )
    weight_dir = results["weight"]["dir"]
    rank = ranking_config(configs)
    if configs.model == "ensemble":
        results.update(_ensemble_models(run, configs, split_dir, weight_dir, "eval"))
    else:
        config = member_configs(configs)[configs.model][0]
        results["train-eval"] = run(
            "train-eval", weight_dir=weight_dir, matrix="eval", config=config
        )
    blocks = block_count(results["ingest"]["users"], user_blocks)
    evaluated = dict(split_dir=split_dir, config=rank, protocol=configs.eval_protocol)
    results["evaluate"] = _in_blocks(
        run, "evaluate", blocks, {**evaluated, "train_dir": results["train-eval"]["dir"]}, evaluated
    )
    if configs.model == "ensemble":
        results.update(_ensemble_models(run, configs, split_dir, weight_dir, "full", results))
    else:
        results["train-full"] = _train_full(run, configs, configs.model, weight_dir, results)
    scored = dict(
        split_dir=split_dir,
        ingest_dir=results["ingest"]["dir"],
        train_dir=results["train-full"]["dir"],
        config=rank,
    )
    results["score"] = _in_blocks(run, "score", blocks, scored, {})
    if publish is None:
        return results
    manifest = {
        "input_path": source,
        "input_sha256": input_sha,
        "params": dict(params_record or {}) | {"run_date": publish.run_date.isoformat()},
        "code_version": {"core": core_version(), "git": git_commit()},
        "fingerprint": fingerprint(input_sha, configs),
        # Step folders this snapshot came from: work-dir pruning keeps these.
        "work_dirs": [step["dir"] for step in results.values()],
        **(manifest_extra or {}),
        "input_files": results["ingest"]["files"],
        "window": results["ingest"]["window"] or uncut,
        "model": model_record(configs.model, results.get("blend-choose")),
        "rows": {
            "interactions": results["ingest"]["rows"],
            "users": results["ingest"]["users"],
            "items": results["ingest"]["items"],
            "bad_rows": results["ingest"]["bad_rows"],
            "train": results["split"]["train"],
            "validation": results["split"]["validation"],
            "test": results["split"]["test"],
        },
    }
    results["publish"] = run(
        "publish",
        publish=publish,
        score_dir=results["score"]["dir"],
        evaluate_dir=results["evaluate"]["dir"],
        train_dir=results["train-full"]["dir"],
        manifest=manifest,
    )
    return results
