"""ALS training: determinism, warm start, the npz model file."""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_core.config import ALSConfig
from recsys_core.training import fit_als, load_factors, save_factors


@pytest.fixture
def matrix():
    m = sp.random(80, 60, density=0.1, random_state=0, format="csr", dtype=np.float32)
    m.data[:] = 5.0
    return m


def test_same_random_state_same_factors(matrix):
    config = ALSConfig(factors=8, iterations=4, random_state=3)
    a, b = fit_als(matrix, config), fit_als(matrix, config)
    np.testing.assert_array_equal(a.item_factors, b.item_factors)


def test_warm_start_continues_from_given_items(matrix):
    converged = fit_als(matrix, ALSConfig(factors=8, iterations=30))
    one_more = fit_als(matrix, ALSConfig(factors=8, iterations=1), converged.item_factors)
    from_scratch = fit_als(matrix, ALSConfig(factors=8, iterations=1))
    gap_warm = np.abs(one_more.item_factors - converged.item_factors).max()
    gap_cold = np.abs(from_scratch.item_factors - converged.item_factors).max()
    assert gap_warm < gap_cold / 5
    with pytest.raises(ValueError, match="shape"):
        fit_als(matrix, ALSConfig(factors=4, iterations=1), converged.item_factors)


def test_model_file_round_trip_without_pickle(tmp_path, matrix):
    factors = fit_als(matrix, ALSConfig(factors=4, iterations=2))
    save_factors(tmp_path / "m.npz", factors, ALSConfig(factors=4), model_users=np.arange(80))
    loaded, params, extra = load_factors(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.user_factors, factors.user_factors)
    assert params["factors"] == 4 and extra["model_users"].shape == (80,)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)
