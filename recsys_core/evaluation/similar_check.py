"""The similar-items lists' own validation figure, next to a popularity baseline, and the
ensemble's similar-items weights chosen by it.

An item page shows the item's similar items; a good list holds what a visitor of that item
goes on to want. Measured on the evaluation model (fitted without validation): for each
sampled evaluated user, the anchor is the last item of their train part (in interaction
order); a hit is a user whose validation items meet the anchor's top-k similar items. The
baseline's "similar items" are the most popular ones (the popularity family's).

As for the user lists, the users are split in two seeded halves
(:func:`~recsys_core.evaluation.protocol.report_half`): an ensemble's similar-items
weights are chosen on the choice half (the grid of the user blend's choice, the user
lists' weights kept unless another point is strictly better), the figures reported on
the other.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from recsys_core.columns import Parts
from recsys_core.data.matrices import SplitArrays, rows_matrix
from recsys_core.evaluation.protocol import report_half
from recsys_core.models.base import Model
from recsys_core.models.blend_choice import CANDIDATES, merged_candidates, weight_grid
from recsys_core.models.ensemble import Ensemble
from recsys_core.models.registry import BASELINE, fit_model
from recsys_core.models.zscore import standardise_rows
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


def _hits(model: Model, anchors: np.ndarray, truth, k: int) -> np.ndarray:
    """Per user, whether their anchor's top-k similar items hold a validation item."""
    unique, where = np.unique(anchors, return_inverse=True)
    items, _ = similar_lists(model, unique, k)
    return contains(truth, items[where]).any(axis=1)


def _rate(hits: np.ndarray) -> tuple[float, float]:
    """Hit rate and its 95 % half-width."""
    if not len(hits):
        return 0.0, 0.0
    spread = float(hits.std(ddof=1)) if len(hits) > 1 else 0.0
    return float(hits.mean()), 1.96 * spread / len(hits) ** 0.5


def similar_weights(
    model: Ensemble, anchors: np.ndarray, truth, k: int, per_member: int = CANDIDATES
) -> tuple[float, ...]:
    """The members' similar-items weights with the most hits on these users (each member's
    rows z-scored once); the user lists' own weights unless a grid point is strictly better.

    As the user blend's choice does, every grid point re-ranks only each member's top
    ``per_member`` items of an anchor (a blend's top-k outside all of them is possible in
    principle and ignored): a full-width top-k per grid point cost 30 s of the sample's
    night."""
    unique, where = np.unique(anchors, return_inverse=True)
    # One more than asked: the anchor itself may be among a member's top items.
    width = min(max(per_member, k) + 1, model.n_items)
    parts, picks = [], []
    for member in model.members:
        part = np.asarray(member.similar_items(unique), dtype=np.float32)
        standardise_rows(part)
        picks.append(np.argpartition(-part, width - 1, axis=1)[:, :width])
        parts.append(part)
    cols, first = merged_candidates(picks)
    allowed = first & (cols != unique[:, None])  # never the item itself
    z = np.stack([np.take_along_axis(part, cols, 1) for part in parts])
    del parts
    listed = min(k, int(allowed.sum(axis=1).min()))

    def hits(weights) -> int:
        scores = np.tensordot(np.asarray(weights, dtype=np.float32), z, axes=1)
        scores[~allowed] = -np.inf
        picked = np.argpartition(-scores, listed - 1, axis=1)[:, :listed]
        top = np.take_along_axis(cols, picked, 1)
        return int(contains(truth, top[where]).any(axis=1).sum())

    best, most = model.weights, hits(model.weights)
    for weights in weight_grid(len(model.members)):
        got = hits(weights)
        if got > most:
            best, most = tuple(float(w) for w in weights), got
    return best


def similar_items_check(
    arrays: SplitArrays, model: Model, k: int, max_users: int = CHECK_USERS
) -> dict:
    """HitRate@k of ``model``'s and popularity's similar items of each sampled evaluated
    user's last train item against their validation items (with 95 % half-widths), on the
    report half; for an ensemble, ``weights`` (family → weight) chosen on the other half."""
    users = arrays.evaluated_users()
    if len(users) > max_users:
        pick = np.random.default_rng(CHECK_SEED).choice(len(users), max_users, replace=False)
        users = users[np.sort(pick)]
    anchors = last_train_items(arrays, users)
    users, anchors = users[anchors >= 0], anchors[anchors >= 0]
    truth = rows_matrix(arrays, arrays.parts == Parts.VALIDATION, users)
    report = report_half(users)
    figures: dict = {"users": int(report.sum()), "k": k}
    if isinstance(model, Ensemble):
        choice = np.flatnonzero(~report)
        weights = similar_weights(model, anchors[choice], truth[choice], k)
        model = replace(model, weights=weights)
        families = [member.family for member in model.members]
        figures["weights"] = dict(zip(families, weights, strict=True))
        figures["choice_users"] = len(choice)
    train = rows_matrix(arrays, arrays.parts == Parts.TRAIN, np.arange(arrays.n_users))
    baseline = fit_model(BASELINE, train, None, np.arange(arrays.n_users))
    reported = np.flatnonzero(report)
    for name, scored in (("model", model), ("popularity", baseline)):
        rate, half_width = _rate(_hits(scored, anchors[reported], truth[reported], k))
        figures[f"{name}_hit_rate@{k}"] = rate
        figures[f"{name}_hit_rate@{k}_ci95"] = half_width
    return figures
