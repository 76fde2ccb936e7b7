"""The ALS family: determinism, warm start, the serving schedule, item similarity, the
npz model file."""

from dataclasses import asdict

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_core.config import ALSConfig, PipelineConfig, ServingConfig
from recsys_core.models.als import ALSModel, fit_als, serving_config
from recsys_core.models.registry import load_model, save_model

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
    warm = PipelineConfig(als=als, serving=ServingConfig("warm", 5))
    assert serving_config(warm).iterations == 5
    assert serving_config(PipelineConfig(als=als, serving=ServingConfig("cold", 5))) == als
    # Never more warm sweeps than a cold fit runs.
    short = PipelineConfig(als=ALSConfig(iterations=10), serving=ServingConfig("warm", 15))
    assert serving_config(short).iterations == 10


def test_factors_carry_their_users():
    with pytest.raises(ValueError, match="3 user factor rows for 2 users"):
        ALSModel(np.zeros((3, 2)), np.zeros((4, 2)), model_users=np.arange(2))


def test_model_file_round_trip_without_pickle(tmp_path, matrix):
    users = np.arange(0, 160, 2)  # rows are users 0, 2, 4, …: the mapping must survive
    factors = fit_als(matrix, ALSConfig(factors=4, iterations=2), users)
    save_model(tmp_path / "m.npz", factors, asdict(ALSConfig(factors=4)))
    loaded, params = load_model(tmp_path / "m.npz")
    assert isinstance(loaded, ALSModel)
    np.testing.assert_array_equal(loaded.user_factors, factors.user_factors)
    np.testing.assert_array_equal(loaded.model_users, users)
    assert params["factors"] == 4
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)


def test_similar_items_are_the_cosine_of_item_factors_by_hand():
    items = np.array([[3.0, 4.0], [6.0, 8.0], [4.0, -3.0], [0.0, 0.0]], dtype=np.float32)
    model = ALSModel(np.zeros((1, 2), np.float32), items, np.arange(1))
    got = model.similar_items(np.array([0, 2]))
    # |(3,4)| = 5: cos with itself and its double is 1, with (4,-3) 0, with zero 0.
    np.testing.assert_allclose(got, [[1, 1, 0, 0], [0, 0, 1, 0]], atol=1e-6)
