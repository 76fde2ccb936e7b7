"""Serving lists: the candidate pool (eval_mode's serving half) and the long table."""

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

from recsys_core.config import RankConfig
from recsys_core.models.als import ALSModel
from recsys_core.scoring.batch import candidate_pool_sizes, recommendations_table, score_all_users

# Items score 4, 3, 2, 1; item 3 is the most popular (users 1 and 2), item 0 next (user 0).
SEEN = sp.csr_matrix(([1.0, 1.0, 1.0], ([0, 1, 2], [0, 3, 3])), shape=(3, 4))
FACTORS = ALSModel(
    np.ones((3, 1), np.float32),
    np.array([[4.0], [3.0], [2.0], [1.0]], np.float32),
    model_users=np.arange(3),
)


def test_all_items_blends_popularity_over_every_item():
    rank = RankConfig(top_k=2, popularity_weight=10.0, candidate_pool="all_items")
    items, scores = score_all_users(SEEN, FACTORS, rank)
    # User 0: item 3 scores 1 + 10·log1p(2) = 11.99, ahead of item 1's 3.
    assert items[0].tolist() == [3, 1]
    assert scores[0, 0] == pytest.approx(1 + 10 * np.log1p(2), rel=1e-6)


def test_seed_pool_reranks_only_the_models_top_items():
    rank = RankConfig(
        top_k=2, popularity_weight=10.0, candidate_pool="seed_pool", seed_pool_extra=0
    )
    # User 0's pool is its k + |seen| = 3 best raw items {0, 1, 2}: item 3 is out of reach.
    assert candidate_pool_sizes(SEEN, rank).tolist() == [3, 3, 3]
    items, _ = score_all_users(SEEN, FACTORS, rank)
    assert items[0].tolist() == [1, 2]
    assert candidate_pool_sizes(SEEN, RankConfig(candidate_pool="all_items")) is None


def test_recommendations_table_drops_empty_slots_and_keeps_id_types():
    items = np.array([[1, -1], [0, 1]])
    scores = np.array([[0.5, -np.inf], [0.9, 0.1]])
    table = recommendations_table(items, scores, pa.array([7, 9]), pa.array(["a", "b"]))
    assert table.to_pydict() == {
        "user_id": [7, 9, 9],
        "rank": [1, 1, 2],
        "item_id": ["b", "a", "b"],
        "score": pytest.approx([0.5, 0.9, 0.1]),
    }
    assert table.schema.field("rank").type == pa.int16()
    assert table.schema.field("score").type == pa.float32()
