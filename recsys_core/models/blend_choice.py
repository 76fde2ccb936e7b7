"""How the ensemble's blend is chosen: a per-user z-score blend of fitted members.

:func:`choose_blend` picks the weights (a grid on the simplex, so each single member is a
candidate too) and the popularity weight on a seeded sample of the validation users. The
members are already fitted for evaluation, so the choice costs one scoring of the sample
per member; every grid point then re-ranks a few hundred candidates per user.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys_core.config import EnsembleConfig
from recsys_core.metrics import metric_key
from recsys_core.models.base import Model
from recsys_core.models.blend_grid import grid_metrics
from recsys_core.models.ensemble import Ensemble
from recsys_core.models.zscore import standardise_rows
from recsys_core.ranking.tiles import block_workers, chunk_layout, tile_rows
from recsys_core.ranking.topk import contains

log = logging.getLogger(__name__)

# The choice's grid: member weights in steps of WEIGHT_STEP on the simplex, and these
# popularity weights (z-score units per log1p of a user count; on Gowalla's validation
# NDCG@20 rises up to about 1 and falls after; on a dense log 1.5 still gains).
WEIGHT_STEP = 0.1
POPULARITY_GRID = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
# Candidates per member and user the grid re-ranks; a blend's top-k outside every member's
# top 200 (and the 200 most popular items) is possible in principle and ignored.
CANDIDATES = 200
# Users a worker scores at a time, capped like the ranking's tiles: a block holds each
# member's z-scores plus a full-width argpartition (about 20 bytes a cell), so 1,024 users
# of a 410k-item catalogue took 20 GB; 128 (tile_rows) take 1.1 GB. One block per worker
# (tiles.block_workers): 512 keeps two workers near one 1,024-user block's memory, and the
# same on every machine, so the choice does not depend on the core count.
CHOICE_BLOCK = 512


def weight_grid(n_members: int, step: float = WEIGHT_STEP) -> np.ndarray:
    """Every weight vector on the simplex in steps of ``step`` (rows sum to 1).

    Examples
    --------
    >>> weight_grid(2, 0.5).tolist()
    [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]
    """
    steps = round(1 / step)
    points = [
        (*head, steps - sum(head))
        for head in itertools.product(range(steps + 1), repeat=n_members - 1)
        if sum(head) <= steps
    ]
    return np.array(points, dtype=np.float64) / steps


@dataclass(frozen=True, slots=True)
class Candidates:
    """Per sampled user, a few hundred candidate items: each member's z-score and the
    item's log1p popularity, whether it is a hit, and whether it may be listed at all
    (not seen, not a repeat)."""

    z: np.ndarray  # members × users × candidates
    log_popularity: np.ndarray  # users × candidates
    hits: np.ndarray
    allowed: np.ndarray
    n_relevant: np.ndarray


def merged_candidates(picks: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the union of several candidate picks (rows × each pick's width): the item
    codes sorted, and a mask that is False on a repeat of the code before it (each
    candidate counts once).

    Examples
    --------
    >>> cols, first = merged_candidates([np.array([[3, 1]]), np.array([[1, 2]])])
    >>> cols.tolist(), first.tolist()
    ([[1, 1, 2, 3]], [[True, False, True, True]])
    """
    cols = np.sort(np.concatenate(picks, axis=1), axis=1)
    first = np.ones(cols.shape, dtype=bool)
    first[:, 1:] = cols[:, 1:] != cols[:, :-1]
    return cols, first


def candidate_table(
    members: Sequence[Model],
    rows: np.ndarray,
    seen: sp.csr_matrix,
    truth: sp.csr_matrix,
    popularity: np.ndarray,
    per_member: int = CANDIDATES,
) -> Candidates:
    """Score the users ``rows`` (model rows; ``seen``/``truth`` rows line up) with every
    member, blockwise, and keep each member's top ``per_member`` unseen items plus the
    most popular ones."""
    n_users, n_items = len(rows), members[0].n_items
    per_member = min(per_member, n_items)
    width, chunks = chunk_layout(n_items)
    block = tile_rows(CHOICE_BLOCK, n_items)
    rows_per_block = min(block, max(n_users, 1))
    log_popularity = np.log1p(popularity.astype(np.float32))
    popular = np.argsort(-popularity, kind="stable")[:per_member]
    scorers = [member.block_scorer(rows) for member in members]
    local = threading.local()  # each worker reuses one score buffer

    def run_block(start: int) -> tuple[np.ndarray, ...]:
        stop = min(start + block, n_users)
        if not hasattr(local, "buffer"):
            local.buffer = np.empty((rows_per_block, width * chunks), dtype=np.float32)
        seen_block = seen[start:stop]
        seen_dense = seen_block.toarray() > 0
        z_blocks, picks = [], []
        for scorer in scorers:
            out = local.buffer[: stop - start]
            scorer(start, stop, out)
            z = out[:, :n_items].copy()  # the buffer is reused by the next member
            standardise_rows(z)
            # Negated z, seen items last, in the buffer: no more full-width temporaries.
            pick = np.negative(z, out=out[:, :n_items])
            pick[seen_dense] = np.inf
            picks.append(np.argpartition(pick, per_member - 1, axis=1)[:, :per_member])
            z_blocks.append(z)
        cols, first = merged_candidates(
            [*picks, np.broadcast_to(popular, (stop - start, len(popular)))]
        )
        allowed = first & ~contains(seen_block, cols)
        return (
            np.stack([np.take_along_axis(z, cols, 1) for z in z_blocks]),
            log_popularity[cols],
            contains(truth[start:stop], cols),
            allowed,
        )

    parts = list(block_workers(run_block, n_users, block))
    return Candidates(
        z=np.concatenate([p[0] for p in parts], axis=1),
        log_popularity=np.concatenate([p[1] for p in parts]),
        hits=np.concatenate([p[2] for p in parts]),
        allowed=np.concatenate([p[3] for p in parts]),
        n_relevant=np.diff(truth.indptr),
    )


def blend_metrics(
    table: Candidates, weights: np.ndarray, popularity_weight: float, k: int
) -> dict[str, float]:
    """Recall@k and NDCG@k of one blend, over the table's users (a table narrower than
    ``k``, a small catalogue's, lists all its candidates: the metrics are still at ``k``)."""
    recall, ndcg = table_metrics(table, np.asarray(weights)[None], (popularity_weight,), k)
    return {metric_key("recall", k): float(recall[0, 0]), metric_key("ndcg", k): float(ndcg[0, 0])}


def table_metrics(
    table: Candidates, weights: np.ndarray, popularity: Sequence[float], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Recall@k and NDCG@k of every blend (weight vector × popularity weight) on the table:
    two arrays of len(weights) × len(popularity)."""
    return grid_metrics(
        table.z,
        table.log_popularity,
        table.hits,
        table.allowed,
        table.n_relevant,
        weights,
        np.asarray(popularity),
        k,
    )


def fixed_blend(names: Sequence[str], config: EnsembleConfig) -> dict:
    """The blend ``ensemble_choose: false`` asks for: the first member (ALS, see
    :data:`~recsys_core.models.registry.FIXED_BLEND_MEMBERS`) gets ``ensemble_als_weight``,
    the others share the rest."""
    share = (1 - config.ensemble_als_weight) / max(len(names) - 1, 1)
    weights = {
        name: config.ensemble_als_weight if number == 0 else share
        for number, name in enumerate(names)
    }
    winners = [name for name, weight in weights.items() if weight > 0]
    return {
        "chosen": Ensemble.family if len(winners) > 1 else winners[0],
        "weights": weights,
        "popularity_weight": config.ensemble_popularity_weight,
        "fixed": True,
    }


def choose_blend(
    members: Sequence[Model],
    names: Sequence[str],
    rows: np.ndarray,
    seen: sp.csr_matrix,
    truth: sp.csr_matrix,
    popularity: np.ndarray,
    k: int,
    config: EnsembleConfig,
    eligible: np.ndarray | None = None,
) -> dict:
    """The blend with the best validation NDCG@k on a sample of the users ``rows`` (those
    with validation items, among ``eligible`` ones when given: the evaluation's choice
    half), over :func:`weight_grid` × :data:`POPULARITY_GRID`.

    A single member wins when no blend beats it (its weight is then 1). Returns the
    choice, the best result of each single member, and the whole grid.
    """
    started = time.perf_counter()
    has = np.diff(truth.indptr) > 0
    has_truth = np.flatnonzero(has if eligible is None else has & eligible)
    sample = np.sort(
        np.random.default_rng(config.random_state).choice(
            has_truth, size=min(config.ensemble_sample_users, len(has_truth)), replace=False
        )
    )
    # Every member offers at least k candidates, so a blend's list is never cut short.
    table = candidate_table(
        members,
        rows[sample],
        seen[sample],
        truth[sample],
        popularity,
        per_member=max(CANDIDATES, k),
    )
    metric = metric_key("ndcg", k)
    weights = weight_grid(len(members))
    recall, ndcg = table_metrics(table, weights, POPULARITY_GRID, k)
    grid = [
        {
            "weights": dict(zip(names, vector.round(3).tolist(), strict=True)),
            "popularity_weight": popularity_weight,
            metric_key("recall", k): float(recall[w, p]),
            metric: float(ndcg[w, p]),
        }
        for w, vector in enumerate(weights)
        for p, popularity_weight in enumerate(POPULARITY_GRID)
    ]
    # Ties go to fewer members (cheaper to serve), then to the smaller popularity weight.
    best = max(
        grid,
        key=lambda row: (
            row[metric],
            -sum(weight > 0 for weight in row["weights"].values()),
            -row["popularity_weight"],
        ),
    )
    singles = {
        name: max((row for row in grid if row["weights"][name] == 1.0), key=lambda r: r[metric])
        for name in names
    }
    winners = [name for name, weight in best["weights"].items() if weight > 0]
    log.info(
        "ensemble: chose %s (popularity %.3g) on %d users, %s %.4f, in %.1fs",
        best["weights"],
        best["popularity_weight"],
        len(sample),
        metric,
        best[metric],
        time.perf_counter() - started,
    )
    return {
        "chosen": Ensemble.family if len(winners) > 1 else winners[0],
        "fixed": False,
        "weights": best["weights"],
        "popularity_weight": best["popularity_weight"],
        "metric": metric,
        "sample_users": len(sample),
        "validation_sample": {key: best[key] for key in best if "@" in key},
        "best_single": singles,
        "grid": grid,
    }
