"""Top-k lists from factors: blocks of users, one GEMM per block, no per-user loop.

Score of item ``i`` for user ``u``: ``user_u · item_i + bias_i`` with
``bias_i = popularity_weight · log1p(popularity_i)``. Items in ``exclude`` (a users × items
CSR whose rows line up with the user vectors) are never returned. Missing slots (fewer
eligible items than k) hold item -1 and score -inf.

``pool_sizes`` reproduces seed 000: only the ``pool_sizes[u]`` items with the highest
*ALS* score (seen items included) may be recommended, re-ranked by the blended score.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def popularity_bias(popularity: np.ndarray, popularity_weight: float) -> np.ndarray:
    """``popularity_weight · log1p(popularity)`` in float32, as seed 000 computes it."""
    return np.float32(popularity_weight) * np.log1p(popularity.astype(np.float32))


def item_popularity(user_items: sp.csr_matrix) -> np.ndarray:
    """Number of distinct users per item (non-zeros per column)."""
    return np.bincount(user_items.indices, minlength=user_items.shape[1]).astype(np.float32)


def _mask_rows(scores: np.ndarray, exclude: sp.csr_matrix, start: int, stop: int) -> None:
    """Set ``scores[r, j] = -inf`` for every stored (start + r, j) of ``exclude``."""
    indptr = exclude.indptr[start : stop + 1]
    columns = exclude.indices[indptr[0] : indptr[-1]]
    rows = np.repeat(np.arange(stop - start), np.diff(indptr))
    scores[rows, columns] = -np.inf


def _top_k_of_block(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted top-k columns of each row (argpartition, then sort k values)."""
    n_items = scores.shape[1]
    if k < n_items:
        top = np.argpartition(scores, n_items - k, axis=1)[:, n_items - k :]
    else:
        top = np.broadcast_to(np.arange(n_items), scores.shape).copy()
    values = np.take_along_axis(scores, top, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1).astype(np.int32)
    values = np.take_along_axis(values, order, axis=1)
    top[~np.isfinite(values)] = -1
    return top, values


def _pool_thresholds(raw: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Per row, the ``sizes[r]``-th largest raw score (-inf where the pool is every item)."""
    n_items = raw.shape[1]
    largest = int(min(sizes.max(), n_items))
    top_values = np.partition(raw, n_items - largest, axis=1)[:, n_items - largest :]
    top_values.sort(axis=1)
    take = np.clip(sizes, 1, largest)
    thresholds = top_values[np.arange(len(raw)), largest - take]
    thresholds[sizes >= n_items] = -np.inf
    return thresholds


def top_k(
    user_vectors: np.ndarray,
    item_factors: np.ndarray,
    bias: np.ndarray,
    exclude: sp.csr_matrix,
    k: int,
    *,
    pool_sizes: np.ndarray | None = None,
    block_size: int = 2048,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k items and blended scores for every row of ``user_vectors``.

    Returns ``(items, scores)``, both ``(n_users, min(k, n_items))``, best first.
    """
    n_users, n_items = len(user_vectors), len(item_factors)
    k = min(k, n_items)
    items = np.empty((n_users, k), dtype=np.int32)
    scores = np.empty((n_users, k), dtype=np.float32)
    item_t = np.ascontiguousarray(item_factors.T, dtype=np.float32)
    bias = bias.astype(np.float32)
    for start in range(0, n_users, block_size):  # one GEMM per block of users
        stop = min(start + block_size, n_users)
        block = np.asarray(user_vectors[start:stop], dtype=np.float32) @ item_t
        if pool_sizes is not None:
            outside_pool = block < _pool_thresholds(block, pool_sizes[start:stop])[:, None]
            block += bias
            block[outside_pool] = -np.inf
        else:
            block += bias
        _mask_rows(block, exclude, start, stop)
        items[start:stop], scores[start:stop] = _top_k_of_block(block, k)
    return items, scores


def top_k_popular(bias: np.ndarray, exclude: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k by ``bias`` alone (the popularity baseline) without scoring every item.

    Each user's list is the global popularity order minus the user's excluded items, so
    only the first ``k + max excluded`` items of that order can appear.
    """
    n_users, n_items = exclude.shape
    k = min(k, n_items)
    order = np.argsort(-bias, kind="stable").astype(np.int32)
    width = int(min(n_items, k + (np.diff(exclude.indptr).max() if n_users else 0)))
    candidates = np.broadcast_to(order[:width], (n_users, width))
    excluded = contains(exclude, candidates)
    # Stable sort puts each row's allowed candidates first, still in popularity order.
    first = np.argsort(excluded, axis=1, kind="stable")[:, :k]
    items = np.take_along_axis(candidates, first, axis=1).copy()
    valid = ~np.take_along_axis(excluded, first, axis=1)
    items[~valid] = -1
    scores = np.where(valid, bias[np.maximum(items, 0)], -np.inf).astype(np.float32)
    return items, scores


def contains(matrix: sp.csr_matrix, columns: np.ndarray) -> np.ndarray:
    """``out[r, j]`` is True when ``matrix[r, columns[r, j]]`` is stored (-1 never is).

    Vectorised membership: both sides become ``row · n_cols + col`` keys and meet in one
    ``searchsorted`` (CSR keys are sorted once indices are).
    """
    if not matrix.has_sorted_indices:
        matrix = matrix.sorted_indices()
    n_rows, n_cols = matrix.shape
    stored = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(matrix.indptr)) * n_cols
    stored += matrix.indices
    asked = np.arange(n_rows, dtype=np.int64)[:, None] * n_cols + columns
    at = np.searchsorted(stored, asked)
    found = stored[np.minimum(at, len(stored) - 1)] == asked if len(stored) else np.zeros_like(asked, bool)
    return found & (columns >= 0)
