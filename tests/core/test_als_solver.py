"""The blocked ALS sweeps (recsys_core/models/als_solver.py) against implicit's own solver,
against the exact least-squares solution, and across thread counts."""

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys_core.models.als_solver import (
    BLOCK_ROWS,
    alternating_least_squares,
    least_squares_cg,
)

REG = 0.05


def _assert_close(ours: np.ndarray, theirs: np.ndarray, tolerance: float) -> None:
    """Normwise: float32 sums in another order differ most on the smallest entries."""
    error = np.linalg.norm(ours - theirs) / np.linalg.norm(theirs)
    assert error < tolerance


def _confidence(rows: int, cols: int, seed: int, density: float = 0.08) -> sp.csr_matrix:
    """A confidence matrix as the weight step makes them: positive values, some above 1."""
    rng = np.random.default_rng(seed)
    matrix = sp.random(rows, cols, density=density, random_state=rng, format="csr")
    matrix.data = (1 + 20 * matrix.data).astype(np.float32)
    return matrix.astype(np.float32)


def _factors(rows: int, f: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((rows, f), dtype=np.float32) * np.float32(0.1)


@pytest.mark.parametrize("rows", [7, BLOCK_ROWS + 45, 3 * BLOCK_ROWS])
def test_a_half_sweep_matches_implicits_solver(rows):
    from implicit.cpu import _als

    confidence = _confidence(rows, 90, seed=rows)
    fixed = _factors(90, 16, seed=1)
    ours = _factors(rows, 16, seed=2)
    theirs = ours.copy()
    least_squares_cg(confidence, ours, fixed, REG)
    with threadpool_limits(1, "blas"):
        _als.least_squares_cg(confidence, theirs, fixed, REG, num_threads=1, cg_steps=3)
    _assert_close(ours, theirs, 5e-5)


def test_enough_steps_reach_the_exact_least_squares_solution():
    """CG in f steps solves (YᵀC_uY + λI) x = YᵀC_u p_u exactly (up to rounding)."""
    f = 6
    confidence = _confidence(20, 30, seed=3, density=0.3)
    fixed = _factors(30, f, seed=4)
    solved = _factors(20, f, seed=5)
    least_squares_cg(confidence, solved, fixed, REG, steps=3 * f)
    y = fixed.astype(np.float64)
    for u in range(20):
        row = confidence[u]
        c = np.zeros(30)
        c[row.indices] = row.data
        preference = (c > 0).astype(np.float64)
        weights = np.where(c > 0, c, 1.0)  # an unseen item has confidence 1, preference 0
        lhs = y.T @ (weights[:, None] * y) + REG * np.eye(f)
        rhs = y.T @ (weights * preference)
        np.testing.assert_allclose(solved[u], np.linalg.solve(lhs, rhs), rtol=1e-3, atol=1e-5)


def test_the_result_does_not_depend_on_the_thread_count():
    confidence = _confidence(5 * BLOCK_ROWS + 3, 200, seed=6)
    fixed = _factors(200, 32, seed=7)
    start = _factors(confidence.shape[0], 32, seed=8)
    one, two = start.copy(), start.copy()
    least_squares_cg(confidence, one, fixed, REG, threads=1)
    least_squares_cg(confidence, two, fixed, REG, threads=2)
    np.testing.assert_array_equal(one, two)


def test_a_fit_starts_and_sweeps_as_implicit_does():
    from implicit.cpu.als import AlternatingLeastSquares

    confidence = _confidence(150, 80, seed=9)
    users, items = alternating_least_squares(
        confidence, factors=8, regularization=REG, iterations=0, random_state=11
    )
    with threadpool_limits(1, "blas"):
        reference = AlternatingLeastSquares(
            factors=8, regularization=REG, iterations=3, alpha=1.0, random_state=11, num_threads=1
        )
        reference.fit(confidence, show_progress=False)
    rng = np.random.default_rng(11)  # implicit's start: users, then items, from the seed
    np.testing.assert_array_equal(users, rng.random((150, 8), dtype=np.float32) * 0.01)
    np.testing.assert_array_equal(items, rng.random((80, 8), dtype=np.float32) * 0.01)
    users, items = alternating_least_squares(
        confidence, factors=8, regularization=REG, iterations=3, random_state=11
    )
    _assert_close(users, reference.user_factors, 1e-3)
    _assert_close(items, reference.item_factors, 1e-3)
