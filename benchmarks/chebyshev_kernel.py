"""The Chebyshev filter's recurrence, side by side: scipy's sparse products (one core, the
recurrence's updates as numpy passes) against the compiled kernels
(:mod:`recsys_core.models.chebyshev_kernel`) on one thread and on every core.

``python -m benchmarks.chebyshev_kernel [--input train.txt] [--users 2048]`` filters a seeded
sample of users with the authors' Gowalla order (K = 8), best of ``--repeats``, checks the
kernels agree with scipy, and prints and saves the seconds extrapolated to every user
(``benchmarks/results/chebyshev-kernel-<time>.json``).
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

from benchmarks.measure import GOWALLA, binary_matrix, save_result
from recsys_core.models.chebyshev_filter import SIGNAL_CHUNK, chebyshev_coefficients
from recsys_core.models.chebyshev_kernel import Recurrence
from recsys_core.models.graph_filter import normalised_matrix
from recsys_core.ranking.tiles import compute_threads


def scipy_recurrence(normalised: sp.csr_matrix, signals: np.ndarray, coefficients) -> np.ndarray:
    """The recurrence as the filter ran it before the kernels."""
    transposed = normalised.T.tocsr()

    def laplacian(x: np.ndarray) -> np.ndarray:
        return x - 2 * (transposed @ (normalised @ x))

    previous, current = signals, laplacian(signals)
    total = coefficients[0] * previous + coefficients[1] * current
    for c in coefficients[2:]:
        previous, current = current, 2 * laplacian(current) - previous
        total += c * current
    return total


def _timed(filter_chunk, signals: list[np.ndarray], repeats: int) -> tuple[float, list]:
    best, outputs = np.inf, []
    for _ in range(repeats):
        started = time.perf_counter()
        outputs = [filter_chunk(chunk) for chunk in signals]
        best = min(best, time.perf_counter() - started)
    return best, outputs


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=GOWALLA)
    parser.add_argument("--users", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--order", type=int, default=8)
    args = parser.parse_args(argv)

    binary = binary_matrix(args.input)
    normalised, _ = normalised_matrix(binary)
    coefficients = chebyshev_coefficients(args.order, 1.5).astype(np.float32)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(binary.shape[0], min(args.users, binary.shape[0]), replace=False))
    signals = [
        np.ascontiguousarray(binary[sample[s : s + SIGNAL_CHUNK]].toarray().T)
        for s in range(0, len(sample), SIGNAL_CHUNK)
    ]
    threads = compute_threads()
    one, every = Recurrence(normalised, threads=1), Recurrence(normalised, threads=threads)
    one.filter(signals[0], coefficients)  # compile outside the timing
    runs = {
        "scipy": lambda x: scipy_recurrence(normalised, x, coefficients),
        "kernel_1_thread": lambda x: one.filter(x, coefficients),
        f"kernel_{threads}_threads": lambda x: every.filter(x, coefficients),
    }
    seconds, outputs = {}, {}
    for name, run in runs.items():
        seconds[name], outputs[name] = _timed(run, signals, args.repeats)
    scale = binary.shape[0] / len(sample)
    error = max(
        float(np.abs(a - b).max() / np.abs(b).max())
        for name in runs
        for a, b in zip(outputs[name], outputs["scipy"], strict=True)
    )
    result = {
        "machine": f"{platform.machine()}, {threads} cores, Python {platform.python_version()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": str(args.input.resolve()),
        "shape": list(binary.shape),
        "nnz": int(binary.nnz),
        "order": args.order,
        "sample_users": len(sample),
        "signal_chunk": SIGNAL_CHUNK,
        "all_users_s": {name: round(s * scale, 1) for name, s in seconds.items()},
        "speedup_vs_scipy": {name: round(seconds["scipy"] / s, 2) for name, s in seconds.items()},
        "max_relative_difference": error,
    }
    print(json.dumps(result, indent=2))
    print(f"wrote {save_result('chebyshev-kernel', result)}")
    return result


if __name__ == "__main__":
    main()
