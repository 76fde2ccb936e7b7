"""Recall@k and NDCG@k of every point of the blend's grid, as one compiled kernel.

The blend choice scores each sampled user's few hundred candidates once per member; each
grid point (member weights × a popularity weight) then only re-ranks them. In numpy that
was a weighted sum, a mask and an argpartition over the whole table per point: 594 points
for three members took about 54 s on Gowalla's 5,000-user sample (5.6 s here).

One loop per user computes each weight vector's sum once, adds each popularity weight on
the fly, keeps the top k by insertion (a candidate displaces the k-th only when strictly
higher, so a tie goes to the earlier candidate, the lower item code) and reads the hits'
ranks from that list. The previous grid point's list bounds the next one's k-th score, so
most candidates are rejected by one comparison. Users go to the graph kernels' thread pool
in ranges; each user's figures are computed in one order whatever the split.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from recsys_core.models.chebyshev_kernel import run_in_ranges, thread_pool
from recsys_core.ranking.tiles import compute_threads


@njit(nogil=True, cache=True, boundscheck=False)
def _users(
    z, log_popularity, hits, allowed, n_relevant, weights, popularity, k, recall, ndcg, start, stop
):  # pragma: no cover - compiled
    """recall[u, g] and ndcg[u, g] for users start..stop and every grid point g =
    (weight vector w, popularity weight p): g = w·len(popularity) + p."""
    n_members, n_candidates = z.shape[1], z.shape[2]
    listed = min(k, n_candidates)
    discounts = 1.0 / np.log2(np.arange(2, listed + 2).astype(np.float64))
    ideal = np.zeros(k + 1)
    for rank in range(k):
        ideal[rank + 1] = ideal[rank] + 1.0 / np.log2(rank + 2.0)
    base = np.empty(n_candidates, np.float32)
    top_scores = np.empty(listed, np.float32)
    top_hits = np.empty(listed, np.bool_)
    top_items = np.empty(listed, np.int64)
    n_popularity = popularity.shape[0]
    for user in range(start, stop):
        relevant = n_relevant[user]
        if relevant == 0:
            recall[user, :] = 0.0
            ndcg[user, :] = 0.0
            continue
        ideal_dcg = ideal[min(relevant, k)]
        filled = 0
        for w in range(weights.shape[0]):
            for c in range(n_candidates):
                total = np.float32(0.0)
                for m in range(n_members):
                    total += weights[w, m] * z[user, m, c]
                base[c] = total
            for p in range(n_popularity):
                weight = popularity[p]
                # The previous point's list, rescored, bounds this point's k-th score from
                # below: a candidate under it cannot enter, so most are skipped unsorted.
                floor = -np.inf
                if filled == listed:
                    floor = np.inf
                    for rank in range(listed):
                        c = top_items[rank]
                        floor = min(floor, base[c] + weight * log_popularity[user, c])
                filled = 0
                for c in range(n_candidates):
                    if not allowed[user, c]:
                        continue
                    score = base[c] + weight * log_popularity[user, c]
                    if score < floor or (filled == listed and score <= top_scores[listed - 1]):
                        continue
                    # Insert after every equal or higher score: ties keep candidate order.
                    slot = filled if filled < listed else listed - 1
                    while slot > 0 and top_scores[slot - 1] < score:
                        top_scores[slot] = top_scores[slot - 1]
                        top_hits[slot] = top_hits[slot - 1]
                        top_items[slot] = top_items[slot - 1]
                        slot -= 1
                    top_scores[slot] = score
                    top_hits[slot] = hits[user, c]
                    top_items[slot] = c
                    if filled < listed:
                        filled += 1
                found = 0
                gain = 0.0
                for rank in range(filled):
                    if top_hits[rank]:
                        found += 1
                        gain += discounts[rank]
                point = w * n_popularity + p
                recall[user, point] = found / relevant
                ndcg[user, point] = gain / ideal_dcg


def grid_metrics(
    z: np.ndarray,
    log_popularity: np.ndarray,
    hits: np.ndarray,
    allowed: np.ndarray,
    n_relevant: np.ndarray,
    weights: np.ndarray,
    popularity: np.ndarray,
    k: int,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean recall@k and NDCG@k over the users for every (weight vector, popularity
    weight) pair: two arrays of len(weights) × len(popularity).

    ``z`` is members × users × candidates (z-scores), the other tables users × candidates;
    a blend scores ``w·z + p·log_popularity`` and lists the top k allowed candidates.
    """
    n_users = z.shape[1]
    points = (len(weights), len(popularity))
    if n_users == 0:
        return np.zeros(points), np.zeros(points)
    recall = np.empty((n_users, points[0] * points[1]))
    ndcg = np.empty_like(recall)
    threads = min(threads or compute_threads(), n_users)
    bounds = np.linspace(0, n_users, threads + 1).astype(int)
    run_in_ranges(
        _users,
        [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a],
        thread_pool(threads) if threads > 1 else None,
        np.ascontiguousarray(z.transpose(1, 0, 2), dtype=np.float32),
        np.ascontiguousarray(log_popularity, dtype=np.float32),
        np.ascontiguousarray(hits, dtype=np.bool_),
        np.ascontiguousarray(allowed, dtype=np.bool_),
        np.asarray(n_relevant, dtype=np.int64),
        np.ascontiguousarray(weights, dtype=np.float32),
        np.asarray(popularity, dtype=np.float32),
        int(k),
        recall,
        ndcg,
    )
    return recall.mean(axis=0).reshape(points), ndcg.mean(axis=0).reshape(points)
