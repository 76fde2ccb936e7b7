"""Offline evaluation of the model and of a popularity-only baseline, batched over users.

The *protocol* (``EvalProtocol``, half of the ``eval_mode`` parameter):

``seed`` reproduces seed 000 exactly, quirks included: one list per user serves both
validation and test (validation items stay candidates at test time); means run over
*all* evaluated users, those with an empty part counting 0; the evaluation model is trained
on evaluated users only.

``standard``: the test list also excludes the user's validation items (they are known by
then); means run over users whose part is non-empty; the evaluation model also trains on
short users' items.

The *candidate pool* (``RankConfig.candidate_pool``, the other half) decides which items a
list may hold: ``seed_pool`` re-ranks only the model's top ``k + |train items| + 100``
items, as seed 000 does; ``all_items`` blends over every item.

Both exclude the user's train items and use the metric definitions in
:mod:`recsys_core.metrics`. Popularity is the number of distinct train users per item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

from recsys_core.columns import Parts
from recsys_core.config import EvalProtocol, RankConfig
from recsys_core.data.matrices import SplitArrays, eval_training_matrix, rows_matrix
from recsys_core.metrics import (
    average_precision_at_k,
    item_coverage,
    mean_over,
    metric_key,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from recsys_core.models.base import Model
from recsys_core.models.registry import BASELINE, fit_model
from recsys_core.ranking.popular import item_popularity
from recsys_core.ranking.topk import contains
from recsys_core.scoring.batch import ranked_lists

EvalPart = Literal["validation", "test"]
# The metrics' key holding each model table's user count and confidence half-widths.
UNCERTAINTY = "uncertainty"
# The evaluated users split once, seeded, into two halves: choices made on validation (the
# ensemble's blend) see only the choice half; the reported and gated validation figures
# (``standard`` protocol) come from the report half, never graded on the users that chose.
HALVES_SEED = 20_26_12_02
# Above this many evaluated users the standard protocol evaluates a seeded sample of them.
SAMPLE_SEED = 7


def report_half(users: np.ndarray) -> np.ndarray:
    """True for the users (dense indices) whose validation figures are reported; the others
    are the choice half. Decided per user by a seeded hash (SplitMix64's finaliser), so a
    user is in the same half whichever subset of users a step looks at.

    Examples
    --------
    >>> half = report_half(np.arange(10_000))
    >>> bool(4_800 < half.sum() < 5_200), bool((report_half(np.arange(10)) == half[:10]).all())
    (True, True)
    """
    mixed = np.asarray(users, dtype=np.uint64) + np.uint64(HALVES_SEED)
    mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    mixed ^= mixed >> np.uint64(31)
    return (mixed >> np.uint64(63)).astype(bool)


# Metric tables each part produces: the model's and the popularity baseline's.
PART_TABLES: dict[EvalPart, tuple[str, str]] = {
    "validation": ("validation", "popularity_validation"),
    "test": ("test", "popularity"),
}


def _per_user(
    items: np.ndarray, truth: sp.csr_matrix, k: int, all_users: bool
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each per-user metric for these lists, and which users the means run over
    (``all_users``: every row, empty parts counting 0; else rows with a non-empty truth)."""
    hits = contains(truth, items)
    n_relevant = np.diff(truth.indptr)
    include = np.ones(len(n_relevant), dtype=bool) if all_users else n_relevant > 0
    per_user = {
        "recall": recall_at_k(hits, n_relevant),
        "precision": precision_at_k(hits, k),
        "map": average_precision_at_k(hits, n_relevant, k),
        "ndcg": ndcg_at_k(hits, n_relevant, k),
    }
    return per_user, include


def metric_table(
    items: np.ndarray, truth: sp.csr_matrix, k: int, n_items: int, all_users: bool
) -> dict[str, float]:
    """Every metric of :data:`~recsys_core.metrics.METRIC_NAMES` for these lists.

    ``all_users``: the mean runs over every row (empty parts count 0), else over rows with
    a non-empty ``truth``.
    """
    per_user, include = _per_user(items, truth, k, all_users)
    table = {metric_key(name, k): mean_over(values, include) for name, values in per_user.items()}
    table[metric_key("coverage", k)] = item_coverage(items, n_items)
    return table


def metric_uncertainty(
    items: np.ndarray, truth: sp.csr_matrix, k: int, all_users: bool
) -> dict[str, float]:
    """How many users a table's means run over and each mean's 95 % confidence half-width
    (1.96 standard errors; coverage is not a mean over users and has none)."""
    per_user, include = _per_user(items, truth, k, all_users)
    users = int(include.sum())
    table: dict[str, float] = {"users": users}
    for name, values in per_user.items():
        spread = float(values[include].std(ddof=1)) if users > 1 else 0.0
        table[f"{metric_key(name, k)}_ci95"] = 1.96 * spread / max(users, 1) ** 0.5
    return table


@dataclass(frozen=True, slots=True)
class EvaluatedView:
    """The evaluated users as the evaluation model sees them: their model rows (of
    ``model_users``), their train items (what every list excludes), each part's held-out
    items, the items' train popularity (seed: evaluated users' train only) and the
    popularity baseline fitted on that train matrix."""

    model_users: np.ndarray
    rows: np.ndarray
    seen: sp.csr_matrix
    truth: dict[EvalPart, sp.csr_matrix]
    popularity: np.ndarray
    baseline: Model

    @property
    def users(self) -> np.ndarray:
        """The evaluated users' dense indices, in the view's order."""
        return self.model_users[self.rows]


def evaluation_sample(users: np.ndarray, protocol: EvalProtocol, max_users: int) -> np.ndarray:
    """The evaluated users the evaluation scores: all of them, or (standard protocol, more
    than ``max_users`` > 0) a seeded sample of ``max_users``, in their order."""
    if not max_users or protocol == "seed" or len(users) <= max_users:
        return users
    sample = np.random.default_rng(SAMPLE_SEED).choice(len(users), max_users, replace=False)
    return users[np.sort(sample)]


def evaluated_view(
    arrays: SplitArrays, protocol: EvalProtocol, max_users: int = 0
) -> EvaluatedView:
    """:class:`EvaluatedView` of a split under ``protocol`` (:func:`eval_training_matrix`):
    every evaluated user, or (standard protocol, more than ``max_users`` > 0 of them) a
    seeded sample of ``max_users``."""
    users = evaluation_sample(arrays.evaluated_users(), protocol, max_users)
    model_users, model_train = eval_training_matrix(arrays, protocol)
    rows = np.searchsorted(model_users, users)
    truth: dict[EvalPart, sp.csr_matrix] = {
        "validation": rows_matrix(arrays, arrays.parts == Parts.VALIDATION, users),
        "test": rows_matrix(arrays, arrays.parts == Parts.TEST, users),
    }
    baseline = fit_model(BASELINE, model_train, None, model_users)
    popularity = item_popularity(model_train)
    return EvaluatedView(model_users, rows, model_train[rows], truth, popularity, baseline)


def part_exclusions(
    view: EvaluatedView, protocol: EvalProtocol, parts: tuple[EvalPart, ...]
) -> tuple[list[sp.csr_matrix], dict[EvalPart, int]]:
    """The distinct exclusion matrices the asked ``parts`` rank under, and each part's index.

    seed: one list serves both parts; standard: the test list also excludes validation.
    """
    excluded = {"validation": view.seen}
    excluded["test"] = (
        view.seen if protocol == "seed" else (view.seen + view.truth["validation"]).tocsr()
    )
    distinct: list[sp.csr_matrix] = []
    which: dict[EvalPart, int] = {}
    for part in parts:
        known = [i for i, matrix in enumerate(distinct) if matrix is excluded[part]]
        if not known:
            distinct.append(excluded[part])
        which[part] = known[0] if known else len(distinct) - 1
    return distinct, which


def model_lists(
    view: EvaluatedView,
    model: Model,
    rank: RankConfig,
    excludes: list[sp.csr_matrix],
    span: tuple[int, int] | None = None,
) -> list[np.ndarray]:
    """The model's top-k items of the evaluated users ``span`` (``(start, stop)`` rows of
    the view; every user when None), one array per exclusion matrix."""
    start, stop = span or (0, len(view.rows))
    if span is not None:
        excludes = [matrix[start:stop] for matrix in excludes]
    seen = view.seen if span is None else view.seen[start:stop]
    rows = view.rows[start:stop]
    lists = ranked_lists(model, rows, seen, excludes, view.popularity, rank, "evaluate")
    return [items for items, _ in lists]


def metric_tables(
    view: EvaluatedView,
    protocol: EvalProtocol,
    exclusions: tuple[list[sp.csr_matrix], dict[EvalPart, int]],
    lists: list[np.ndarray],
    k: int,
) -> dict[str, dict[str, float]]:
    """The model's (``lists``, as :func:`model_lists` returns them for every evaluated user)
    and the popularity baseline's metric tables on the parts of ``exclusions`` (what
    :func:`part_exclusions` returned for the lists)."""
    n_items = view.seen.shape[1]
    excludes, which = exclusions
    # The baseline ranks by its family's rule, whatever popularity weight the model uses.
    popular_lists = model_lists(view, view.baseline, RankConfig(top_k=k), excludes)
    one_list = protocol == "seed"  # seed means run over every evaluated user
    tables: dict[str, dict[str, float]] = {}
    uncertainty: dict[str, dict[str, float]] = {}
    for part in which:
        model_name, popularity_name = PART_TABLES[part]
        # seed reproduces the notebook: every user, validation included.
        users = (
            report_half(view.users)
            if part == "validation" and not one_list
            else np.ones(len(view.rows), dtype=bool)
        )
        truth = view.truth[part][users]
        tables[model_name] = metric_table(lists[which[part]][users], truth, k, n_items, one_list)
        uncertainty[model_name] = metric_uncertainty(lists[which[part]][users], truth, k, one_list)
        tables[popularity_name] = metric_table(
            popular_lists[which[part]][users], truth, k, n_items, one_list
        )
    # Beside the metric tables, not in them: readers of a table see only metrics.
    tables[UNCERTAINTY] = {"evaluated_users": len(view.rows), **uncertainty}  # type: ignore[dict-item]
    return tables


def check_model_users(view: EvaluatedView, model: Model) -> None:
    """The evaluation model must have been trained on this split's users."""
    if not np.array_equal(view.model_users, model.model_users):
        raise ValueError("the evaluation model was not trained on this split's users")


def evaluate(
    arrays: SplitArrays,
    model: Model,
    rank: RankConfig,
    protocol: EvalProtocol,
    parts: tuple[EvalPart, ...] = ("validation", "test"),
    max_users: int = 0,
) -> dict[str, dict[str, float]]:
    """Metrics of the model and of the popularity baseline on the asked ``parts``.

    ``model`` (any family) is the evaluation model, trained on :func:`eval_training_matrix`. Tables:
    ``validation`` / ``popularity_validation`` and ``test`` / ``popularity``. The same
    tables from user blocks: :func:`model_lists` per block, then :func:`metric_tables`.
    """
    view = evaluated_view(arrays, protocol, max_users)
    check_model_users(view, model)
    exclusions = part_exclusions(view, protocol, parts)
    lists = model_lists(view, model, rank, exclusions[0])
    return metric_tables(view, protocol, exclusions, lists, rank.top_k)
