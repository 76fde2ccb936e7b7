"""The similar-items lists' own validation figure, next to a popularity baseline.

An item page shows the item's similar items; a good list holds what a visitor of that item
goes on to want. Measured on the evaluation model (fitted without validation): for each
sampled evaluated user, the anchor is the last item of their train part (in interaction
order); a hit is a user whose validation items meet the anchor's top-k similar items. The
baseline's "similar items" are the most popular ones (the popularity family's).
"""

from __future__ import annotations

import numpy as np

from recsys_core.columns import Parts
from recsys_core.data.matrices import SplitArrays, rows_matrix
from recsys_core.models.base import Model
from recsys_core.models.registry import BASELINE, fit_model
from recsys_core.ranking.topk import contains
from recsys_core.scoring.similar import similar_lists

# Users the check samples: anchors are scored as items, so this bounds its cost.
CHECK_USERS = 2000
CHECK_SEED = 20261202


def last_train_items(arrays: SplitArrays, users: np.ndarray) -> np.ndarray:
    """Each of ``users``' last train item (split rows are in interaction order per user)."""
    train = np.flatnonzero(arrays.parts == Parts.TRAIN)
    owners = arrays.users[train]
    last = np.full(arrays.n_users, -1, dtype=np.int64)
    last[owners] = arrays.items[train]  # later rows overwrite earlier: the last one stays
    return last[users]


def similar_items_check(
    arrays: SplitArrays, model: Model, k: int, max_users: int = CHECK_USERS
) -> dict:
    """HitRate@k of ``model``'s and popularity's similar items of each sampled evaluated
    user's last train item against their validation items (with 95 % half-widths)."""
    users = arrays.evaluated_users()
    if len(users) > max_users:
        pick = np.random.default_rng(CHECK_SEED).choice(len(users), max_users, replace=False)
        users = users[np.sort(pick)]
    anchors = last_train_items(arrays, users)
    users, anchors = users[anchors >= 0], anchors[anchors >= 0]
    truth = rows_matrix(arrays, arrays.parts == Parts.VALIDATION, users)
    train = rows_matrix(arrays, arrays.parts == Parts.TRAIN, np.arange(arrays.n_users))
    baseline = fit_model(BASELINE, train, None, np.arange(arrays.n_users))
    figures: dict[str, float | int] = {"users": len(users), "k": k}
    for name, scored in (("model", model), ("popularity", baseline)):
        unique, where = np.unique(anchors, return_inverse=True)
        items, _ = similar_lists(scored, unique, k)
        hits = contains(truth, items[where]).any(axis=1)
        rate = float(hits.mean()) if len(hits) else 0.0
        figures[f"{name}_hit_rate@{k}"] = rate
        spread = float(hits.std(ddof=1)) if len(hits) > 1 else 0.0
        figures[f"{name}_hit_rate@{k}_ci95"] = 1.96 * spread / max(len(hits), 1) ** 0.5
    return figures
