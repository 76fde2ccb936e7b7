"""ALS sweeps side by side: implicit's own CPU fit against the blocked solver the ALS family
uses (:mod:`recsys_core.models.als_solver`), from the same start on the same matrix.

``python -m benchmarks.als_solver [--input train.txt] [--sweeps 3]`` weights the log as the
nightly does (BM25 + alpha, seed 000's knobs), runs ``--sweeps`` sweeps of each at 256
factors on every core, and prints and saves the seconds per sweep, their ratio and how far
apart the factors end (``benchmarks/results/als-solver-<time>.json``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from benchmarks.measure import GOWALLA, binary_matrix, save_result
from recsys_core.config import ALSConfig, WeightConfig
from recsys_core.data.weighting import confidence
from recsys_core.models.als_solver import alternating_least_squares
from recsys_core.ranking.tiles import compute_threads


def _implicit_fit(matrix: sp.csr_matrix, config: ALSConfig, sweeps: int):
    from implicit.cpu.als import AlternatingLeastSquares

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=config.factors,
            regularization=config.regularization,
            iterations=sweeps,
            alpha=1.0,
            random_state=config.random_state,
            calculate_training_loss=False,
        )
        model.fit(matrix, show_progress=False)
    return model.user_factors, model.item_factors


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=GOWALLA)
    parser.add_argument("--sweeps", type=int, default=3)
    args = parser.parse_args(argv)

    config = ALSConfig()
    matrix = confidence(binary_matrix(args.input), WeightConfig())  # seed 000's BM25 and alpha
    # Compile the solver's kernels outside the timing.
    alternating_least_squares(matrix[:200], config.factors, config.regularization, 1, 0)
    seconds, factors = {}, {}
    for name, fit in (
        ("implicit", lambda: _implicit_fit(matrix, config, args.sweeps)),
        (
            "blocked",
            lambda: alternating_least_squares(
                matrix, config.factors, config.regularization, args.sweeps, config.random_state
            ),
        ),
    ):
        started = time.perf_counter()
        factors[name] = fit()
        seconds[name] = (time.perf_counter() - started) / args.sweeps
    difference = {
        side: float(
            np.linalg.norm(factors["blocked"][n] - factors["implicit"][n])
            / np.linalg.norm(factors["implicit"][n])
        )
        for n, side in enumerate(("users", "items"))
    }
    result = {
        "machine": f"{platform.machine()}, {compute_threads()} cores, "
        f"Python {platform.python_version()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": str(args.input.resolve()),
        "shape": list(matrix.shape),
        "nnz": int(matrix.nnz),
        "factors": config.factors,
        "sweeps": args.sweeps,
        "seconds_per_sweep": {name: round(s, 3) for name, s in seconds.items()},
        "implicit_vs_blocked": round(seconds["implicit"] / seconds["blocked"], 2),
        "relative_difference": difference,
    }
    print(json.dumps(result, indent=2))
    print(f"wrote {save_result('als-solver', result)}")
    return result


if __name__ == "__main__":
    main()
