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


def _pool_top_k(
    raw: np.ndarray,
    bias: np.ndarray,
    sizes: np.ndarray,
    excludes: list[sp.csr_matrix],
    start: int,
    k: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seed 000's pool: blend and rank only each row's top ``sizes[r]`` items by raw score.

    One argpartition finds the widest pool; narrower pools drop candidates below their own
    ``sizes[r]``-th raw score. Everything after works on ``width`` columns, not all items.
    """
    n_rows, n_items = raw.shape
    width = int(min(sizes.max(), n_items))
    candidates = np.argpartition(raw, n_items - width, axis=1)[:, n_items - width :]
    raw_top = np.take_along_axis(raw, candidates, axis=1)
    descending = -np.sort(-raw_top, axis=1)
    threshold = descending[np.arange(n_rows), np.clip(sizes, 1, width) - 1]
    blended = raw_top + bias[candidates]
    blended[raw_top < threshold[:, None]] = -np.inf
    out = []
    for exclude in excludes:
        scores = blended.copy()
        scores[contains(exclude[start : start + n_rows], candidates)] = -np.inf
        top, values = _top_k_of_block(scores, k)
        out.append(
            (
                np.where(
                    top >= 0, np.take_along_axis(candidates, np.maximum(top, 0), 1), -1
                ).astype(np.int32),
                values,
            )
        )
    return out


def top_k_multi(
    user_vectors: np.ndarray,
    item_factors: np.ndarray,
    bias: np.ndarray,
    excludes: list[sp.csr_matrix],
    k: int,
    *,
    pool_sizes: np.ndarray | None = None,
    block_size: int = 2048,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`top_k` for several exclusion matrices at the cost of one GEMM per block."""
    n_users, n_items = len(user_vectors), len(item_factors)
    k = min(k, n_items)
    results = [
        (np.empty((n_users, k), dtype=np.int32), np.empty((n_users, k), dtype=np.float32))
        for _ in excludes
    ]
    item_t = np.ascontiguousarray(item_factors.T, dtype=np.float32)
    bias = bias.astype(np.float32)
    for start in range(0, n_users, block_size):  # one GEMM per block of users
        stop = min(start + block_size, n_users)
        raw = np.asarray(user_vectors[start:stop], dtype=np.float32) @ item_t
        if pool_sizes is not None:
            block_results = _pool_top_k(raw, bias, pool_sizes[start:stop], excludes, start, k)
        else:
            raw += bias
            block_results = []
            for number, exclude in enumerate(excludes):
                scores = raw if number == len(excludes) - 1 else raw.copy()
                _mask_rows(scores, exclude, start, stop)
                block_results.append(_top_k_of_block(scores, k))
        for (items, scores), (block_items, block_scores) in zip(
            results, block_results, strict=True
        ):
            items[start:stop], scores[start:stop] = block_items, block_scores
    return results


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
    return top_k_multi(
        user_vectors, item_factors, bias, [exclude], k, pool_sizes=pool_sizes, block_size=block_size
    )[0]


def top_k_popular(
    bias: np.ndarray, exclude: sp.csr_matrix, k: int
) -> tuple[np.ndarray, np.ndarray]:
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
    found = (
        stored[np.minimum(at, len(stored) - 1)] == asked
        if len(stored)
        else np.zeros_like(asked, bool)
    )
    return found & (columns >= 0)
