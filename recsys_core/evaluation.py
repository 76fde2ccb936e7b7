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
from typing import TYPE_CHECKING, Literal

import numpy as np
import scipy.sparse as sp

from recsys_core.columns import Parts
from recsys_core.config import EvalProtocol, RankConfig
from recsys_core.matrices import SplitArrays, eval_training_matrix, rows_matrix
from recsys_core.metrics import (
    average_precision_at_k,
    item_coverage,
    mean_over,
    metric_key,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from recsys_core.ranking import (
    contains,
    item_popularity,
    popularity_bias,
    top_k_popular,
    top_k_scored,
)
from recsys_core.scoring import candidate_pool_sizes

if TYPE_CHECKING:
    from recsys_core.models import Model

EvalPart = Literal["validation", "test"]
# Metric tables each part produces: the model's and the popularity baseline's.
PART_TABLES: dict[EvalPart, tuple[str, str]] = {
    "validation": ("validation", "popularity_validation"),
    "test": ("test", "popularity"),
}


def metric_table(
    items: np.ndarray, truth: sp.csr_matrix, k: int, n_items: int, all_users: bool
) -> dict[str, float]:
    """Every metric of :data:`~recsys_core.metrics.METRIC_NAMES` for these lists.

    ``all_users``: the mean runs over every row (empty parts count 0), else over rows with
    a non-empty ``truth``.
    """
    hits = contains(truth, items)
    n_relevant = np.diff(truth.indptr)
    include = None if all_users else n_relevant > 0
    per_user = {
        "recall": recall_at_k(hits, n_relevant),
        "precision": precision_at_k(hits, k),
        "map": average_precision_at_k(hits, n_relevant, k),
        "ndcg": ndcg_at_k(hits, n_relevant, k),
    }
    table = {metric_key(name, k): mean_over(values, include) for name, values in per_user.items()}
    table[metric_key("coverage", k)] = item_coverage(items, n_items)
    return table


@dataclass(frozen=True, slots=True)
class EvaluatedView:
    """The evaluated users as the evaluation model sees them: their model rows (of
    ``model_users``), their train items (what every list excludes), each part's held-out
    items, and the items' train popularity (seed: evaluated users' train only)."""

    model_users: np.ndarray
    rows: np.ndarray
    seen: sp.csr_matrix
    truth: dict[EvalPart, sp.csr_matrix]
    popularity: np.ndarray


def evaluated_view(arrays: SplitArrays, protocol: EvalProtocol) -> EvaluatedView:
    """:class:`EvaluatedView` of a split under ``protocol`` (:func:`eval_training_matrix`)."""
    users = arrays.evaluated_users()
    model_users, model_train = eval_training_matrix(arrays, protocol)
    rows = np.searchsorted(model_users, users)
    truth: dict[EvalPart, sp.csr_matrix] = {
        "validation": rows_matrix(arrays, arrays.parts == Parts.VALIDATION, users),
        "test": rows_matrix(arrays, arrays.parts == Parts.TEST, users),
    }
    return EvaluatedView(model_users, rows, model_train[rows], truth, item_popularity(model_train))


def evaluate(
    arrays: SplitArrays,
    model: Model,
    rank: RankConfig,
    protocol: EvalProtocol,
    parts: tuple[EvalPart, ...] = ("validation", "test"),
) -> dict[str, dict[str, float]]:
    """Metrics of the model and of the popularity baseline on the asked ``parts``.

    ``model`` (any family) is the evaluation model, trained on :func:`eval_training_matrix`. Tables:
    ``validation`` / ``popularity_validation`` and ``test`` / ``popularity``.
    """
    k, n_items = rank.top_k, arrays.n_items
    view = evaluated_view(arrays, protocol)
    if not np.array_equal(view.model_users, model.model_users):
        raise ValueError("the evaluation model was not trained on this split's users")
    rows, seen, truth, popularity = view.rows, view.seen, view.truth, view.popularity
    bias = popularity_bias(popularity, rank.popularity_weight)
    # The baseline ranks by popularity itself, whatever weight the model's blend uses.
    popular_order = popularity_bias(popularity, 1.0)
    # seed: one list serves both parts; standard: the test list also excludes validation.
    one_list = protocol == "seed"
    excluded = {
        "validation": seen,
        "test": seen if one_list else (seen + truth["validation"]).tocsr(),
    }
    distinct = list({id(excluded[part]): excluded[part] for part in parts}.values())
    pool_sizes = candidate_pool_sizes(seen, rank)
    fused = pool_sizes is None  # a seed pool is chosen on raw scores, before the bias
    lists = top_k_scored(
        model.block_scorer(rows, bias if fused else None),
        len(rows),
        n_items,
        bias,
        distinct,
        k,
        pool_sizes=pool_sizes,
        block_size=rank.block_size,
        label="evaluate",
        bias_in_scores=fused,
    )
    popular_lists = [top_k_popular(popular_order, matrix, k)[0] for matrix in distinct]
    tables = {}
    for part in parts:
        which = next(i for i, m in enumerate(distinct) if m is excluded[part])
        model_name, popularity_name = PART_TABLES[part]
        popular = popular_lists[which]
        tables[model_name] = metric_table(lists[which][0], truth[part], k, n_items, one_list)
        tables[popularity_name] = metric_table(popular, truth[part], k, n_items, one_list)
    return tables
