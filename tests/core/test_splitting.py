"""Splitters: seed 000's ordered cut, shuffled input, leave-k-out, time cutoff."""

import numpy as np
import pyarrow as pa
import pytest

from recsys_core.columns import Parts
from recsys_core.config import SplitConfig
from recsys_core.data.splitting import split_interactions


def _table(users, items, positions=None, timestamps=None):
    n = len(users)
    columns = {
        "user_index": pa.array(np.asarray(users, dtype=np.int32)),
        "item_index": pa.array(np.asarray(items, dtype=np.int32)),
        "weight": pa.array(np.ones(n, dtype=np.float32)),
        "position": pa.array(np.arange(n) if positions is None else np.asarray(positions)),
    }
    if timestamps is not None:
        columns["timestamp"] = pa.array(np.asarray(timestamps, dtype="datetime64[us]"))
    return pa.table(columns)


def _as_dict(split):
    return {
        (u, i): p
        for u, i, p in zip(
            split.column("user_index").to_pylist(),
            split.column("item_index").to_pylist(),
            split.column("part").to_pylist(),
            strict=True,
        )
    }


def test_seed_cuts_by_hand():
    # user 0: 10 distinct items → int(7.0)=7 train, int(8.0)=8 → 1 validation, 2 test
    # user 1: 6 distinct → int(4.2)=4 train, int(4.8)=4 → no validation, 2 test
    # user 2: 4 distinct (< 5) → not evaluated
    users = [0] * 10 + [1] * 6 + [2] * 4
    items = list(range(10)) + list(range(6)) + list(range(4))
    split = split_interactions(_table(users, items), 3, 10, SplitConfig())
    parts = split.column("part").to_pylist()
    assert parts[:10] == [0] * 7 + [1] + [2] * 2
    assert parts[10:16] == [0] * 4 + [2] * 2
    assert parts[16:] == [Parts.NOT_EVALUATED] * 4


def test_repeats_keep_first_occurrence_and_sum_weights():
    users = [0] * 7
    items = [5, 4, 5, 3, 2, 4, 1]  # 5 distinct, first-occurrence order 5 4 3 2 1
    split = split_interactions(_table(users, items), 1, 6, SplitConfig())
    assert split.column("item_index").to_pylist() == [5, 4, 3, 2, 1]
    assert split.column("weight").to_pylist() == [2.0, 2.0, 1.0, 1.0, 1.0]
    assert split.column("part").to_pylist() == [0, 0, 0, 1, 2]  # int(3.5)=3, int(4.0)=4


def test_shuffled_rows_give_the_same_split():
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(50), rng.integers(1, 30, 50))
    items = rng.integers(0, 40, len(users))
    table = _table(users, items)
    reference = _as_dict(split_interactions(table, 50, 40, SplitConfig()))
    shuffled = table.take(pa.array(rng.permutation(len(users))))
    assert _as_dict(split_interactions(shuffled, 50, 40, SplitConfig())) == reference


def test_leave_k_out_is_seeded_and_sized():
    users = np.repeat(np.arange(20), 8)
    items = np.tile(np.arange(8), 20)
    config = SplitConfig(split_strategy="leave_k_out", leave_k=2, random_state=7)
    first = split_interactions(_table(users, items), 20, 8, config)
    again = split_interactions(_table(users, items), 20, 8, config)
    assert _as_dict(first) == _as_dict(again)
    parts = np.asarray(first.column("part")).reshape(20, 8)
    assert ((parts == Parts.TEST).sum(axis=1) == 2).all()
    assert ((parts == Parts.VALIDATION).sum(axis=1) == 2).all()
    other = split_interactions(
        _table(users, items),
        20,
        8,
        SplitConfig(split_strategy="leave_k_out", leave_k=2, random_state=8),
    )
    assert _as_dict(other) != _as_dict(first)


def test_time_cutoff_uses_first_timestamp_not_row_order():
    times = ["2026-01-05", "2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-06"]
    table = _table([0] * 6, [0, 1, 2, 3, 4, 5], timestamps=times)
    config = SplitConfig(
        split_strategy="time_cutoff", validation_cutoff="2026-01-03", test_cutoff="2026-01-05"
    )
    got = _as_dict(split_interactions(table, 1, 6, config))
    assert got == {(0, 1): 0, (0, 2): 0, (0, 3): 1, (0, 4): 1, (0, 0): 2, (0, 5): 2}


def test_time_cutoff_without_timestamps_is_an_error():
    config = SplitConfig(
        split_strategy="time_cutoff", validation_cutoff="2026-01-03", test_cutoff="2026-01-05"
    )
    with pytest.raises(ValueError, match="timestamped"):
        split_interactions(_table([0] * 5, range(5)), 1, 5, config)
