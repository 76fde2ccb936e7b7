"""What a fitted model will cost the night to score, known before the blend chooses it.

A family's scoring cost per user differs by orders of magnitude (ALS: one GEMM row; the
Chebyshev filter: K pairs of sparse products over the whole log), and grows with the log
in different ways. The blend choice times each member's block scorer on a probe of its
sample users, extrapolates to the users the night's evaluate and score steps will score,
and leaves out of the choice a family whose prediction exceeds ``night_budget_s``.
The ranking that follows scoring is the same for every family and is not counted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np

from recsys_core.models.base import Model
from recsys_core.ranking.tiles import chunk_layout, tile_rows

# Users timed per member: enough to amortise a block's fixed costs (a filter's chunk of
# 128 signals), few enough that a family too slow for the night costs seconds to find out.
PROBE_USERS = 256
# The probe's best of this many: in the flow, a first pass also pays one-off costs (on
# Gowalla one pass predicted ALS at 21 s and GF-CF at 88 s; best of 2: 5.1 s and 41.0 s,
# as the fitted models themselves time).
PROBE_REPEATS = 2


def scoring_cost(model: Model, rows: np.ndarray, users_to_score: int) -> dict[str, float]:
    """Seconds per user of ``model``'s block scorer on (up to) :data:`PROBE_USERS` (fewer
    on a catalogue too wide for that many in one tile) of the
    model rows ``rows`` (best of :data:`PROBE_REPEATS`), and the prediction for
    ``users_to_score`` users (the scorer's set-up counted twice: evaluate's and score's)."""
    # The ranker's tile cap keeps the probe's buffer as small as a scoring call's.
    probe = rows[: min(tile_rows(PROBE_USERS, model.n_items), len(rows))]
    width, chunks = chunk_layout(model.n_items)  # the padded width scorers write into
    out = np.empty((len(probe), width * chunks), dtype=np.float32)
    started = time.perf_counter()
    scorer = model.block_scorer(probe)
    first = min(1, len(probe))
    scorer(0, first, out[:first])  # set-up and any compilation, outside the rate
    setup = time.perf_counter() - started
    timings = []
    for _ in range(PROBE_REPEATS):
        started = time.perf_counter()
        scorer(0, len(probe), out)
        timings.append(time.perf_counter() - started)
    per_user = min(timings) / max(len(probe), 1)
    return {
        "probe_users": len(probe),
        "per_user_s": per_user,
        "setup_s": round(setup, 3),
        "predicted_s": round(2 * setup + per_user * users_to_score, 3),
    }


def within_budget(
    names: Sequence[str], costs: Mapping[str, Mapping[str, float]], budget_s: float
) -> tuple[list[str], dict[str, str]]:
    """The families whose predicted seconds fit ``budget_s``, and why each other one was
    left out. The cheapest family always stays: a night with no model publishes nothing.

    Examples
    --------
    >>> within_budget(["a", "b"], {"a": {"predicted_s": 5}, "b": {"predicted_s": 50}}, 10)
    (['a'], {'b': 'predicted evaluate + score 50 s > night_budget_s 10 s'})
    """
    kept = [name for name in names if costs[name]["predicted_s"] <= budget_s]
    if not kept:
        kept = [min(names, key=lambda name: costs[name]["predicted_s"])]
    left_out = {
        name: f"predicted evaluate + score {costs[name]['predicted_s']:g} s > "
        f"night_budget_s {budget_s:g} s"
        for name in names
        if name not in kept
    }
    return kept, left_out
