"""Per-user splits into train / validation / test, vectorised over group offsets.

Every splitter first collapses repeats: one row per distinct (user, item), its weight the
sum of the repeats' weights and its place the first occurrence in interaction order
(``timestamp`` when present, then ``position``; the table's row order does not matter).
The result has ``user_index``, ``item_index``, ``weight`` and
``part`` (see :class:`recsys_core.columns.Parts`), rows sorted by user then first occurrence.

Users with fewer than ``min_user_items`` distinct items get part ``NOT_EVALUATED`` (-1):
seed mode leaves them out of the evaluation model (as seed 000 does); standard mode trains
on all their items and never evaluates them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from recsys_core.columns import Columns, Parts
from recsys_core.config import SplitConfig


def collapse_repeats(
    user_index: np.ndarray, item_index: np.ndarray, weight: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (user, item) pairs in first-occurrence order within each user.

    Returns ``(user, item, summed_weight, first_row)`` sorted by user, then first occurrence.
    """
    key = user_index.astype(np.int64) * n_items + item_index
    unique_key, first_row, inverse = np.unique(key, return_index=True, return_inverse=True)
    summed = np.bincount(inverse, weights=weight, minlength=len(unique_key))
    users = (unique_key // n_items).astype(np.int32)
    order = np.lexsort((first_row, users))
    return (
        users[order],
        (unique_key % n_items).astype(np.int32)[order],
        summed[order].astype(np.float32),
        first_row[order],
    )


def rank_within_user(users: np.ndarray, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """0-based rank of each row within its (contiguous) user group, and each row's group size."""
    counts = np.bincount(users, minlength=n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(users), dtype=np.int64) - starts[users]
    return rank, counts[users]


def ordered_parts(rank: np.ndarray, size: np.ndarray, config: SplitConfig) -> np.ndarray:
    """Seed 000's cut: train below ``int(0.7n)``, validation below ``int(0.8n)``, test after.

    Examples
    --------
    >>> ordered_parts(np.arange(10), np.full(10, 10), SplitConfig()).tolist()
    [0, 0, 0, 0, 0, 0, 0, 1, 2, 2]
    """
    # floor of the same double product that Python's int(0.7 * n) takes.
    train_cut = np.floor(config.train_cut * size)
    validation_cut = np.floor(config.validation_cut * size)
    parts = np.full(len(rank), Parts.TEST, dtype=np.int8)
    parts[rank < validation_cut] = Parts.VALIDATION
    parts[rank < train_cut] = Parts.TRAIN
    return parts


def random_rank_within_user(users: np.ndarray, n_users: int, seed: int) -> np.ndarray:
    """A seeded random permutation rank (0-based) of each row within its user group."""
    rng = np.random.default_rng(seed)
    shuffled = np.lexsort((rng.random(len(users)), users))
    random_rank = np.empty(len(users), dtype=np.int64)
    random_rank[shuffled], _ = rank_within_user(users[shuffled], n_users)
    return random_rank


def leave_k_out_parts(
    users: np.ndarray, size: np.ndarray, n_users: int, config: SplitConfig
) -> np.ndarray:
    """Seeded leave-k-out (seed 001): k random items to test, k more to validation.

    Users need more than ``2k`` distinct items to be split; others stay in train.
    """
    random_rank = random_rank_within_user(users, n_users, config.random_state)
    parts = np.full(len(users), Parts.TRAIN, dtype=np.int8)
    splittable = size > 2 * config.leave_k
    parts[splittable & (random_rank < 2 * config.leave_k)] = Parts.VALIDATION
    parts[splittable & (random_rank < config.leave_k)] = Parts.TEST
    return parts


def time_cutoff_parts(first_seen: np.ndarray, config: SplitConfig) -> np.ndarray:
    """Train before ``validation_cutoff``, validation before ``test_cutoff``, test after."""
    if config.validation_cutoff is None or config.test_cutoff is None:
        raise ValueError("time_cutoff split needs validation_cutoff and test_cutoff")
    cut_v = pd.Timestamp(config.validation_cutoff, tz="UTC").value // 1000
    cut_t = pd.Timestamp(config.test_cutoff, tz="UTC").value // 1000
    if cut_t < cut_v:
        raise ValueError("test_cutoff must not be before validation_cutoff")
    parts = np.full(len(first_seen), Parts.TEST, dtype=np.int8)
    parts[first_seen < cut_t] = Parts.VALIDATION
    parts[first_seen < cut_v] = Parts.TRAIN
    return parts


def split_interactions(
    interactions: pa.Table, n_users: int, n_items: int, config: SplitConfig
) -> pa.Table:
    """Split canonical interactions per user (see the module docstring for the layout).

    Examples
    --------
    >>> t = pa.table({"user_index": [0] * 6, "item_index": [5, 4, 5, 3, 2, 1],
    ...               "weight": [1.0] * 6, "position": list(range(6))})
    >>> s = split_interactions(t, 1, 6, SplitConfig())
    >>> s.column("item_index").to_pylist(), s.column("part").to_pylist()
    ([5, 4, 3, 2, 1], [0, 0, 0, 1, 2])
    """
    # Interaction order is (timestamp, position), never the table's row order.
    position = interactions.column(Columns.POSITION).to_numpy()
    timestamps = None
    if Columns.TIMESTAMP in interactions.column_names:
        timestamps = interactions.column(Columns.TIMESTAMP).cast(pa.int64()).to_numpy()
        order = np.lexsort((position, timestamps))
    else:
        order = np.argsort(position, kind="stable")
    users, items, weights, first_row = collapse_repeats(
        interactions.column(Columns.USER_INDEX).to_numpy()[order],
        interactions.column(Columns.ITEM_INDEX).to_numpy()[order],
        interactions.column(Columns.WEIGHT).to_numpy().astype(np.float64)[order],
        n_items,
    )
    rank, size = rank_within_user(users, n_users)
    if config.split_strategy == "ordered":
        parts = ordered_parts(rank, size, config)
    elif config.split_strategy == "random_ratio":
        # How public benchmark splits are made: a seeded random 70/10/20 of each user's items.
        random_rank = random_rank_within_user(users, n_users, config.random_state)
        parts = ordered_parts(random_rank, size, config)
    elif config.split_strategy == "leave_k_out":
        parts = leave_k_out_parts(users, size, n_users, config)
    elif config.split_strategy == "time_cutoff":
        if timestamps is None:
            raise ValueError("time_cutoff split needs timestamped interactions")
        parts = time_cutoff_parts(timestamps[order][first_row], config)
    else:
        raise ValueError(f"unknown split strategy {config.split_strategy!r}")
    parts[size < config.min_user_items] = Parts.NOT_EVALUATED
    return pa.table(
        {
            Columns.USER_INDEX: pa.array(users),
            Columns.ITEM_INDEX: pa.array(items),
            Columns.WEIGHT: pa.array(weights),
            Columns.PART: pa.array(parts),
        }
    )
