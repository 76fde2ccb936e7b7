"""Offline evaluation of the model and of a popularity-only baseline, batched over users.

Two modes:

``seed`` reproduces seed 000 exactly, quirks included: one list per user serves both
validation and test (validation items stay candidates at test time); the popularity blend
re-ranks only ALS's top ``k + |train items| + 100`` items; means run over *all* evaluated
users, those with an empty part counting 0.

``standard``: the blend covers every item; the test list also excludes the user's
validation items (they are known by then); means run over users whose part is non-empty.

Both exclude the user's train items and use the metric definitions in
:mod:`recsys_core.metrics`. Popularity is the number of distinct train users per item.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys_core.columns import Parts
from recsys_core.config import RankConfig
from recsys_core.matrices import SplitArrays, rows_matrix
from recsys_core.metrics import (
    average_precision_at_k,
    item_coverage,
    mean_over,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from recsys_core.ranking import (
    contains,
    item_popularity,
    popularity_bias,
    seed_pool_sizes,
    top_k,
    top_k_multi,
    top_k_popular,
)

# The metrics every table carries, as ``f"{name}@{k}"`` keys.
METRIC_NAMES = ("recall", "precision", "map", "ndcg", "coverage")


def metric_table(
    items: np.ndarray, truth: sp.csr_matrix, k: int, n_items: int, all_users: bool
) -> dict[str, float]:
    """``{"recall@k": …, "precision@k": …, "map@k": …, "ndcg@k": …, "coverage@k": …}``."""
    hits = contains(truth, items)
    n_relevant = np.diff(truth.indptr)
    include = None if all_users else n_relevant > 0
    return {
        f"recall@{k}": mean_over(recall_at_k(hits, n_relevant), include),
        f"precision@{k}": mean_over(precision_at_k(hits, k), include),
        f"map@{k}": mean_over(average_precision_at_k(hits, n_relevant, k), include),
        f"ndcg@{k}": mean_over(ndcg_at_k(hits, n_relevant, k), include),
        f"coverage@{k}": item_coverage(items, n_items),
    }


def evaluate(
    arrays: SplitArrays,
    n_items: int,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    model_users: np.ndarray,
    config: RankConfig,
) -> dict[str, dict[str, float]]:
    """Metrics of the model (validation, test) and the popularity baseline (both parts).

    ``user_factors[r]`` belongs to dense user ``model_users[r]`` (sorted).
    """
    k = config.top_k
    users = arrays.evaluated_users()
    rows = np.searchsorted(model_users, users)
    train_parts = (
        (Parts.TRAIN,) if config.eval_mode == "seed" else (Parts.TRAIN, Parts.NOT_EVALUATED)
    )
    # The train matrix the model saw; popularity counts it (seed: evaluated users' train only)
    # and the evaluated users' rows of it are what each list excludes.
    model_train = rows_matrix(arrays, np.isin(arrays.parts, train_parts), model_users, n_items)
    seen = model_train[rows]
    validation = rows_matrix(arrays, arrays.parts == Parts.VALIDATION, users, n_items)
    test = rows_matrix(arrays, arrays.parts == Parts.TEST, users, n_items)
    bias = popularity_bias(item_popularity(model_train), config.popularity_weight)
    vectors = user_factors[rows]
    seed = config.eval_mode == "seed"
    if seed:
        pool = seed_pool_sizes(seen, k, config.seed_pool_extra)
        model_items, _ = top_k(
            vectors, item_factors, bias, seen, k, pool_sizes=pool, block_size=config.block_size
        )
        model_test_items = model_items
        pop_items, _ = top_k_popular(bias, seen, k)
        pop_test_items = pop_items
    else:
        seen_by_test = (seen + validation).tocsr()
        (model_items, _), (model_test_items, _) = top_k_multi(
            vectors, item_factors, bias, [seen, seen_by_test], k, block_size=config.block_size
        )
        pop_items, _ = top_k_popular(bias, seen, k)
        pop_test_items, _ = top_k_popular(bias, seen_by_test, k)
    return {
        "validation": metric_table(model_items, validation, k, n_items, seed),
        "test": metric_table(model_test_items, test, k, n_items, seed),
        "popularity": metric_table(pop_test_items, test, k, n_items, seed),
        "popularity_validation": metric_table(pop_items, validation, k, n_items, seed),
    }
