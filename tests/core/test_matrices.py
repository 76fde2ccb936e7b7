"""The split's arrays and matrices: which parts train the evaluation model, shapes on disk."""

import numpy as np
import pyarrow as pa

from recsys_core.columns import Parts
from recsys_core.data.matrices import (
    SplitArrays,
    eval_training_matrix,
    full_matrix,
    read_split,
    write_split,
)

T, V, X, N = Parts.TRAIN, Parts.VALIDATION, Parts.TEST, Parts.NOT_EVALUATED
# User 0 evaluated (train {0, 1}, validation {2}, test {3}); user 1 short with items {1, 4};
# user 2 evaluated (train {4}, test {0}).
SPLIT = SplitArrays(
    users=np.array([0, 0, 0, 0, 1, 1, 2, 2]),
    items=np.array([0, 1, 2, 3, 1, 4, 4, 0]),
    weights=np.arange(1, 9, dtype=np.float32),
    parts=np.array([T, T, V, X, N, N, T, X], dtype=np.int8),
    n_users=3,
    n_items=5,
)


def test_seed_protocol_trains_evaluated_users_on_their_train_part():
    users, train = eval_training_matrix(SPLIT, "seed")
    assert users.tolist() == [0, 2]
    assert train.toarray().tolist() == [[1, 2, 0, 0, 0], [0, 0, 0, 0, 7]]


def test_standard_protocol_also_trains_on_short_users():
    users, train = eval_training_matrix(SPLIT, "standard")
    assert users.tolist() == [0, 1, 2]
    assert train.toarray().tolist() == [[1, 2, 0, 0, 0], [0, 5, 0, 0, 6], [0, 0, 0, 0, 7]]


def test_full_matrix_has_every_pair():
    assert full_matrix(SPLIT).toarray().tolist() == [
        [1, 2, 3, 4, 0],
        [0, 5, 0, 0, 6],
        [8, 0, 0, 0, 7],
    ]


def test_split_file_carries_its_shape(tmp_path):
    table = pa.table(
        {
            "user_index": pa.array(SPLIT.users, pa.int32()),
            "item_index": pa.array(SPLIT.items, pa.int32()),
            "weight": pa.array(SPLIT.weights),
            "part": pa.array(SPLIT.parts),
        }
    )
    # 7 items although the pairs only use 5: the shape comes from the file, not the data.
    write_split(table, n_users=4, n_items=7, path=tmp_path / "split.parquet")
    arrays = read_split(tmp_path / "split.parquet")
    assert (arrays.n_users, arrays.n_items) == (4, 7)
    assert full_matrix(arrays).shape == (4, 7)
    np.testing.assert_array_equal(arrays.parts, SPLIT.parts)
