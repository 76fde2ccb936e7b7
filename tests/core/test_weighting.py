"""BM25 in both directions against implicit's own bm25_weight, and alpha scaling."""

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.nearest_neighbours import bm25_weight

from recsys_core.config import WeightConfig
from recsys_core.data.weighting import confidence


@pytest.fixture
def user_items():
    rng = np.random.default_rng(1)
    matrix = sp.random(60, 45, density=0.15, random_state=2, format="csr")
    matrix.data[:] = rng.integers(1, 5, matrix.nnz)
    return matrix


def test_user_items_direction_is_seed_000(user_items):
    got = confidence(user_items, WeightConfig(bm25_k1=100, bm25_b=0.8, alpha=30))
    expected = bm25_weight(user_items, K1=100, B=0.8).tocsr() * 30
    np.testing.assert_allclose(got.toarray(), expected.toarray(), rtol=1e-6)
    assert got.dtype == np.float32


def test_item_users_direction_is_seed_001(user_items):
    config = WeightConfig(bm25_k1=50, bm25_b=0.6, bm25_direction="item_users", alpha=1)
    got = confidence(user_items, config)
    expected = bm25_weight(user_items.T.tocsr(), K1=50, B=0.6).T.tocsr()
    np.testing.assert_allclose(got.toarray(), expected.toarray(), rtol=1e-6)


def test_directions_differ(user_items):
    a = confidence(user_items, WeightConfig(bm25_direction="user_items")).toarray()
    b = confidence(user_items, WeightConfig(bm25_direction="item_users")).toarray()
    assert not np.allclose(a, b)
