"""ChebyCF: the coefficients interpolate the plateau, the blockwise recurrence equals a
dense reference h(L̃) on a small matrix (degree scaling and ideal pass included), the
item–item operator, tuning's shared fit."""

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_core.config import ChebyshevFilterConfig
from recsys_core.models import chebyshev_filter
from recsys_core.models.chebyshev_filter import (
    SIGNAL_CHUNK,
    chebyshev_basis,
    chebyshev_coefficients,
    fit,
    fit_knobs,
    plateau_response,
    with_knobs,
)
from recsys_core.models.chebyshev_kernel import Recurrence, row_ranges
from recsys_core.models.graph_filter import filter_similar_items
from recsys_core.models.graph_product import GraphProduct
from tests.core.helpers import block_scores


def _matrix() -> sp.csr_matrix:
    matrix = sp.random(30, 25, density=0.2, random_state=4, format="csr", dtype=np.float32)
    matrix.data[:] = 1.0
    # Item 24 nobody has: scaled to 0, never a division by zero.
    return (matrix @ sp.diags(np.r_[np.ones(24), 0.0]).astype(np.float32)).tocsr()


@pytest.mark.parametrize("order", [1, 2, 5, 8])
def test_the_polynomial_passes_through_the_plateau_at_the_nodes(order):
    nodes = np.cos((order + 1.5 - np.arange(1, order + 2)) / (order + 1) * np.pi)
    values = chebyshev_coefficients(order, 1.5) @ chebyshev_basis(nodes, order)
    np.testing.assert_allclose(values, plateau_response(order, 1.5), atol=1e-12)


def _dense_reference(
    matrix: sp.csr_matrix, model, config: ChebyshevFilterConfig, signals=None
) -> np.ndarray:
    """Responses of every user of ``matrix`` (or of ``signals`` rows) from dense matrices:
    (s d^-β h(L̃) + α s d^-β V Vᵀ) d^β."""
    dense = matrix.toarray().astype(np.float64)
    d_u, d_i = dense.sum(1), dense.sum(0)
    inv_u = np.where(d_u > 0, np.maximum(d_u, 1) ** -0.5, 0)
    inv_i = np.where(d_i > 0, np.maximum(d_i, 1) ** -0.5, 0)
    normalised = inv_u[:, None] * dense * inv_i[None, :]
    laplacian = np.eye(dense.shape[1]) - 2 * normalised.T @ normalised
    terms = [np.eye(dense.shape[1]), laplacian]
    for _ in range(2, config.cheby_order + 1):
        terms.append(2 * laplacian @ terms[-1] - terms[-2])
    coefficients = chebyshev_coefficients(config.cheby_order, config.cheby_flatness)
    response = sum(c * t for c, t in zip(coefficients, terms, strict=False))
    beta = config.cheby_degree_power
    pre = np.where(d_i > 0, np.maximum(d_i, 1) ** -beta, 0)
    post = np.where(d_i > 0, np.maximum(d_i, 1) ** beta, 0)
    signal = (dense if signals is None else signals) * pre
    right = model.right.astype(np.float64)
    ideal = config.cheby_ideal_weight * signal @ right @ right.T
    return (signal @ response + ideal) * post


@pytest.mark.parametrize("order", [1, 3, 8])
def test_blocks_equal_the_dense_reference(order):
    matrix = _matrix()
    config = ChebyshevFilterConfig(
        cheby_order=order, cheby_ideal_rank=6, cheby_degree_power=0.4, cheby_form="recurrence"
    )
    model = fit(matrix, config, np.arange(30))
    assert model.right.shape == (25, 6)
    expected = _dense_reference(matrix, model, config)
    np.testing.assert_allclose(block_scores(model, np.arange(30), block=7), expected, atol=2e-5)
    assert np.abs(expected[:, 24]).max() == 0  # the unseen item scores 0


def test_without_the_ideal_pass_no_svd_is_fitted():
    config = ChebyshevFilterConfig(cheby_ideal_weight=0.0, cheby_form="recurrence")
    model = fit(_matrix(), config, np.arange(30))
    assert model.right.shape == (25, 0)
    # The spectral form needs the SVD whatever the ideal weight.
    config = ChebyshevFilterConfig(cheby_ideal_weight=0.0, cheby_ideal_rank=4)
    assert fit(_matrix(), config, np.arange(30)).right.shape == (25, 4)


def test_similar_items_are_the_responses_to_one_item():
    matrix = _matrix()
    config = ChebyshevFilterConfig(cheby_order=4, cheby_ideal_rank=5, cheby_form="recurrence")
    model = fit(matrix, config, np.arange(30))
    one_hot = np.eye(25)[[3, 11]]
    expected = _dense_reference(matrix, model, config, signals=one_hot)
    np.testing.assert_allclose(model.similar_items(np.array([3, 11])), expected, atol=2e-5)


@pytest.mark.parametrize("order", [1, 4, 8])
def test_with_few_users_similar_items_come_from_user_space_and_equal_the_reference(
    order, monkeypatch
):
    """Fewer users than items: the items' responses come from the users × users form
    p(0)·s + ((s R̃ᵀ) q(G)) R̃, equal to the dense h(L̃) and to the recurrence (in several
    signal chunks and item tiles)."""
    monkeypatch.setattr(chebyshev_filter, "GRAM_CHUNK", 6)
    monkeypatch.setattr(chebyshev_filter, "GRAM_TILE", 7)
    matrix = sp.random(12, 40, density=0.25, random_state=7, format="csr", dtype=np.float32)
    matrix.data[:] = 1.0
    matrix = (matrix @ sp.diags(np.r_[np.ones(39), 0.0]).astype(np.float32)).tocsr()
    config = ChebyshevFilterConfig(
        cheby_order=order, cheby_ideal_rank=5, cheby_degree_power=0.4, cheby_form="recurrence"
    )
    model = fit(matrix, config, np.arange(12))
    items = np.arange(40)
    expected = _dense_reference(matrix, model, config, signals=np.eye(40))
    builds = []
    built = chebyshev_filter.gram_response
    monkeypatch.setattr(chebyshev_filter, "gram_response", lambda *a: builds.append(1) or built(*a))
    got = model.similar_items(items)
    model.similar_items(items[:3])
    assert builds == [1]  # the user-space form was built once, and is kept
    np.testing.assert_allclose(got, expected, atol=2e-5)
    recurrence = filter_similar_items(model._filter(), items, 40)
    np.testing.assert_allclose(got, recurrence, atol=2e-5)
    # The operator's columns (explanations' contributions): its transpose, the same way.
    columns = filter_similar_items(model._item_filter(transposed=True), items, 40)
    np.testing.assert_allclose(columns, got.T, atol=2e-5)


def _spectral_reference(matrix: sp.csr_matrix, config: ChebyshevFilterConfig) -> np.ndarray:
    """Every user's response from P's eigendecomposition (numpy's eigh): h(λ) + α on the
    top ``cheby_ideal_rank`` eigenvectors, h's tangent at 0 on the others, degree-scaled."""
    dense = matrix.toarray().astype(np.float64)
    d_u, d_i = dense.sum(1), dense.sum(0)
    inv_u = np.where(d_u > 0, np.maximum(d_u, 1) ** -0.5, 0)
    inv_i = np.where(d_i > 0, np.maximum(d_i, 1) ** -0.5, 0)
    normalised = inv_u[:, None] * dense * inv_i[None, :]
    eigenvalues, vectors = np.linalg.eigh(normalised.T @ normalised)
    order = np.argsort(-eigenvalues, kind="stable")
    eigenvalues, vectors = eigenvalues[order], vectors[:, order]
    coefficients = chebyshev_coefficients(config.cheby_order, config.cheby_flatness)
    basis = chebyshev_basis(1 - 2 * eigenvalues, config.cheby_order)
    response = coefficients @ basis
    top = np.arange(len(eigenvalues)) < config.cheby_ideal_rank
    slope = -2 * np.sum(coefficients * np.arange(config.cheby_order + 1) ** 2)
    tangent = coefficients.sum() + slope * eigenvalues  # T_k(1) = 1, T_k'(1) = k²
    shaped = np.where(top, response + config.cheby_ideal_weight, tangent)
    operator = (vectors * shaped) @ vectors.T
    beta = config.cheby_degree_power
    pre = np.where(d_i > 0, np.maximum(d_i, 1) ** -beta, 0)
    post = np.where(d_i > 0, np.maximum(d_i, 1) ** beta, 0)
    return ((dense * pre) @ operator) * post


@pytest.mark.parametrize("order, rank", [(1, 6), (3, 6), (8, 6), (8, 12)])
def test_the_spectral_form_equals_the_eigendecomposition_reference(order, rank):
    """The polynomial on the top-η eigenvectors, its tangent at 0 below them, in blocks."""
    matrix = _matrix()
    config = ChebyshevFilterConfig(cheby_order=order, cheby_ideal_rank=rank, cheby_degree_power=0.4)
    model = fit(matrix, config, np.arange(30))
    assert model.form == "spectral"
    expected = _spectral_reference(matrix, config)
    np.testing.assert_allclose(block_scores(model, np.arange(30), block=7), expected, atol=2e-5)


def test_with_every_singular_vector_the_two_forms_are_one_operator():
    """η = every item leaves no tail: the spectral form is the recurrence's h(L̃) exactly."""
    matrix = _matrix()
    config = ChebyshevFilterConfig(cheby_order=8, cheby_ideal_rank=25)
    spectral = fit(matrix, config, np.arange(30))
    recurrence = with_knobs(spectral, replace(config, cheby_form="recurrence"))
    rows = np.arange(30)
    np.testing.assert_allclose(
        block_scores(spectral, rows), block_scores(recurrence, rows), atol=2e-5
    )
    np.testing.assert_allclose(
        spectral.similar_items(np.arange(25)), recurrence.similar_items(np.arange(25)), atol=2e-5
    )


def test_a_shared_fit_with_a_trial_s_knobs_equals_fitting_the_trial():
    matrix = _matrix()
    trial = ChebyshevFilterConfig(
        cheby_order=3, cheby_flatness=2.0, cheby_ideal_rank=6, cheby_degree_power=0.2
    )
    base = fit(matrix, fit_knobs(trial), np.arange(30))
    base.similar_items(np.arange(3))  # builds and keeps the base's item filter
    shared = with_knobs(base, trial)
    direct = fit(matrix, trial, np.arange(30))
    rows = np.arange(30)
    np.testing.assert_allclose(block_scores(shared, rows), block_scores(direct, rows), atol=1e-6)
    items = np.arange(25)
    np.testing.assert_allclose(shared.similar_items(items), direct.similar_items(items), atol=1e-6)


def _scipy_recurrence(normalised: sp.csr_matrix, signals: np.ndarray, coefficients) -> np.ndarray:
    """Σ c_k T_k(L̃)·signals with scipy products (the reference the kernel replaces)."""

    def laplacian(x):
        return x - 2 * (normalised.T @ (normalised @ x))

    previous, current = signals, laplacian(signals)
    total = coefficients[0] * previous + coefficients[1] * current
    for c in coefficients[2:]:
        previous, current = current, 2 * laplacian(current) - previous
        total = total + c * current
    return total


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_the_compiled_recurrence_equals_scipy_s_whatever_the_threads(threads):
    normalised = sp.random(60, 40, density=0.15, random_state=2, format="csr", dtype=np.float32)
    signals = np.random.default_rng(3).random((40, 5), dtype=np.float32)
    coefficients = chebyshev_coefficients(6, 1.5)
    expected = _scipy_recurrence(normalised.astype(np.float64), signals, coefficients)
    got = Recurrence(normalised, threads=threads).filter(signals, coefficients)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    single = Recurrence(normalised, threads=1).filter(signals, coefficients)
    np.testing.assert_array_equal(got, single)


def test_row_ranges_balance_non_zeros_and_cover_every_row():
    indptr = np.array([0, 5, 5, 6, 7, 8, 20])
    assert row_ranges(indptr, 2) == [(0, 5), (5, 6)]
    assert row_ranges(indptr, 1) == [(0, 6)]
    empty = np.zeros(4, dtype=np.int64)
    assert row_ranges(empty, 3) == [(0, 3)]


@pytest.mark.parametrize("form", ["recurrence", "spectral"])
def test_one_block_and_three_blocks_score_to_the_bit(form):
    matrix = sp.random(300, 50, density=0.1, random_state=5, format="csr", dtype=np.float32)
    matrix.data[:] = 1.0
    config = ChebyshevFilterConfig(cheby_ideal_rank=8, cheby_form=form)
    model = fit(matrix, config, np.arange(300))
    rows = np.arange(300)
    whole = block_scores(model, rows, block=300)
    # Blocks start where the ranking's tiles do (multiples of the signal chunk): a GEMM's
    # rounding may depend on a row's place in it, never on the rows after it.
    np.testing.assert_array_equal(block_scores(model, rows, block=SIGNAL_CHUNK), whole)
    np.testing.assert_array_equal(block_scores(model, rows, block=2 * SIGNAL_CHUNK), whole)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_the_compiled_graph_product_equals_scipy_s_whatever_the_threads(threads):
    normalised = sp.random(60, 40, density=0.15, random_state=2, format="csr", dtype=np.float32)
    signals = sp.random(9, 40, density=0.2, random_state=3, format="csr", dtype=np.float32)
    expected = ((signals @ normalised.T) @ normalised).toarray() * 0.5 + 1.0
    out = np.ones((9, 40), np.float32)
    GraphProduct(normalised, threads=threads).add(signals, out, 0.5)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    single = np.ones((9, 40), np.float32)
    GraphProduct(normalised, threads=1).add(signals, single, 0.5)
    np.testing.assert_array_equal(out, single)
