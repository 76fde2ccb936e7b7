"""implicit ALS training and the model file (npz, no pickle)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys_core.config import ALSConfig, ServingConfig
from recsys_core.ranking.topk import BlockScorer, gemm_scorer

log = logging.getLogger(__name__)
progress = logging.getLogger("recsys_core.progress")  # every sweep: a long fit shows life


@dataclass(frozen=True, slots=True)
class Factors:
    """Trained factors: ``user_factors[r] · item_factors[i]`` scores dense user
    ``model_users[r]`` (sorted) on item ``i``."""

    user_factors: np.ndarray
    item_factors: np.ndarray
    model_users: np.ndarray

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


# Called after each ALS sweep with (sweeps done, fit seconds so far, the live factors).
SweepCallback = Callable[[int, float, "Factors"], None]


def serving_als_config(als: ALSConfig, serving: ServingConfig) -> ALSConfig:
    """The serving fit's ALS settings: ``warm`` runs ``warm_iterations`` sweeps (from the
    evaluation model's item factors), ``cold`` seed 000's full schedule."""
    if serving.full_schedule == "warm":
        return replace(als, iterations=serving.warm_iterations)
    return als


def fit_als(
    confidence_user_items: sp.csr_matrix,
    config: ALSConfig,
    model_users: np.ndarray,
    initial_item_factors: np.ndarray | None = None,
    on_sweep: SweepCallback | None = None,
) -> Factors:
    """Fit implicit's CPU ALS on a users × items confidence matrix.

    Row ``r`` of the matrix is dense user ``model_users[r]``.

    implicit's own ``alpha`` stays 1: confidence scaling is done by the weighting step
    (seed 000). BLAS is pinned to one thread during the fit so implicit's threads do the work.
    ``initial_item_factors`` warm-starts the fit: each sweep solves users from items first,
    so the item factors are the whole starting point. ``on_sweep`` sees the factors after
    every sweep (views of the live arrays: copy what you keep).
    """
    from implicit.cpu.als import AlternatingLeastSquares

    started = time.perf_counter()
    # implicit checks the BLAS thread count when the model is built: pin before that.
    with threadpool_limits(limits=1, user_api="blas"):
        model = AlternatingLeastSquares(
            factors=config.factors,
            regularization=config.regularization,
            iterations=config.iterations,
            alpha=1.0,
            random_state=config.random_state,
            num_threads=config.num_threads,
            calculate_training_loss=False,
        )
        if initial_item_factors is not None:
            if initial_item_factors.shape != (confidence_user_items.shape[1], config.factors):
                raise ValueError(
                    f"warm start needs item factors of shape "
                    f"{(confidence_user_items.shape[1], config.factors)}, "
                    f"got {initial_item_factors.shape}"
                )
            model.item_factors = np.array(initial_item_factors, dtype=np.float32, copy=True)
        fit_seconds = [0.0]
        users = np.asarray(model_users)

        def callback(iteration: int, seconds: float, _loss: float | None) -> None:
            fit_seconds[0] += seconds
            done = iteration + 1
            eta = fit_seconds[0] / done * (config.iterations - done)
            progress.info(
                "ALS sweep %d/%d: %.1fs (%.1fs in all), ETA %.1fs",
                done,
                config.iterations,
                seconds,
                fit_seconds[0],
                eta,
            )
            if on_sweep is not None:
                live = Factors(model.user_factors, model.item_factors, model_users=users)
                on_sweep(done, fit_seconds[0], live)

        model.fit(confidence_user_items.astype(np.float32), show_progress=False, callback=callback)
    log.info(
        "fitted ALS %d factors x %d iterations on %s in %.1fs",
        config.factors,
        config.iterations,
        confidence_user_items.shape,
        time.perf_counter() - started,
    )
    return Factors(
        user_factors=model.user_factors,
        item_factors=model.item_factors,
        model_users=np.asarray(model_users),
    )


def factors_arrays(factors: Factors) -> dict[str, np.ndarray]:
    """The npz entries of a factor model (``family`` included)."""
    return {
        "family": np.array("als"),
        "user_factors": factors.user_factors,
        "item_factors": factors.item_factors,
        "model_users": factors.model_users,
    }


def save_factors(path: str | Path, factors: Factors, config: ALSConfig) -> None:
    """Write factors, their users and the ALS parameters (as JSON text) to an npz."""
    params = np.array(json.dumps(asdict(config), sort_keys=True))
    np.savez(path, **factors_arrays(factors), params=params)


def factors_from_npz(data: Mapping[str, np.ndarray]) -> Factors:
    """The factors in an open npz (or its entries) written by :func:`save_factors`."""
    return Factors(
        user_factors=data["user_factors"],
        item_factors=data["item_factors"],
        model_users=data["model_users"],
    )


def load_factors(path: str | Path) -> tuple[Factors, dict]:
    """Read what :func:`save_factors` wrote (``allow_pickle`` stays off)."""
    with np.load(path, allow_pickle=False) as data:
        return factors_from_npz(data), json.loads(str(data["params"]))
