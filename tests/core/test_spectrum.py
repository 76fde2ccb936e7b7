"""The randomized SVD's building blocks: the Cholesky QR with its Householder fallback, and
the compiled sparse × dense product on any number of threads."""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_core.models import spectrum
from recsys_core.models.chebyshev_kernel import sparse_times_dense
from recsys_core.models.spectrum import orthonormal


def _same_span(basis: np.ndarray, block: np.ndarray) -> None:
    np.testing.assert_allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-5)
    np.testing.assert_allclose(basis @ (basis.T @ block), block, atol=1e-4)


def test_cholesky_qr_gives_an_orthonormal_basis_of_the_block(monkeypatch):
    block = np.random.default_rng(0).standard_normal((500, 40)).astype(np.float32)
    block[:, 1] = block[:, 0] + 0.5 * block[:, 1]  # not orthogonal to start with
    monkeypatch.setattr(spectrum, "economic_qr", None)  # must not be needed here
    _same_span(orthonormal(block), block)


def test_a_rank_deficient_block_falls_back_to_householder():
    rng = np.random.default_rng(1)
    block = (rng.standard_normal((300, 5)) @ rng.standard_normal((5, 12))).astype(np.float32)
    basis = orthonormal(block)  # rank 5 of 12 columns: no Cholesky factor
    assert basis.shape == (300, 12)
    np.testing.assert_allclose(basis @ (basis.T @ block), block, atol=1e-3)
    np.testing.assert_allclose(basis.T @ basis, np.eye(12), atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_the_compiled_product_equals_scipy_s_whatever_the_threads(threads):
    matrix = sp.random(70, 50, density=0.1, random_state=4, format="csr", dtype=np.float32)
    dense = np.random.default_rng(5).standard_normal((50, 9)).astype(np.float32)
    got = sparse_times_dense(matrix, dense, threads=threads)
    np.testing.assert_allclose(got, matrix.toarray() @ dense, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got, sparse_times_dense(matrix, dense, threads=1))


def test_an_ill_conditioned_block_is_still_orthonormalised():
    """Cholesky QR loses orthogonality as cond²: columns scaled over six decades factor
    (the Gram matrix is positive definite) but need the check's second pass or Householder."""
    rng = np.random.default_rng(2)
    block = (rng.standard_normal((400, 10)) * np.logspace(0, -6, 10)).astype(np.float32)
    block[:, 9] += block[:, 0]
    basis = orthonormal(block)
    np.testing.assert_allclose(basis.T @ basis, np.eye(10), atol=1e-5)
