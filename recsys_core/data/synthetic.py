"""Synthetic implicit feedback with planted taste clusters (for tests and benchmarks).

Users belong to one of ``n_clusters`` tastes and mostly pick items of that taste, so a
factor model can beat popularity, and results are reproducible from ``seed``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv


def synthetic_pairs(
    n_users: int = 300,
    n_items: int = 200,
    mean_items: int = 12,
    n_clusters: int = 5,
    seed: int = 0,
    in_taste: float = 0.85,
    length_spread: float = 0.0,
    min_items: int = 3,
    popularity_tail: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(users, items)`` in interaction order, O(interactions) memory and time.

    Each interaction is, with probability ``in_taste``, an item of the user's taste drawn by
    popularity, else any item drawn by popularity. Repeats within a user can occur (the
    splitter collapses them), as in real logs. Items per user: Poisson around
    ``mean_items``, or log-normal with that mean and log-spread ``length_spread`` when
    positive; at least ``min_items``. Item popularity: 1 + Pareto(``popularity_tail``)
    (smaller: a longer tail).
    """
    rng = np.random.default_rng(seed)
    if length_spread > 0:
        centre = np.log(mean_items) - length_spread**2 / 2
        lengths = np.rint(rng.lognormal(centre, length_spread, n_users)).astype(np.int64)
    else:
        lengths = rng.poisson(mean_items, n_users)
    lengths = np.clip(lengths, min_items, max(min_items, n_items // 2))
    user_cluster = rng.integers(0, n_clusters, n_users)
    item_cluster = rng.integers(0, n_clusters, n_items)
    popularity = 1.0 + rng.pareto(popularity_tail, n_items)
    by_cluster = np.argsort(item_cluster, kind="stable")
    cumulative = np.cumsum(popularity[by_cluster])
    bounds = np.searchsorted(item_cluster[by_cluster], np.arange(n_clusters + 1))
    low = np.concatenate([[0.0], cumulative])[bounds[:-1]]
    high = np.concatenate([[0.0], cumulative])[bounds[1:]]
    users = np.repeat(np.arange(n_users), lengths)
    taste = user_cluster[users]
    draw = rng.random(len(users))
    own = rng.random(len(users)) < in_taste
    target = np.where(own, low[taste] + draw * (high[taste] - low[taste]), draw * cumulative[-1])
    picked = np.minimum(np.searchsorted(cumulative, target, side="right"), n_items - 1)
    return users, by_cluster[picked]


# Gowalla's train.txt (29,858 users, 40,981 items, 810,128 check-ins): items per user are
# about log-normal (mean 27, log spread 0.75, at least 8); the top 10 % of items hold 39 %
# of the check-ins, which 1 + Pareto(1.7) popularity reproduces.
GOWALLA_SHAPE = dict(
    n_users=29_858,
    n_items=40_981,
    mean_items=27,
    length_spread=0.75,
    min_items=8,
    popularity_tail=1.7,
)


def gowalla_like_pairs(scale: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A Gowalla-shaped log ``scale`` times its users and items (10: 300k users, 410k
    items, about 8M interactions), one taste cluster per 600 users."""
    n_users = round(GOWALLA_SHAPE["n_users"] * scale)
    return synthetic_pairs(
        **{**GOWALLA_SHAPE, "n_users": n_users, "n_items": round(GOWALLA_SHAPE["n_items"] * scale)},
        n_clusters=max(5, n_users // 600),
        seed=seed,
    )


def write_adjacency(
    path: str | Path, users: np.ndarray, items: np.ndarray, id_offset: int = 0
) -> Path:
    """Write ``user item item …`` lines (ids shifted by ``id_offset``)."""
    path = Path(path)
    boundaries = np.flatnonzero(np.diff(users)) + 1
    lines = [
        " ".join(map(str, np.concatenate([[u[0]], its]) + id_offset))
        for u, its in zip(np.split(users, boundaries), np.split(items, boundaries), strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_events_csv(
    path: str | Path, users: np.ndarray, items: np.ndarray, seed: int = 0, delimiter: str = ","
) -> Path:
    """Seed 001's layout: ``UserID, ProductCode, Event, Timestamp`` with string ids."""
    rng = np.random.default_rng(seed)
    events = np.array(["view", "query_search", "click", "compare"])[rng.integers(0, 4, len(users))]
    start = np.datetime64("2026-01-01T00:00:00")
    times = start + np.arange(len(users)).astype("timedelta64[m]")
    table = pa.table(
        {
            "UserID": [f"u{u:05d}" for u in users],
            "ProductCode": [f"{i:012d}" for i in items],  # leading zeros must survive
            "Event": events,
            "Timestamp": [str(t) for t in times],
        }
    )
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(delimiter=delimiter))
    return Path(path)
