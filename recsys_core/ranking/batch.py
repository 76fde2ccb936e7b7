"""Batch scoring of every user for serving, as a recommendations table."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from recsys_core.columns import Columns
from recsys_core.config import RankConfig
from recsys_core.ranking.topk import item_popularity, popularity_bias, seed_pool_sizes, top_k_scored

if TYPE_CHECKING:
    from recsys_core.models.registry import Model


def candidate_pool_sizes(seen: sp.csr_matrix, rank: RankConfig) -> np.ndarray | None:
    """Per row, how many of the model's top items may be re-ranked; None: every item.

    ``seed_pool`` is seed 000's ``k + |seen items| + seed_pool_extra``.
    """
    if rank.candidate_pool == "all_items":
        return None
    if rank.candidate_pool == "seed_pool":
        return seed_pool_sizes(seen, rank.top_k, rank.seed_pool_extra)
    raise ValueError(f"unknown candidate_pool {rank.candidate_pool!r}")


def score_all_users(
    user_items: sp.csr_matrix,
    model: Model,
    rank: RankConfig,
    block: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k unseen items per user (rows of ``user_items``, which is also what is excluded);
    only rows ``block = (start, stop)`` when given.

    Popularity comes from all of ``user_items``; ``model`` must have a row per user.
    """
    n_users, n_items = user_items.shape
    if len(model.model_users) != n_users:
        raise ValueError("the serving model needs a row for every user")
    start, stop = block or (0, n_users)
    seen = user_items if block is None else user_items[start:stop]
    bias = popularity_bias(item_popularity(user_items), rank.popularity_weight)
    pool_sizes = candidate_pool_sizes(seen, rank)
    fused = pool_sizes is None  # a seed pool is chosen on raw scores, before the bias
    return top_k_scored(
        model.block_scorer(np.arange(start, stop), bias if fused else None),
        stop - start,
        n_items,
        bias,
        [seen],
        rank.top_k,
        pool_sizes=pool_sizes,
        block_size=rank.block_size,
        label="score",
        bias_in_scores=fused,
    )[0]


def recommendations_table(
    items: np.ndarray, scores: np.ndarray, user_ids: pa.Array, item_ids: pa.Array
) -> pa.Table:
    """Long table ``user_id, rank (1..k), item_id, score`` sorted by user then rank.

    Row ``u`` of ``items`` belongs to ``user_ids[u]``; -1 slots (no eligible item) are dropped.

    Examples
    --------
    >>> t = recommendations_table(np.array([[2, -1], [0, 1]]), np.array([[.9, -np.inf],
    ...     [.8, .7]]), pa.array(["a", "b"]), pa.array([10, 11, 12]))
    >>> t.to_pydict()["item_id"], t.to_pydict()["rank"], t.to_pydict()["user_id"]
    ([12, 10, 11], [1, 1, 2], ['a', 'b', 'b'])
    """
    n_users, k = items.shape
    valid = (items >= 0).ravel()
    user_rows = np.repeat(np.arange(n_users), k)[valid]
    ranks = np.tile(np.arange(1, k + 1, dtype=np.int16), n_users)[valid]
    return pa.table(
        {
            Columns.USER_ID: pc.take(user_ids, pa.array(user_rows)),
            Columns.RANK: pa.array(ranks),
            Columns.ITEM_ID: pc.take(item_ids, pa.array(items.ravel()[valid])),
            Columns.SCORE: pa.array(scores.ravel()[valid].astype(np.float32)),
        }
    )
