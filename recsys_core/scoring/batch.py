"""The shared ranker every family's lists go through, and batch scoring of every user.

:func:`ranked_lists` applies the family's ranking rule (the registry's): a popularity term
on the model's scores, a seed pool, the exclusions, top-k; or, for a family that ranks by
one global order (popularity), that order minus each user's exclusions.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from recsys_core.columns import Columns
from recsys_core.config import RankConfig
from recsys_core.models.base import Model
from recsys_core.models.registry import family_of
from recsys_core.ranking.popular import item_popularity, popularity_bias, top_k_popular
from recsys_core.ranking.scorer import banning
from recsys_core.ranking.topk import top_k_scored

# The ranked items and their scores, users × k (item -1 / score -inf: no eligible item).
Lists = tuple[np.ndarray, np.ndarray]
NOTHING_BANNED = np.empty(0, dtype=np.int64)


def _drop_banned(lists: Lists) -> Lists:
    """A popularity order reaches banned items (-inf) only once every other item is
    listed: those slots hold no eligible item."""
    items, scores = lists
    items[~np.isfinite(scores)] = -1
    return items, scores


def seed_pool_sizes(seen: sp.csr_matrix, k: int, extra: int) -> np.ndarray:
    """Seed 000's candidate pool per row: ``k + |seen items| + extra`` top model items."""
    return k + np.diff(seen.indptr) + extra


def candidate_pool_sizes(seen: sp.csr_matrix, rank: RankConfig) -> np.ndarray | None:
    """Per row, how many of the model's top items may be re-ranked; None: every item.

    ``seed_pool`` is seed 000's ``k + |seen items| + seed_pool_extra``.
    """
    if rank.candidate_pool == "all_items":
        return None
    if rank.candidate_pool == "seed_pool":
        return seed_pool_sizes(seen, rank.top_k, rank.seed_pool_extra)
    raise ValueError(f"unknown candidate_pool {rank.candidate_pool!r}")


def ranked_lists(
    model: Model,
    rows: np.ndarray,
    seen: sp.csr_matrix,
    excludes: list[sp.csr_matrix],
    popularity: np.ndarray,
    rank: RankConfig,
    label: str,
    banned: np.ndarray = NOTHING_BANNED,
) -> list[Lists]:
    """Top ``rank.top_k`` of model rows ``rows`` for each exclusion matrix (rows line up
    with ``rows``), by the model family's ranking rule; ``seen`` sizes a seed pool and
    ``popularity`` is the popularity term's count per item. ``banned`` items (the run's
    ``exclude_items_path``) are in no list."""
    global_scores = family_of(model).global_scores
    if global_scores is not None:
        order = global_scores(model).copy()
        order[banned] = -np.inf
        return [_drop_banned(top_k_popular(order, exclude, rank.top_k)) for exclude in excludes]
    bias = popularity_bias(popularity, rank.popularity_weight)
    pool_sizes = candidate_pool_sizes(seen, rank)
    fused = pool_sizes is None  # a seed pool is chosen on raw scores, before the bias
    return top_k_scored(
        banning(model.block_scorer(rows, bias if fused else None), banned),
        len(rows),
        model.n_items,
        bias,
        excludes,
        rank.top_k,
        pool_sizes=pool_sizes,
        block_size=rank.block_size,
        label=label,
        bias_in_scores=fused,
    )


def score_all_users(
    user_items: sp.csr_matrix,
    model: Model,
    rank: RankConfig,
    span: tuple[int, int] | None = None,
    banned: np.ndarray = NOTHING_BANNED,
) -> Lists:
    """Top-k unseen items per user (rows of ``user_items``, which is also what is excluded),
    never a ``banned`` item; only rows ``span = (start, stop)`` when given.

    Popularity comes from all of ``user_items``; ``model`` must have a row per user.
    """
    n_users = user_items.shape[0]
    if len(model.model_users) != n_users:
        raise ValueError("the serving model needs a row for every user")
    start, stop = span or (0, n_users)
    seen = user_items if span is None else user_items[start:stop]
    rows = np.arange(start, stop)
    popularity = item_popularity(user_items)
    return ranked_lists(model, rows, seen, [seen], popularity, rank, "score", banned)[0]


def recommendations_table(
    items: np.ndarray,
    scores: np.ndarray,
    user_ids: pa.Array,
    item_ids: pa.Array,
    because: np.ndarray | None = None,
) -> pa.Table:
    """Long table ``user_id, rank (1..k), item_id, score`` sorted by user then rank, and
    ``because_item_id`` from ``because`` (item codes like ``items``; -1: null) when given.

    Row ``u`` of ``items`` belongs to ``user_ids[u]``; -1 slots (no eligible item) are dropped.

    Examples
    --------
    >>> t = recommendations_table(np.array([[2, -1], [0, 1]]), np.array([[.9, -np.inf],
    ...     [.8, .7]]), pa.array(["a", "b"]), pa.array([10, 11, 12]))
    >>> t.to_pydict()["item_id"], t.to_pydict()["rank"], t.to_pydict()["user_id"]
    ([12, 10, 11], [1, 1, 2], ['a', 'b', 'b'])
    """
    table = long_table(items, scores, user_ids, item_ids, Columns.USER_ID, Columns.ITEM_ID)
    table = table.select([Columns.USER_ID, Columns.RANK, Columns.ITEM_ID, Columns.SCORE])
    if because is None:
        return table
    codes = because.ravel()[(items >= 0).ravel()]
    reasons = pc.take(item_ids, pa.array(codes, mask=codes < 0))
    return table.append_column(Columns.BECAUSE_ITEM_ID, reasons)


def long_table(
    items: np.ndarray,
    scores: np.ndarray,
    keys: pa.Array,
    item_ids: pa.Array,
    key_column: str,
    item_column: str,
) -> pa.Table:
    """Lists (rows × k) as a long table ``key_column, item_column, rank, score``: row ``r``
    belongs to ``keys[r]``; -1 slots (no eligible item) are dropped."""
    n_rows, k = items.shape
    valid = (items >= 0).ravel()
    key_rows = np.repeat(np.arange(n_rows), k)[valid]
    ranks = np.tile(np.arange(1, k + 1, dtype=np.int16), n_rows)[valid]
    return pa.table(
        {
            key_column: pc.take(keys, pa.array(key_rows)),
            item_column: pc.take(item_ids, pa.array(items.ravel()[valid])),
            Columns.RANK: pa.array(ranks),
            Columns.SCORE: pa.array(scores.ravel()[valid].astype(np.float32)),
        }
    )


def fallback_lists(user_items: sp.csr_matrix, k: int, banned: np.ndarray = NOTHING_BANNED) -> Lists:
    """The list an unknown user gets: the ``k`` items most users have in ``user_items``
    (the as-of window's log), never a ``banned`` one; one row."""
    popularity = item_popularity(user_items)
    order = popularity_bias(popularity, 1.0)
    order[banned] = -np.inf
    nothing_seen = sp.csr_matrix((1, user_items.shape[1]), dtype=np.float32)
    return _drop_banned(top_k_popular(order, nothing_seen, k))


def fallback_table(lists: Lists, item_ids: pa.Array) -> pa.Table:
    """``rank, item_id, score`` (score: log1p of the item's user count) of the fallback."""
    items, scores = lists
    table = long_table(items, scores, pa.array([0]), item_ids, "_", Columns.ITEM_ID)
    return table.select([Columns.RANK, Columns.ITEM_ID, Columns.SCORE])
