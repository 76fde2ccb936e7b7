"""ALS training: determinism, warm start, the serving schedule, the npz model file."""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_core.config import ALSConfig, ServingConfig
from recsys_core.models.als import (
    Factors,
    fit_als,
    load_factors,
    save_factors,
    serving_als_config,
)

USERS = np.arange(80)


@pytest.fixture
def matrix():
    m = sp.random(80, 60, density=0.1, random_state=0, format="csr", dtype=np.float32)
    m.data[:] = 5.0
    return m


def test_same_random_state_same_factors(matrix):
    config = ALSConfig(factors=8, iterations=4, random_state=3)
    a, b = fit_als(matrix, config, USERS), fit_als(matrix, config, USERS)
    np.testing.assert_array_equal(a.item_factors, b.item_factors)


def test_warm_start_continues_from_given_items(matrix):
    converged = fit_als(matrix, ALSConfig(factors=8, iterations=30), USERS)
    one_more = fit_als(matrix, ALSConfig(factors=8, iterations=1), USERS, converged.item_factors)
    from_scratch = fit_als(matrix, ALSConfig(factors=8, iterations=1), USERS)
    gap_warm = np.abs(one_more.item_factors - converged.item_factors).max()
    gap_cold = np.abs(from_scratch.item_factors - converged.item_factors).max()
    assert gap_warm < gap_cold / 5
    with pytest.raises(ValueError, match="shape"):
        fit_als(matrix, ALSConfig(factors=4, iterations=1), USERS, converged.item_factors)


def test_serving_schedule():
    als = ALSConfig(iterations=40)
    assert serving_als_config(als, ServingConfig("warm", 5)).iterations == 5
    assert serving_als_config(als, ServingConfig("cold", 5)) == als


def test_factors_carry_their_users():
    with pytest.raises(ValueError, match="3 user factor rows for 2 users"):
        Factors(np.zeros((3, 2)), np.zeros((4, 2)), model_users=np.arange(2))


def test_model_file_round_trip_without_pickle(tmp_path, matrix):
    users = np.arange(0, 160, 2)  # rows are users 0, 2, 4, …: the mapping must survive
    factors = fit_als(matrix, ALSConfig(factors=4, iterations=2), users)
    save_factors(tmp_path / "m.npz", factors, ALSConfig(factors=4))
    loaded, params = load_factors(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.user_factors, factors.user_factors)
    np.testing.assert_array_equal(loaded.model_users, users)
    assert params["factors"] == 4
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)
