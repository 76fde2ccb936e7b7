"""The ALS family: implicit's alternating least squares (its conjugate-gradient sweeps,
computed a block of rows at a time by :mod:`recsys_core.models.als_solver`) on a users ×
items confidence matrix (BM25 + alpha, from the weight step), scored by one GEMM per block
of users."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_core.config import ALSConfig, PipelineConfig, RankConfig
from recsys_core.models.als_solver import alternating_least_squares
from recsys_core.models.base import (
    Arrays,
    MemberLoader,
    family_array,
    unit_rows,
)
from recsys_core.models.contributions import Contributions, low_rank
from recsys_core.ranking.scorer import BlockScorer, gemm_scorer

log = logging.getLogger(__name__)
progress = logging.getLogger("recsys_core.progress")  # every sweep: a long fit shows life


@dataclass(frozen=True, slots=True)
class ALSModel:
    """Trained factors: ``user_factors[r] · item_factors[i]`` scores dense user
    ``model_users[r]`` (sorted) on item ``i``."""

    family: ClassVar[str] = "als"
    user_factors: np.ndarray
    item_factors: np.ndarray
    model_users: np.ndarray
    # The unit-length item factors, built on the first similar-items block and kept:
    # normalising every item per 256-row block took as long as the block's GEMM.
    _built: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.model_users) != len(self.user_factors):
            raise ValueError(
                f"{len(self.user_factors)} user factor rows for {len(self.model_users)} users"
            )

    @property
    def n_items(self) -> int:
        return len(self.item_factors)

    def block_scorer(self, rows: np.ndarray, bias: np.ndarray | None = None) -> BlockScorer:
        """Scores of model rows ``rows`` (+ ``bias`` per item) for the shared top-k: one
        GEMM per block, the bias folded in."""
        return gemm_scorer(self.user_factors[rows], self.item_factors, bias)

    def similar_items(self, items: np.ndarray) -> np.ndarray:
        """Cosine of the item factors (implicit's ``similar_items`` measure)."""
        unit = self._unit_items()
        return unit[items] @ unit.T

    def contributions(self, seen: sp.csr_matrix, items: np.ndarray) -> Contributions:
        """How well each seen item's factors agree with the listed item's (their cosine):
        a factor model's score is not a sum over seen items, so agreement stands in."""
        unit = self._unit_items()
        return low_rank(unit, unit, seen, items)

    def _unit_items(self) -> np.ndarray:
        if "unit" not in self._built:
            self._built["unit"] = unit_rows(self.item_factors)
        return self._built["unit"]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The npz entries (``family`` included)."""
        return {
            "family": family_array(self.family),
            "user_factors": self.user_factors,
            "item_factors": self.item_factors,
            "model_users": self.model_users,
        }


def from_arrays(data: Arrays, _load: MemberLoader | None = None) -> ALSModel:
    """The model :meth:`ALSModel.to_arrays` describes."""
    return ALSModel(data["user_factors"], data["item_factors"], data["model_users"])


# Called after each ALS sweep with (sweeps done, fit seconds so far, the live factors).
SweepCallback = Callable[[int, float, ALSModel], None]


# The knobs a run may leave unset (None) and the values they then take: seed 000's
# (ALSConfig's and WeightConfig's defaults), for ALS alone and as a blend's member alike.
# A lighter member (alpha 3, 10 sweeps) was measured and not adopted: on Gowalla's report
# half the default blend lost 1.4 % Recall@20 with it (docs/concepts/models.md).
UNSET_KNOBS: Mapping[str, Any] = MappingProxyType({"alpha": 30.0, "iterations": 40})


def serving_config(configs: PipelineConfig) -> ALSConfig:
    """The serving fit's ALS settings: ``warm`` runs ``warm_iterations`` sweeps (from the
    evaluation model's item factors), never more than a cold fit's ``iterations``; ``cold``
    the evaluation model's full schedule."""
    if warm_start(configs):
        sweeps = min(configs.serving.warm_iterations, configs.als.iterations)
        return replace(configs.als, iterations=sweeps)
    return configs.als


def warm_start(configs: PipelineConfig) -> bool:
    """Whether the serving fit continues the evaluation model's item factors."""
    return configs.serving.full_schedule == "warm"


def popularity_weight(_config: ALSConfig, rank: RankConfig) -> float:
    """ALS lists add ``popularity_weight · log1p(popularity)`` to the dot products."""
    return rank.popularity_weight


def fit_als(
    confidence_user_items: sp.csr_matrix,
    config: ALSConfig,
    model_users: np.ndarray,
    initial_item_factors: np.ndarray | None = None,
    on_sweep: SweepCallback | None = None,
) -> ALSModel:
    """Fit implicit's CPU ALS on a users × items confidence matrix.

    Row ``r`` of the matrix is dense user ``model_users[r]``. The sweeps are implicit's
    (conjugate gradient, three steps per row, its initialisation from ``random_state``),
    computed by :mod:`recsys_core.models.als_solver` a block of rows at a time.

    implicit's own ``alpha`` stays 1: confidence scaling is done by the weighting step
    (seed 000). ``initial_item_factors`` warm-starts the fit: each sweep solves users from
    items first, so the item factors are the whole starting point. ``on_sweep`` sees the
    factors after every sweep (views of the live arrays: copy what you keep).
    """
    if initial_item_factors is not None and initial_item_factors.shape != (
        confidence_user_items.shape[1],
        config.factors,
    ):
        raise ValueError(
            f"warm start needs item factors of shape "
            f"{(confidence_user_items.shape[1], config.factors)}, "
            f"got {initial_item_factors.shape}"
        )
    started = time.perf_counter()
    users = np.asarray(model_users)

    def sweep_done(done: int, user_factors: np.ndarray, item_factors: np.ndarray) -> None:
        seconds = time.perf_counter() - started
        eta = seconds / done * (config.iterations - done)
        progress.info(
            "ALS sweep %d/%d: %.1fs in all, ETA %.1fs", done, config.iterations, seconds, eta
        )
        if on_sweep is not None:
            on_sweep(done, seconds, ALSModel(user_factors, item_factors, model_users=users))

    user_factors, item_factors = alternating_least_squares(
        confidence_user_items,
        factors=config.factors,
        regularization=config.regularization,
        iterations=config.iterations,
        random_state=config.random_state,
        initial_item_factors=initial_item_factors,
        threads=config.num_threads,
        on_sweep=sweep_done,
    )
    log.info(
        "fitted ALS %d factors x %d iterations on %s in %.1fs",
        config.factors,
        config.iterations,
        confidence_user_items.shape,
        time.perf_counter() - started,
    )
    return ALSModel(user_factors=user_factors, item_factors=item_factors, model_users=users)


def fit(
    user_items: sp.csr_matrix,
    config: ALSConfig,
    model_users: np.ndarray,
    warm_from: ALSModel | None = None,
) -> ALSModel:
    """The registry's fit: :func:`fit_als`, continuing ``warm_from``'s item factors."""
    initial = None if warm_from is None else warm_from.item_factors
    return fit_als(user_items, config, model_users, initial_item_factors=initial)


def stand_in(user_items: sp.csr_matrix, config: ALSConfig, model_users: np.ndarray) -> ALSModel:
    """Random factors of the fitted model's shapes: it scores as fast as the real one, for
    the night's budget to time before anything is fitted."""
    rng = np.random.default_rng(0)
    return ALSModel(
        rng.standard_normal((user_items.shape[0], config.factors), dtype=np.float32),
        rng.standard_normal((user_items.shape[1], config.factors), dtype=np.float32),
        np.asarray(model_users),
    )


def fit_sweeps(
    user_items: sp.csr_matrix,
    config: ALSConfig,
    model_users: np.ndarray,
    on_sweep: SweepCallback,
) -> ALSModel:
    """The registry's fit for sweep chains: ``on_sweep`` sees the model after every sweep."""
    return fit_als(user_items, config, model_users, on_sweep=on_sweep)
