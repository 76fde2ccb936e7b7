"""The ensemble: per-user standardisation by hand, the blend, blockwise = dense, the choice
on validation, and the model file round trip.

Members here are factor models whose user factors *are* a score matrix S (item factors =
identity), so each member's scores are written out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_core.config import EnsembleConfig, GraphFilterConfig, RankConfig
from recsys_core.metrics import ndcg_at_k, recall_at_k
from recsys_core.models.als import ALSModel
from recsys_core.models.blend_choice import (
    blend_metrics,
    candidate_table,
    choose_blend,
    fixed_blend,
)
from recsys_core.models.ensemble import Ensemble
from recsys_core.models.graph_filter import fit_graph_filter
from recsys_core.models.registry import load_model, save_model
from recsys_core.models.zscore import standardise_rows
from recsys_core.ranking.popular import popularity_bias
from recsys_core.ranking.topk import contains
from recsys_core.scoring.batch import ranked_lists, score_all_users
from tests.core.helpers import block_scores


def _member(scores: np.ndarray) -> ALSModel:
    scores = np.asarray(scores, dtype=np.float32)
    return ALSModel(scores, np.eye(scores.shape[1], dtype=np.float32), np.arange(len(scores)))


def test_standardise_rows_by_hand():
    # [1, 2, 3]: mean 2, variance 2/3, so z = ∓√1.5 and 0; a constant row becomes 0.
    rows = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]], dtype=np.float32)
    standardise_rows(rows, weight=2.0)
    np.testing.assert_allclose(rows[0], [-2 * 1.5**0.5, 0, 2 * 1.5**0.5], rtol=1e-6)
    np.testing.assert_array_equal(rows[1], [0, 0, 0])


def test_standardise_rows_keeps_precision_under_a_large_offset():
    rows = np.array([[1e4 + 1, 1e4 + 2, 1e4 + 3]], dtype=np.float32)
    standardise_rows(rows)
    np.testing.assert_allclose(rows[0], [-(1.5**0.5), 0, 1.5**0.5], rtol=1e-5)


def test_blend_by_hand():
    # Member a's row [0, 3, 6] has z [-√1.5, 0, √1.5]; member b's [2, 2, 8] has mean 4 and
    # variance 8, z [-1/√2, -1/√2, √2]. Weights 0.25 / 0.75, popularity term [1, 0, 0].
    a, b = _member([[0, 3, 6]]), _member([[2, 2, 8]])
    model = Ensemble((a, b), (0.25, 0.75), np.array([1.0, 0.0, 0.0], dtype=np.float32))
    root = 1.5**0.5
    expected = [
        0.25 * -root + 0.75 * -(0.5**0.5) + 1,
        0.75 * -(0.5**0.5),
        0.25 * root + 0.75 * 2**0.5,
    ]
    np.testing.assert_allclose(block_scores(model, [0])[0], expected, rtol=1e-5)


def test_blockwise_scores_equal_a_dense_reference():
    rng = np.random.default_rng(0)
    matrix = sp.random(30, 25, density=0.25, random_state=3, format="csr", dtype=np.float32)
    graph = fit_graph_filter(matrix, GraphFilterConfig(gf_rank=6), np.arange(30))
    als = ALSModel(
        rng.standard_normal((30, 4)).astype(np.float32),
        rng.standard_normal((25, 4)).astype(np.float32),
        np.arange(30),
    )
    term = rng.random(25).astype(np.float32)
    model = Ensemble((als, graph), (0.6, 0.4), term)

    def z(x):
        return (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)

    dense_graph = block_scores(graph, np.arange(30), block=30)
    reference = 0.6 * z(als.user_factors @ als.item_factors.T) + 0.4 * z(dense_graph) + term
    np.testing.assert_allclose(block_scores(model, np.arange(30), block=7), reference, atol=1e-4)


def test_members_must_share_their_users():
    a = _member([[0, 1], [1, 0]])
    b = ALSModel(a.user_factors, a.item_factors, np.array([0, 5]))
    with pytest.raises(ValueError, match="same users"):
        Ensemble((a, b), (0.5, 0.5), np.zeros(2, np.float32))


def _complementary_members(n_users=40, n_items=12):
    """Each user's validation items are x and y. Member a scores x and a decoy d1 high and y
    middling; member b scores y and a decoy d2 high and x middling. Top-2: a finds x, b
    finds y, an even blend finds both."""
    rng = np.random.default_rng(1)
    a = rng.random((n_users, n_items)) * 0.1
    b = rng.random((n_users, n_items)) * 0.1
    x, y, d1, d2 = 0, 1, 2, 3
    a[:, [x, d1, y]] += [10, 10, 6]
    b[:, [y, d2, x]] += [10, 10, 6]
    truth = sp.csr_matrix(
        (np.ones(2 * n_users), np.tile([x, y], n_users), np.arange(0, 2 * n_users + 1, 2)),
        shape=(n_users, n_items),
    )
    seen = sp.csr_matrix((n_users, n_items), dtype=np.float32)
    return _member(a), _member(b), truth, seen


def test_the_choice_finds_the_blend_when_it_wins():
    a, b, truth, seen = _complementary_members()
    choice = choose_blend(
        [a, b], ["a", "b"], np.arange(40), seen, truth, np.zeros(12), 2, EnsembleConfig()
    )
    assert choice["chosen"] == "ensemble"
    assert 0 < choice["weights"]["a"] < 1 and 0 < choice["weights"]["b"] < 1
    assert choice["validation_sample"]["recall@2"] == pytest.approx(1.0)
    assert choice["best_single"]["a"]["recall@2"] == pytest.approx(0.5)
    assert choice["sample_users"] == 40


def test_the_choice_falls_back_to_a_single_member():
    a, _, truth, seen = _complementary_members()
    # a ranks x above its decoy; b is noise: no blend beats a alone (ties go to fewer members).
    a.user_factors[:, 2] -= 1
    noise = _member(np.random.default_rng(2).random((40, 12)))
    choice = choose_blend(
        [a, noise], ["a", "b"], np.arange(40), seen, truth, np.zeros(12), 2, EnsembleConfig()
    )
    assert choice["chosen"] == "a"
    assert choice["weights"] == {"a": 1.0, "b": 0.0}


def test_the_choice_samples_users_with_a_seed():
    a, b, truth, seen = _complementary_members(n_users=300)
    config = EnsembleConfig(ensemble_sample_users=100)
    args = ([a, b], ["a", "b"], np.arange(300), seen, truth, np.zeros(12), 2, config)
    first, again = choose_blend(*args), choose_blend(*args)
    assert first["sample_users"] == 100
    assert first["grid"] == again["grid"]


def test_seen_items_are_never_chosen_candidates():
    a, b, truth, _ = _complementary_members()
    # Every user has already seen x: only y can be found, and recall@2 is at most 0.5.
    seen = sp.csr_matrix((np.ones(40), np.zeros(40, dtype=np.int32), np.arange(41)), shape=(40, 12))
    choice = choose_blend(
        [a, b], ["a", "b"], np.arange(40), seen, truth, np.zeros(12), 2, EnsembleConfig()
    )
    assert choice["validation_sample"]["recall@2"] == pytest.approx(0.5)


def test_the_choice_is_the_same_in_small_blocks(monkeypatch):
    """A wide catalogue caps the users scored at a time (the 10x Gowalla choice took 20 GB
    in 1,024-user blocks); the grid must not depend on it."""
    import recsys_core.ranking.tiles as ranking

    a, b, truth, seen = _complementary_members(n_users=300)
    args = ([a, b], ["a", "b"], np.arange(300), seen, truth, np.zeros(12), 2, EnsembleConfig())
    whole = choose_blend(*args)
    monkeypatch.setattr(ranking, "BLOCK_CELLS", 8 * 12)
    monkeypatch.setattr(ranking, "MIN_BLOCK_ROWS", 1)
    assert ranking.tile_rows(1024, 12) == 8
    assert choose_blend(*args)["grid"] == whole["grid"]


def test_a_list_longer_than_the_candidate_table_keeps_its_metric_key():
    """Reliability v3: top_k above the blend table's width (3 × 200 on a big catalogue, here
    the 12 items) failed with KeyError 'ndcg@<k>': the metrics were keyed by the table's
    width. Listing every candidate finds both validation items of every user."""
    a, b, truth, seen = _complementary_members()
    args = ([a, b], ["a", "b"], np.arange(40), seen, truth, np.zeros(12), 40, EnsembleConfig())
    choice = choose_blend(*args)
    assert choice["metric"] == "ndcg@40"
    assert choice["validation_sample"]["recall@40"] == pytest.approx(1.0)


def test_blend_figures_equal_ranking_the_blended_model_over_every_item():
    """The choice scores blends on a candidate table; with every item in the table (a small
    catalogue), its figures must equal the full ranking of the blended model through the
    shared ranker (an independent path: scorers, exclusions, top-k, metrics), for the
    chosen blend and for any other point of the grid."""
    rng = np.random.default_rng(5)
    a, b = _member(rng.random((40, 12))), _member(rng.random((40, 12)))
    seen = sp.random(40, 12, density=0.15, random_state=6, format="csr", dtype=np.float32)
    truth = sp.random(40, 12, density=0.2, random_state=7, format="csr", dtype=np.float32)
    truth = (truth - truth.multiply(seen > 0)).tocsr()  # a held-out item is never seen
    truth.eliminate_zeros()
    truth.data[:] = 1.0
    popularity = rng.integers(0, 30, 12).astype(np.float32)
    rows, has_truth = np.arange(40), np.diff(truth.indptr) > 0

    def full_ranking(weights: tuple[float, float], popularity_weight: float) -> dict:
        term = popularity_bias(popularity, popularity_weight)
        blended = Ensemble((a, b), weights, term)
        rank = RankConfig(top_k=3, popularity_weight=0.0)
        items, _ = ranked_lists(blended, rows, seen, [seen], popularity, rank, "test")[0]
        hits, n_relevant = contains(truth, items), np.diff(truth.indptr)
        return {
            "recall@3": recall_at_k(hits, n_relevant)[has_truth].mean(),
            "ndcg@3": ndcg_at_k(hits, n_relevant, 3)[has_truth].mean(),
        }

    choice = choose_blend([a, b], ["a", "b"], rows, seen, truth, popularity, 3, EnsembleConfig())
    chosen = full_ranking(tuple(choice["weights"].values()), choice["popularity_weight"])
    assert choice["validation_sample"] == pytest.approx(chosen, abs=1e-6)
    table = candidate_table([a, b], rows[has_truth], seen[has_truth], truth[has_truth], popularity)
    for weights, popularity_weight in (((0.5, 0.5), 1.0), ((0.2, 0.8), 0.25)):
        figures = blend_metrics(table, np.array(weights), popularity_weight, 3)
        assert figures == pytest.approx(full_ranking(weights, popularity_weight), abs=1e-6)


def test_fixed_blend():
    choice = fixed_blend(["als", "graph_filter"], EnsembleConfig(ensemble_als_weight=0.6))
    assert choice["weights"] == {"als": 0.6, "graph_filter": pytest.approx(0.4)}
    assert choice["fixed"] and choice["chosen"] == "ensemble"
    alone = fixed_blend(["als", "graph_filter"], EnsembleConfig(ensemble_als_weight=1.0))
    assert alone["chosen"] == "als"


def test_model_file_round_trip_and_serving(tmp_path):
    user_items = sp.csr_matrix(
        np.array([[1, 1, 0, 0, 0], [1, 0, 1, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 1, 1]], np.float32)
    )
    graph = fit_graph_filter(user_items, GraphFilterConfig(gf_rank=3), np.arange(4))
    als = _member(np.random.default_rng(4).random((4, 5)))
    model = Ensemble((als, graph), (0.7, 0.3), np.linspace(0, 1, 5).astype(np.float32))
    save_model(tmp_path / "m.npz", model, {"weights": {"als": 0.7, "graph_filter": 0.3}})
    loaded, params = load_model(tmp_path / "m.npz")
    assert loaded.family == "ensemble"
    assert [m.family for m in loaded.members] == ["als", "graph_filter"]
    assert params["weights"]["graph_filter"] == 0.3
    np.testing.assert_array_equal(block_scores(loaded, range(4)), block_scores(model, range(4)))
    items, _ = score_all_users(user_items, loaded, RankConfig(top_k=2, popularity_weight=0.0))
    assert not {0, 1} & set(items[0].tolist())  # seen items never come back
