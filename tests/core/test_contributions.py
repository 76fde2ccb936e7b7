"""The per-pair contributions each family computes (recsys_core/models/contributions.py)
against the general way: every listed item's whole catalogue row."""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_core.config import ALSConfig, GraphFilterConfig
from recsys_core.data.synthetic import synthetic_pairs
from recsys_core.models.contributions import entry_rows, from_item_rows, low_rank
from recsys_core.models.ensemble import Ensemble
from recsys_core.models.graph_filter import filter_similar_items
from recsys_core.models.registry import fit_model
from recsys_core.models.zscore import standardise_rows
from recsys_core.scoring.explain import because_items

N_USERS, N_ITEMS, K = 60, 40, 5


def cosine_rows(vectors: np.ndarray, items: np.ndarray) -> np.ndarray:
    """The cosine of rows ``items`` of ``vectors`` with every row (0 for a zero row), in
    float64: the reference for ALS's similar items and contributions."""
    vectors = vectors.astype(np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    dots = vectors[items] @ vectors.T
    scale = np.outer(norms[items], norms)
    return np.divide(dots, scale, out=np.zeros_like(dots), where=scale > 0)


@pytest.fixture(scope="module")
def matrix() -> sp.csr_matrix:
    users, items = synthetic_pairs(n_users=N_USERS, n_items=N_ITEMS, seed=3)
    binary = sp.csr_matrix(
        (np.ones(len(users), np.float32), (users, items)), shape=(N_USERS, N_ITEMS)
    )
    binary.sum_duplicates()
    binary.data[:] = 1
    return binary


@pytest.fixture(scope="module")
def lists() -> np.ndarray:
    """Lists with repeats across users and empty slots."""
    codes = np.random.default_rng(0).integers(0, N_ITEMS, size=(N_USERS, K))
    codes[::7, -2:] = -1
    return codes


def _gathered(rows_of, seen, items):
    """values[p, c], mean and mean square the slow way: every slot's whole row."""
    values = np.zeros((seen.nnz, items.shape[1]), np.float32)
    rows = np.asarray(rows_of(np.maximum(items, 0).ravel()), np.float64)
    rows = rows.reshape(*items.shape, -1)
    for user in range(seen.shape[0]):
        entries = np.arange(seen.indptr[user], seen.indptr[user + 1])
        values[entries] = rows[user][:, seen.indices[entries]].T
    return values, rows.mean(axis=2), (rows**2).mean(axis=2)


def _assert_matches(got, expected, items, seen):
    """Equal on every listed slot (what an empty slot holds is no one's business)."""
    values, mean, square = expected
    listed = items >= 0
    np.testing.assert_allclose(got.mean[listed], mean[listed], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got.square_mean[listed], square[listed], rtol=1e-4, atol=1e-7)
    pairs = listed[entry_rows(seen)]
    np.testing.assert_allclose(got.values[pairs], values[pairs], rtol=1e-4, atol=1e-6)


def test_low_rank_pairs_are_the_rows_dot_products(matrix, lists):
    rng = np.random.default_rng(1)
    left, right = rng.standard_normal((2, N_ITEMS, 6)).astype(np.float32)
    got = low_rank(left, right, matrix, lists)
    expected = _gathered(lambda codes: right[codes] @ left.T, matrix, lists)
    _assert_matches(got, expected, lists, matrix)


def test_the_graph_filter_s_pairs_are_its_operator_s_columns(matrix, lists):
    model = fit_model("graph_filter", matrix, GraphFilterConfig(gf_rank=8), np.arange(N_USERS))
    columns = model._filter(transposed=True)
    expected = _gathered(lambda codes: filter_similar_items(columns, codes, N_ITEMS), matrix, lists)
    _assert_matches(model.contributions(matrix, lists), expected, lists, matrix)


def test_als_pairs_are_factor_cosines(matrix, lists):
    model = fit_model("als", matrix, ALSConfig(factors=8, iterations=3), np.arange(N_USERS))
    expected = _gathered(lambda codes: cosine_rows(model.item_factors, codes), matrix, lists)
    _assert_matches(model.contributions(matrix, lists), expected, lists, matrix)


def test_the_ensemble_blends_members_standardised_over_the_catalogue(matrix, lists):
    users = np.arange(N_USERS)
    members = (
        fit_model("als", matrix, ALSConfig(factors=8, iterations=3), users),
        fit_model("graph_filter", matrix, GraphFilterConfig(gf_rank=8), users),
    )
    ensemble = Ensemble(members, (0.3, 0.7), np.zeros(N_ITEMS, np.float32))
    columns = members[1]._filter(transposed=True)
    row_makers = (
        lambda codes: cosine_rows(members[0].item_factors, codes),
        lambda codes: filter_similar_items(columns, codes, N_ITEMS),
    )

    def blended_rows(codes):
        total = np.zeros((len(codes), N_ITEMS), np.float32)
        for rows_of, weight in zip(row_makers, ensemble.weights, strict=True):
            part = np.asarray(rows_of(codes), np.float32)
            standardise_rows(part, weight)
            total += part
        return total

    values, _, _ = _gathered(blended_rows, matrix, lists)
    pairs = (lists >= 0)[entry_rows(matrix)]
    got = ensemble.contributions(matrix, lists).values
    np.testing.assert_allclose(got[pairs], values[pairs], atol=2e-4)


def test_because_names_the_largest_pair_and_the_lower_code_on_ties(matrix, lists):
    rng = np.random.default_rng(2)
    left = rng.integers(0, 2, size=(N_ITEMS, 1)).astype(np.float32)  # many ties
    right = np.ones((N_ITEMS, 1), np.float32)

    class _Pairs:
        def contributions(self, seen, items):
            return low_rank(left, right, seen, items)

    got = because_items(_Pairs(), matrix, lists, budget=40)  # several user blocks
    for user in range(N_USERS):
        seen = matrix[user].indices
        best = seen[np.argmax(left[seen, 0])] if len(seen) else -1
        expected = np.where(lists[user] >= 0, best, -1)
        np.testing.assert_array_equal(got[user], expected)


def test_from_item_rows_is_the_general_way(matrix, lists):
    table = np.random.default_rng(4).standard_normal((N_ITEMS, N_ITEMS)).astype(np.float32)
    got = from_item_rows(lambda codes: table[codes], matrix, lists, block=3)
    _assert_matches(got, _gathered(lambda codes: table[codes], matrix, lists), lists, matrix)
