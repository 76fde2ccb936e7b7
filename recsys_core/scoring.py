"""Batch scoring of every user for serving, as a recommendations table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from recsys_core.columns import Columns
from recsys_core.config import RankConfig
from recsys_core.ranking import item_popularity, popularity_bias, seed_pool_sizes, top_k


def score_all_users(
    user_items: sp.csr_matrix,
    user_factors: np.ndarray,
    item_factors: np.ndarray,
    config: RankConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k unseen items per user (rows of ``user_items``, which is also what is excluded).

    Popularity comes from ``user_items`` itself. In ``seed`` mode only ALS's top
    ``k + |seen| + 100`` items are re-ranked, as seed 000 does when it writes its file.
    """
    bias = popularity_bias(item_popularity(user_items), config.popularity_weight)
    pool = None
    if config.eval_mode == "seed":
        pool = seed_pool_sizes(user_items, config.top_k, config.seed_pool_extra)
    return top_k(
        user_factors,
        item_factors,
        bias,
        user_items,
        config.top_k,
        pool_sizes=pool,
        block_size=config.block_size,
    )


def recommendations_table(
    items: np.ndarray, scores: np.ndarray, user_ids: pa.Array, item_ids: pa.Array
) -> pa.Table:
    """Long table ``user_id, rank (1..k), item_id, score`` sorted by user then rank.

    Row ``u`` of ``items`` belongs to ``user_ids[u]``; -1 slots (no eligible item) are dropped.
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
