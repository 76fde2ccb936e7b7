"""GF-CF: hand-worked filters on a 4 × 5 matrix, the SVD, blockwise = dense, the model file.

R (users × items)   degrees: users 2, 2, 2, 2; items 2, 2, 2, 1, 1
  u0  1 1 0 0 0
  u1  1 0 1 0 0
  u2  0 1 1 0 0
  u3  0 0 0 1 1
R̃ = D_U^-½ R D_I^-½, so R̃[u0, i0] = 1/√(2·2) = 0.5. For u0 (r = [1 1 0 0 0]):
r R̃ᵀ = [1, 0.5, 0.5, 0] over users, then × R̃ = [0.75, 0.75, 0.5, 0, 0] over items.
At full rank the ideal filter r D_I^-½ V Vᵀ D_I^½ returns r itself (r D_I^-½ lies in the
row space of R̃).

Sharpening, P = R̃ᵀR̃: P[i,i] = 0.5 for every item; P[0,1] = P[0,2] = P[1,2] = 0.25;
P[3,4] = 0.5. With s = [0.75, 0.75, 0.5, 0, 0]: sP = [0.6875, 0.6875, 0.625, 0, 0] and
sP² = [0.671875, 0.671875, 0.65625, 0, 0]. One term at T = 1: s − sP =
[0.0625, 0.0625, −0.125, 0, 0]; two: + sP²/2 = [0.3984375, 0.3984375, 0.203125, 0, 0].
"""

from dataclasses import asdict, replace

import numpy as np
import scipy.sparse as sp

from recsys_core.config import GraphFilterConfig, RankConfig
from recsys_core.models.graph_filter import fit_graph_filter
from recsys_core.models.registry import load_model, save_model
from recsys_core.models.spectrum import randomized_svd
from recsys_core.scoring.batch import score_all_users
from tests.core.helpers import block_scores

R = sp.csr_matrix(
    np.array([[1, 1, 0, 0, 0], [1, 0, 1, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 1, 1]], dtype=np.float32)
)
USERS = np.arange(4)


def test_linear_filter_by_hand():
    model = fit_graph_filter(R, GraphFilterConfig(gf_rank=4, gf_ideal_weight=0.0), USERS)
    np.testing.assert_allclose(block_scores(model, [0])[0], [0.75, 0.75, 0.5, 0, 0], atol=1e-6)


def test_sharpening_by_hand():
    one = GraphFilterConfig(gf_rank=4, gf_ideal_weight=0.0, gf_sharpen_steps=1, gf_sharpen_t=1.0)
    model = fit_graph_filter(R, one, USERS)
    np.testing.assert_allclose(
        block_scores(model, [0])[0], [0.0625, 0.0625, -0.125, 0, 0], atol=1e-6
    )
    two = fit_graph_filter(R, replace(one, gf_sharpen_steps=2), USERS)
    np.testing.assert_allclose(
        block_scores(two, [0])[0], [0.3984375, 0.3984375, 0.203125, 0, 0], atol=1e-6
    )


def test_sharpened_blocks_equal_a_dense_reference():
    matrix = sp.random(30, 25, density=0.2, random_state=2, format="csr", dtype=np.float32)
    matrix.data[:] = 1
    config = GraphFilterConfig(gf_rank=8, gf_ideal_weight=0.4, gf_sharpen_steps=3, gf_sharpen_t=0.7)
    sharpened = fit_graph_filter(matrix, config, np.arange(30))
    plain = replace(sharpened, sharpen_steps=0)
    dense = matrix.toarray()
    d_u = np.where(dense.sum(1) > 0, dense.sum(1), 1) ** -0.5
    d_i = np.where(dense.sum(0) > 0, dense.sum(0), 1) ** -0.5
    p = (d_u[:, None] * dense * d_i[None, :]).T @ (d_u[:, None] * dense * d_i[None, :])
    series = np.eye(25) - 0.7 * p + 0.7**2 / 2 * p @ p - 0.7**3 / 6 * p @ p @ p
    reference = block_scores(plain, np.arange(30), block=30) @ series
    np.testing.assert_allclose(
        block_scores(sharpened, np.arange(30), block=7), reference, atol=1e-4
    )


def test_ideal_filter_at_full_rank_returns_the_row():
    model = fit_graph_filter(R, GraphFilterConfig(gf_rank=4, gf_ideal_weight=1.0), USERS)
    np.testing.assert_allclose(block_scores(model, [0])[0], [1.75, 1.75, 0.5, 0, 0], atol=1e-5)


def test_weights_are_ignored_only_their_pattern_counts():
    weighted = R.copy()
    weighted.data = np.array([3.0, 0.5, 2, 2, 9, 9, 1, 7], dtype=np.float32)
    config = GraphFilterConfig(gf_rank=4, gf_ideal_weight=0.3)
    a = fit_graph_filter(R, config, USERS)
    b = fit_graph_filter(weighted, config, USERS)
    np.testing.assert_allclose(block_scores(a, USERS), block_scores(b, USERS), atol=1e-6)


def test_randomized_svd_is_seeded_and_exact_at_full_rank():
    matrix = sp.random(60, 40, density=0.2, random_state=1, format="csr", dtype=np.float32)
    v1, right1 = randomized_svd(matrix, 10, seed=3)
    v2, right2 = randomized_svd(matrix, 10, seed=3)
    np.testing.assert_array_equal(right1, right2)
    exact = np.linalg.svd(matrix.toarray(), compute_uv=False)
    np.testing.assert_allclose(v1, exact[:10], rtol=1e-3)
    full, right = randomized_svd(matrix, 40, seed=3)
    np.testing.assert_allclose(full, exact[:40], rtol=1e-4, atol=1e-5)
    # The vectors too: orthonormal, and each stretched by its own singular value.
    np.testing.assert_allclose(right.T @ right, np.eye(40), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(matrix @ right, axis=0), full, atol=1e-5)
    assert right.flags.c_contiguous


def test_blockwise_scores_equal_a_dense_reference():
    matrix = sp.random(30, 25, density=0.2, random_state=2, format="csr", dtype=np.float32)
    matrix.data[:] = 1
    model = fit_graph_filter(
        matrix, GraphFilterConfig(gf_rank=8, gf_ideal_weight=0.4), np.arange(30)
    )
    dense = matrix.toarray()
    d_u = np.where(dense.sum(1) > 0, dense.sum(1), 1) ** -0.5
    d_i = np.where(dense.sum(0) > 0, dense.sum(0), 1) ** -0.5
    normalised = d_u[:, None] * dense * d_i[None, :]
    v = model.right
    reference = dense @ normalised.T @ normalised + 0.4 * (dense * d_i) @ v @ (v.T / d_i[None, :])
    np.testing.assert_allclose(block_scores(model, np.arange(30), block=7), reference, atol=1e-4)


def test_model_file_round_trip_and_serving(tmp_path):
    config = GraphFilterConfig(gf_rank=3, gf_ideal_weight=0.3, gf_sharpen_steps=2)
    model = fit_graph_filter(R, config, USERS)
    save_model(tmp_path / "m.npz", model, asdict(config))
    loaded, params = load_model(tmp_path / "m.npz")
    assert params["gf_rank"] == 3
    assert (loaded.sharpen_steps, loaded.sharpen_t) == (2, 0.5)
    np.testing.assert_array_equal(block_scores(loaded, USERS), block_scores(model, USERS))
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data:
        assert str(data["family"]) == "graph_filter"
    items, _ = score_all_users(R, loaded, RankConfig(top_k=2, popularity_weight=0.0))
    assert items[0, 0] == 2  # u0's only co-visited unseen item
    assert not {0, 1} & set(items[0].tolist())  # seen items never come back


def test_rank_never_exceeds_the_matrix():
    model = fit_graph_filter(R, GraphFilterConfig(gf_rank=50), USERS)
    assert model.right.shape == (5, 4)
