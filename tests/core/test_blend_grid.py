"""The blend grid's compiled metrics against a plain numpy ranking of every grid point."""

import numpy as np
import pytest

from recsys_core.metrics import ndcg_at_k, recall_at_k
from recsys_core.models.blend_choice import POPULARITY_GRID, weight_grid
from recsys_core.models.blend_grid import grid_metrics


def _reference(z, log_popularity, hits, allowed, n_relevant, weights, popularity, k):
    """Each point ranked by a stable sort of its scores (a tie goes to the earlier
    candidate), disallowed candidates never listed."""
    recall = np.zeros((len(weights), len(popularity)))
    ndcg = np.zeros_like(recall)
    for w, vector in enumerate(weights):
        for p, weight in enumerate(popularity):
            scores = np.tensordot(vector, z.astype(np.float64), axes=1) + weight * log_popularity
            scores[~allowed] = -np.inf
            top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            listed = np.take_along_axis(hits, top, 1) & np.isfinite(
                np.take_along_axis(scores, top, 1)
            )
            recall[w, p] = recall_at_k(listed, n_relevant).mean()
            ndcg[w, p] = ndcg_at_k(listed, n_relevant, k).mean()
    return recall, ndcg


@pytest.mark.parametrize(("members", "candidates", "k"), [(3, 40, 5), (2, 4, 5), (1, 25, 3)])
def test_grid_metrics_equal_a_full_ranking_of_every_point(members, candidates, k):
    rng = np.random.default_rng(members)
    users = 60
    # Few distinct values, so ties are common: the tie rule is part of what is compared.
    z = rng.integers(-2, 3, (members, users, candidates)).astype(np.float32)
    log_popularity = rng.integers(0, 3, (users, candidates)).astype(np.float32)
    hits = rng.random((users, candidates)) < 0.2
    allowed = rng.random((users, candidates)) < 0.8
    n_relevant = hits.sum(axis=1) + rng.integers(0, 2, users)
    n_relevant[:2] = 0  # a user with nothing held out counts 0
    weights = weight_grid(members, 0.25)
    popularity = np.array([0.0, 0.5, 1.0, 2.0])
    table = (z, log_popularity, hits, allowed, n_relevant, weights, popularity, k)
    expected = _reference(*table)
    for threads in (1, 2, 3):
        got = grid_metrics(*table, threads=threads)
        np.testing.assert_allclose(got[0], expected[0], atol=1e-12)
        np.testing.assert_allclose(got[1], expected[1], atol=1e-12)


def test_grid_metrics_on_real_valued_scores_and_the_default_grid():
    """Consecutive points rank alike, so the previous list's floor skips most candidates:
    the figures must still be every point's own."""
    rng = np.random.default_rng(9)
    users, candidates, k = 80, 120, 20
    z = rng.standard_normal((3, users, candidates)).astype(np.float32)
    log_popularity = (rng.random((users, candidates)) * 4).astype(np.float32)
    hits = rng.random((users, candidates)) < 0.05
    allowed = rng.random((users, candidates)) < 0.95
    n_relevant = hits.sum(axis=1) + 1
    weights, popularity = weight_grid(3), np.array(POPULARITY_GRID)
    table = (z, log_popularity, hits, allowed, n_relevant, weights, popularity, k)
    expected = _reference(*table)
    got = grid_metrics(*table)
    np.testing.assert_allclose(got[0], expected[0], atol=1e-6)
    np.testing.assert_allclose(got[1], expected[1], atol=1e-6)


def test_grid_metrics_without_users():
    empty = np.zeros((2, 0, 5), np.float32)
    none = np.zeros((0, 5))
    recall, ndcg = grid_metrics(
        empty, none, none > 0, none > 0, np.zeros(0, int), weight_grid(2), np.array([0.0]), 3
    )
    assert recall.shape == ndcg.shape == (11, 1) and not recall.any() and not ndcg.any()
