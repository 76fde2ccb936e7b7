"""Item popularity, the bias it becomes, and top-k lists by popularity alone (the
popularity family's ranking, fast: no item is scored)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def popularity_bias(popularity: np.ndarray, popularity_weight: float) -> np.ndarray:
    """``popularity_weight · log1p(popularity)`` in float32, as seed 000 computes it."""
    return np.float32(popularity_weight) * np.log1p(popularity.astype(np.float32))


def item_popularity(user_items: sp.csr_matrix) -> np.ndarray:
    """Number of distinct users per item (non-zeros per column)."""
    return np.bincount(user_items.indices, minlength=user_items.shape[1]).astype(np.float32)


# The popularity baseline ranks most users over the first k + this many popular items.
POPULAR_HEADROOM = 64


def top_k_popular(
    bias: np.ndarray, exclude: sp.csr_matrix, k: int, headroom: int = POPULAR_HEADROOM
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k by ``bias`` alone (the popularity baseline) without scoring every item.

    Each user's list is the first ``k`` items of the global popularity order that the user
    does not exclude. Users with fewer than ``headroom`` excluded items among the first
    ``k + headroom`` of that order (nearly everyone) are ranked over those alone; the rest
    over the first ``k + their excluded count``, which always suffices.
    """
    n_users, n_items = exclude.shape
    k = min(k, n_items)
    order = np.argsort(-bias, kind="stable").astype(np.int32)
    position = np.empty(n_items, dtype=np.int64)
    position[order] = np.arange(n_items)
    counts = np.diff(exclude.indptr)
    owners = np.repeat(np.arange(n_users), counts)
    positions = position[exclude.indices]
    narrow = min(n_items, k + headroom)
    fits = narrow - np.bincount(owners[positions < narrow], minlength=n_users) >= k
    items = np.full((n_users, k), -1, dtype=np.int32)
    for users in (np.flatnonzero(fits), np.flatnonzero(~fits)):
        if len(users):
            width = narrow if fits[users[0]] else min(n_items, k + int(counts[users].max()))
            items[users] = _first_allowed(order, owners, positions, users, n_users, width, k)
    scores = np.where(items >= 0, bias[np.maximum(items, 0)], -np.inf).astype(np.float32)
    return items, scores


def _first_allowed(
    order: np.ndarray,
    owners: np.ndarray,
    positions: np.ndarray,
    users: np.ndarray,
    n_users: int,
    width: int,
    k: int,
) -> np.ndarray:
    """For ``users``, the first ``k`` items of ``order[:width]`` each does not exclude
    (``positions``: the order's position of each excluded entry, ``owners``: its user)."""
    local = np.full(n_users, -1, dtype=np.int64)
    local[users] = np.arange(len(users))
    keep = (positions < width) & (local[owners] >= 0)
    excluded = np.zeros((len(users), width), dtype=bool)
    excluded[local[owners[keep]], positions[keep]] = True
    # A stable sort puts each row's allowed positions first, still in popularity order.
    first = np.argsort(excluded, axis=1, kind="stable")[:, :k]
    items = order[first]
    items[np.take_along_axis(excluded, first, axis=1)] = -1
    return items
