"""evaluate() on a hand-worked split: the two protocols' mean rules and test exclusions.

Items score 4, 3, 2, 1 for every user (one factor), popularity weight 0, k = 2.
User 0: train {0}, validation {1}, test {2}. User 1: train {3}, no validation, test {0}.
User 2 is short (not evaluated) with item {1}.
"""

import numpy as np
import pytest

from recsys_core.columns import Parts
from recsys_core.config import RankConfig
from recsys_core.data.matrices import SplitArrays
from recsys_core.evaluation.protocol import evaluate
from recsys_core.models.als import ALSModel

T, V, X, N = Parts.TRAIN, Parts.VALIDATION, Parts.TEST, Parts.NOT_EVALUATED
SPLIT = SplitArrays(
    users=np.array([0, 0, 0, 1, 1, 2]),
    items=np.array([0, 1, 2, 3, 0, 1]),
    weights=np.ones(6, dtype=np.float32),
    parts=np.array([T, V, X, T, X, N], dtype=np.int8),
    n_users=3,
    n_items=4,
)
ITEMS = np.array([[4.0], [3.0], [2.0], [1.0]], dtype=np.float32)
RANK = RankConfig(top_k=2, popularity_weight=0.0)


def _factors(users):
    return ALSModel(np.ones((len(users), 1), np.float32), ITEMS, model_users=np.array(users))


def test_standard_excludes_validation_from_the_test_list_and_skips_empty_parts():
    metrics = evaluate(SPLIT, _factors([0, 1, 2]), RANK, "standard")
    # Validation: only user 0 has a part; its list [1, 2] finds item 1 at rank 1.
    assert metrics["validation"]["recall@2"] == 1.0
    assert metrics["validation"]["precision@2"] == 0.5
    # Test: user 0's list drops validation item 1 -> [2, 3], a hit at rank 1 (seed mode
    # would find it at rank 2); user 1's list [0, 1] hits at rank 1. Both count.
    assert metrics["test"]["map@2"] == 1.0
    assert metrics["test"]["ndcg@2"] == 1.0
    # Lists of users 0 and 1 cover items {0, 1, 2} of 4.
    assert metrics["validation"]["coverage@2"] == 0.75


def test_seed_uses_one_list_and_counts_empty_parts_as_zero():
    metrics = evaluate(SPLIT, _factors([0, 1]), RANK, "seed")
    # Validation: user 0 recall 1, user 1 (no validation items) counts 0.
    assert metrics["validation"]["recall@2"] == 0.5
    assert metrics["validation"]["precision@2"] == 0.25
    # Test on the same lists: user 0 finds item 2 at rank 2 (AP 1/2, NDCG 1/log2 3),
    # user 1 finds item 0 at rank 1.
    assert metrics["test"]["recall@2"] == 1.0
    assert metrics["test"]["map@2"] == pytest.approx((0.5 + 1.0) / 2)
    assert metrics["test"]["ndcg@2"] == pytest.approx((1 / np.log2(3) + 1.0) / 2)


def test_every_table_has_every_metric():
    metrics = evaluate(SPLIT, _factors([0, 1, 2]), RANK, "standard")
    assert set(metrics) == {"validation", "test", "popularity", "popularity_validation"}
    for table in metrics.values():
        assert set(table) == {"recall@2", "precision@2", "map@2", "ndcg@2", "coverage@2"}


def test_a_model_of_other_users_is_refused():
    with pytest.raises(ValueError, match="not trained on this split's users"):
        evaluate(SPLIT, _factors([0, 1]), RANK, "standard")  # standard trains users 0, 1, 2
