"""The nightly's steps as file-in, file-out functions.

Each writes into the staging folder it is given and returns a small JSON-able summary;
:func:`~recsys_core.pipeline.execute.run_step` reuses a complete step folder or runs the
step into a staged folder that appears whole. A step never knows which runner called it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import scipy.sparse as sp

from recsys_core.columns import Columns, Parts
from recsys_core.config import (
    EnsembleConfig,
    EvalProtocol,
    IngestConfig,
    RankConfig,
    SplitConfig,
    TrainMatrix,
    WeightConfig,
)
from recsys_core.data.matrices import (
    SplitArrays,
    eval_training_matrix,
    full_matrix,
    read_confidence,
    read_split,
    write_split,
)
from recsys_core.data.splitting import split_interactions
from recsys_core.data.weighting import confidence
from recsys_core.errors import InputError
from recsys_core.evaluation.protocol import (
    evaluate,
    evaluated_view,
    evaluation_sample,
    report_half,
)
from recsys_core.evaluation.similar_check import similar_items_check
from recsys_core.io.canonical import read_canonical
from recsys_core.io.ingest import ingest
from recsys_core.io.workdir import (
    EVAL_CONFIDENCE_FILE,
    EVAL_USERS_FILE,
    FALLBACK_FILE,
    FULL_CONFIDENCE_FILE,
    FULL_MATRIX_FILE,
    MODEL_FILE,
    RECOMMENDATIONS_FILE,
    SIMILAR_ITEMS_FILE,
    SPLIT_FILE,
    read_summary,
)
from recsys_core.models.blend_choice import choose_blend, fixed_blend
from recsys_core.models.ensemble import Ensemble
from recsys_core.models.registry import family, family_of, fit_model, load_model, save_model
from recsys_core.models.scoring_cost import scoring_cost, within_budget
from recsys_core.pipeline.blocks import id_maps, load_exclusions, scored_table
from recsys_core.pipeline.inputs import input_checksum
from recsys_core.publishing.snapshot import write_recommendations
from recsys_core.ranking.popular import item_popularity, popularity_bias
from recsys_core.scoring.batch import fallback_lists, fallback_table
from recsys_core.scoring.similar import similar_items_table, similar_lists

log = logging.getLogger(__name__)


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


# The split's parts as the split step's summary names them, in Parts code order.
_PART_NAMES = ("not_evaluated", "train", "validation", "test")


def split_step(staging: Path, *, ingest_dir: str, config: SplitConfig) -> dict:
    """Canonical interactions → split table and the full users × items matrix."""
    canonical = read_canonical(ingest_dir)
    n_users, n_items = canonical.n_users, canonical.n_items
    table = split_interactions(canonical.interactions, n_users, n_items, config)
    write_split(table, n_users, n_items, staging / SPLIT_FILE)
    arrays = SplitArrays.from_table(table, n_users, n_items)
    sp.save_npz(staging / FULL_MATRIX_FILE, full_matrix(arrays), compressed=False)
    codes = (Parts.NOT_EVALUATED, Parts.TRAIN, Parts.VALIDATION, Parts.TEST)
    counts = np.bincount(table.column(Columns.PART).to_numpy() - min(codes), minlength=4)
    rows = {
        name: int(counts[code - min(codes)]) for name, code in zip(_PART_NAMES, codes, strict=True)
    }
    if rows["validation"] == 0 or rows["test"] == 0:
        raise InputError(
            read_summary(ingest_dir)["source"],
            f"users with at least min_user_items={config.min_user_items} interactions, so "
            "that validation and test parts exist",
            got=f"{rows['validation']} validation and {rows['test']} test interactions",
            hint="lower min_user_items, or give more history per user",
        )
    return {"pairs": table.num_rows, **rows, "n_users": n_users, "n_items": n_items}


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


def train_step(
    staging: Path,
    *,
    weight_dir: str,
    matrix: TrainMatrix,
    family: str,
    config: Any,
    warm_start_dir: str | None = None,
) -> dict:
    """Fit model ``family`` with ``config`` on the ``eval`` or ``full`` confidence matrix
    (a graph filter uses its non-zero pattern); write the model file.

    ``warm_start_dir`` (a train folder of the same family) is where the fit continues from.
    """
    users, user_items = read_confidence(weight_dir, matrix)
    warm_from = None
    if warm_start_dir is not None:
        warm_from = load_model(Path(warm_start_dir) / MODEL_FILE)[0]
    model = fit_model(family, user_items, config, users, warm_from=warm_from)
    save_model(staging / MODEL_FILE, model, asdict(config) if is_dataclass(config) else {})
    return {
        "model": family,
        "users": int(user_items.shape[0]),
        "items": int(user_items.shape[1]),
        "nnz": int(user_items.nnz),
        "iterations": getattr(config, "iterations", None),
        "warm_start": warm_start_dir,
    }


def blend_budget_step(
    staging: Path,
    *,
    split_dir: str,
    weight_dir: str,
    configs: Mapping[str, Any],
    budget_s: float,
    protocol: EvalProtocol,
    evaluate_users: int = 0,
) -> dict:
    """Which candidate families (family → its evaluation settings) fit the night's budget:
    each one's stand-in (the fitted model's shapes, nothing fitted) is timed on evaluated
    users and extrapolated to evaluate's (``evaluate_users`` at most) and score's users,
    before any family is fitted."""
    arrays = read_split(Path(split_dir) / SPLIT_FILE)
    evaluated = len(evaluation_sample(arrays.evaluated_users(), protocol, evaluate_users))
    view = evaluated_view(arrays, protocol)
    model_users, user_items = read_confidence(weight_dir, "eval")
    scored_users = evaluated + arrays.n_users  # evaluate's users, then score's
    costs = {
        name: scoring_cost(
            family(name).stand_in(user_items, config, model_users), view.rows, scored_users
        )
        for name, config in configs.items()
    }
    kept, left_out = within_budget(list(configs), costs, budget_s)
    for name, reason in left_out.items():
        log.warning("blend choice: %s left out: %s", name, reason)
    return {"kept": kept, "costs": costs, "left_out": left_out}


def blend_choose_step(
    staging: Path,
    *,
    split_dir: str,
    member_dirs: list[str],
    config: EnsembleConfig,
    top_k: int,
    protocol: EvalProtocol,
    budget: Mapping[str, Any] | None = None,
) -> dict:
    """The ensemble's weights and popularity weight: chosen on a sample of the validation
    users from the fitted evaluation models (``ensemble_choose``), or the fixed ones.
    ``budget``: what :func:`blend_budget_step` found (recorded with the choice)."""
    members = [load_model(Path(folder) / MODEL_FILE)[0] for folder in member_dirs]
    names = [member.family for member in members]
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
            eligible=~report_half(view.users),
        )

    choice = choose(members)
    simpler = [family_of(member).simplified(member) for member in members]
    if any(simple is not member for simple, member in zip(simpler, members, strict=True)):
        # Extras such as a filter's sharpening help some logs and cost others: try without.
        without = choose(simpler)
        extras = choice["validation_sample"][choice["metric"]]
        # A tie goes to the cheaper members, without the extras.
        choice = choice if extras > without["validation_sample"][choice["metric"]] else without
        choice["sharpen"] = choice is not without
        choice["without_sharpening"] = without["validation_sample"]
    recorded = {key: (budget or {}).get(key, {}) for key in ("costs", "left_out")}
    return {**choice, **recorded}


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
    builds the members without their optional extras (the choice found they did not pay)."""
    popularity = item_popularity(read_confidence(weight_dir, matrix)[1])
    loaded = [load_model(Path(member_dirs[name]) / MODEL_FILE) for name in weights]
    members = [member if sharpen else family_of(member).simplified(member) for member, _ in loaded]
    model = Ensemble(
        tuple(members),
        tuple(float(weight) for weight in weights.values()),
        popularity_bias(popularity, popularity_weight),
    )
    params = {
        "members": {name: params for name, (_, params) in zip(weights, loaded, strict=True)},
        "weights": dict(weights),
        "popularity_weight": popularity_weight,
        "sharpen": sharpen,
    }
    save_model(staging / MODEL_FILE, model, params)
    return {"model": model.family, "weights": dict(weights), "popularity_weight": popularity_weight}


def evaluate_step(
    staging: Path,
    *,
    split_dir: str,
    train_dir: str,
    config: RankConfig,
    protocol: EvalProtocol,
    evaluate_users: int = 0,
) -> dict:
    """Evaluation model + split → metrics (the model and the popularity baseline), on every
    evaluated user or a seeded sample of ``evaluate_users``."""
    arrays = read_split(Path(split_dir) / SPLIT_FILE)
    model, _ = load_model(Path(train_dir) / MODEL_FILE)
    return {"metrics": evaluate(arrays, model, config, protocol, max_users=evaluate_users)}


def score_step(
    staging: Path,
    *,
    split_dir: str,
    ingest_dir: str,
    train_dir: str,
    config: RankConfig,
    exclusions: Mapping[str, str] | None = None,
    explain: bool = False,
) -> dict:
    """Serving model → top-k for every user, with external ids, as recommendations.parquet
    (never an item of the ``exclusions`` file; ``explain``: with ``because_item_id``)."""
    seen = sp.load_npz(Path(split_dir) / FULL_MATRIX_FILE).tocsr()
    model, _ = load_model(Path(train_dir) / MODEL_FILE)
    banned = load_exclusions(exclusions, ingest_dir).items
    ids = id_maps(ingest_dir)
    table = scored_table(seen, model, config, ids, banned=banned, explain=explain)
    write_recommendations(table, staging / RECOMMENDATIONS_FILE)
    return {"rows": table.num_rows, "users": seen.shape[0]}


def fallback_step(
    staging: Path,
    *,
    split_dir: str,
    ingest_dir: str,
    top_k: int,
    exclusions: Mapping[str, str] | None = None,
) -> dict:
    """The list an unknown user gets (the most popular items of the run's log, none of the
    ``exclusions``), as fallback.parquet; the summary says how the exclusions matched."""
    seen = sp.load_npz(Path(split_dir) / FULL_MATRIX_FILE).tocsr()
    excluded = load_exclusions(exclusions, ingest_dir)
    table = fallback_table(fallback_lists(seen, top_k, excluded.items), id_maps(ingest_dir)[1])
    pq.write_table(table, staging / FALLBACK_FILE)
    record = None
    if exclusions:
        record = excluded.record(exclusions.get("source", exclusions["path"]), exclusions["sha256"])
    return {"rows": table.num_rows, "exclusions": record}


def similar_check_step(
    staging: Path, *, split_dir: str, train_dir: str, similar_items_k: int
) -> dict:
    """The evaluation model's similar items against popularity's on validation
    (:mod:`recsys_core.evaluation.similar_check`)."""
    arrays = read_split(Path(split_dir) / SPLIT_FILE)
    model, _ = load_model(Path(train_dir) / MODEL_FILE)
    return {"figures": similar_items_check(arrays, model, similar_items_k)}


def similar_items_step(
    staging: Path,
    *,
    split_dir: str,
    ingest_dir: str,
    train_dir: str,
    similar_items_k: int,
    exclusions: Mapping[str, str] | None = None,
    weights: Mapping[str, float] | None = None,
) -> dict:
    """The serving model's top ``similar_items_k`` similar items of every item with an
    interaction (never itself, never one of the ``exclusions``), as similar_items.parquet;
    an ensemble's members blended with ``weights`` (family → weight: the similar-items
    check's choice) when given."""
    seen = sp.load_npz(Path(split_dir) / FULL_MATRIX_FILE).tocsr()
    model, _ = load_model(Path(train_dir) / MODEL_FILE)
    if weights and isinstance(model, Ensemble):
        model = replace(model, weights=tuple(weights[m.family] for m in model.members))
    has_users = item_popularity(seen) > 0
    banned = np.union1d(load_exclusions(exclusions, ingest_dir).items, np.flatnonzero(~has_users))
    queries = np.flatnonzero(has_users)
    lists = similar_lists(model, queries, similar_items_k, banned)
    table = similar_items_table(lists, queries, id_maps(ingest_dir)[1])
    pq.write_table(table, staging / SIMILAR_ITEMS_FILE, write_statistics=True)
    return {"rows": table.num_rows, "items": len(queries)}
