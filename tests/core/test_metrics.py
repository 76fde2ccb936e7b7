"""Metrics on tiny hand-worked cases, the empty case, and the evaluation's mean rules."""

import numpy as np
import pytest

from recsys_core.metrics import (
    average_precision_at_k,
    item_coverage,
    mean_over,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

# 3 users, k = 4. Relevant-set sizes 2, 5, 0.
HITS = np.array(
    [
        [True, False, True, False],  # hits at ranks 1 and 3
        [False, True, False, False],  # hit at rank 2
        [False, False, False, False],  # no relevant items at all
    ]
)
N_RELEVANT = np.array([2, 5, 0])
K = 4


def test_recall_by_hand():
    assert recall_at_k(HITS, N_RELEVANT).tolist() == pytest.approx([2 / 2, 1 / 5, 0.0])


def test_precision_divides_by_k():
    assert precision_at_k(HITS, K).tolist() == pytest.approx([2 / 4, 1 / 4, 0.0])


def test_average_precision_divides_by_min_relevant_k():
    # user 0: (1/1 + 2/3) / min(2, 4); user 1: (1/2) / min(5, 4)
    expected = [(1 + 2 / 3) / 2, 0.5 / 4, 0.0]
    assert average_precision_at_k(HITS, N_RELEVANT, K).tolist() == pytest.approx(expected)


def test_ndcg_by_hand():
    # user 0: (1 + 1/log2 4) / (1 + 1/log2 3); user 1: (1/log2 3) / Σ_{r≤4} 1/log2(r+1)
    ideal_4 = 1 + 1 / np.log2(3) + 1 / np.log2(4) + 1 / np.log2(5)
    expected = [(1 + 0.5) / (1 + 1 / np.log2(3)), (1 / np.log2(3)) / ideal_4, 0.0]
    assert ndcg_at_k(HITS, N_RELEVANT, K).tolist() == pytest.approx(expected)


def test_perfect_list_scores_one():
    hits = np.array([[True, True, False]])
    assert ndcg_at_k(hits, np.array([2]), 3)[0] == pytest.approx(1.0)
    assert average_precision_at_k(hits, np.array([2]), 3)[0] == pytest.approx(1.0)


def test_mean_rules_seed_counts_empty_users_standard_skips_them():
    recall = recall_at_k(HITS, N_RELEVANT)
    assert mean_over(recall) == pytest.approx((1 + 0.2 + 0) / 3)  # seed: all users
    assert mean_over(recall, N_RELEVANT > 0) == pytest.approx((1 + 0.2) / 2)  # standard


@pytest.mark.parametrize(
    "metric",
    [
        lambda h, n: recall_at_k(h, n),
        lambda h, n: precision_at_k(h, 3),
        lambda h, n: average_precision_at_k(h, n, 3),
        lambda h, n: ndcg_at_k(h, n, 3),
    ],
)
def test_empty_input(metric):
    hits = np.zeros((0, 3), dtype=bool)
    values = metric(hits, np.zeros(0, dtype=np.int64))
    assert values.shape == (0,)
    assert mean_over(values) == 0.0


def test_coverage_ignores_padding_and_handles_empty():
    assert item_coverage(np.array([[0, 1], [1, -1]]), 4) == 0.5
    assert item_coverage(np.zeros((0, 2), dtype=np.int32), 4) == 0.0
    assert item_coverage(np.zeros((0, 2), dtype=np.int32), 0) == 0.0


def test_ndcg_matches_implicit_ranking_metrics():
    """Cross-check against implicit.evaluation on a random case where definitions agree."""
    import scipy.sparse as sp
    from implicit.evaluation import ranking_metrics_at_k

    from recsys_core.ranking.topk import contains

    rng = np.random.default_rng(3)
    n_users, n_items, k = 40, 30, 5
    user_f = rng.normal(size=(n_users, 4)).astype(np.float32)
    item_f = rng.normal(size=(n_items, 4)).astype(np.float32)
    test = sp.random(n_users, n_items, density=0.2, random_state=4, format="csr")
    test.data[:] = 1
    train = sp.csr_matrix((n_users, n_items))

    class Model:  # the two methods implicit's evaluation calls
        def recommend(self, userid, user_items, N, filter_already_liked_items=True, **_):
            scores = user_f[userid] @ item_f.T
            top = np.argsort(-scores, axis=1)[:, :N].astype(np.int32)
            return top, np.take_along_axis(scores, top, 1)

    reference = ranking_metrics_at_k(Model(), train, test, K=k, show_progress=False)
    items = np.argsort(-(user_f @ item_f.T), axis=1)[:, :k]
    hits = contains(test, items)
    n_rel = np.diff(test.indptr)
    ours = mean_over(ndcg_at_k(hits, n_rel, k), n_rel > 0)
    assert ours == pytest.approx(reference["ndcg"], abs=1e-6)
