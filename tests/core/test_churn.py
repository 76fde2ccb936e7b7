"""List churn on hand-worked lists."""

import pyarrow as pa
import pytest

from recsys_core.evaluation.churn import list_churn


def _lists(rows):
    users, items = zip(*[(u, i) for u, lst in rows for i in lst], strict=True)
    ranks = [r for _, lst in rows for r in range(1, len(lst) + 1)]
    return pa.table({"user_id": list(users), "rank": ranks, "item_id": list(items)})


def test_churn_worked_by_hand():
    before = _lists([("a", ["x", "y", "z"]), ("b", ["x", "y", "z"]), ("c", ["p", "q", "r"])])
    after = _lists([("a", ["x", "y", "z"]), ("b", ["y", "x", "w"]), ("d", ["x", "y", "z"])])
    got = list_churn(before, after)
    # a: same set (1.0), same first. b: {x,y,z} vs {y,x,w}: 2 shared of 4 (0.5), first changed.
    assert got == {
        "common_users": 2,
        "mean_jaccard": pytest.approx(0.75),
        "first_item_changed": pytest.approx(0.5),
        "new_users": 1,  # d
        "removed_users": 1,  # c
    }


def test_no_common_user_has_no_overlap_figures():
    got = list_churn(_lists([("a", [1, 2])]), _lists([("b", [1, 2])]))
    assert got["mean_jaccard"] is None and got["new_users"] == 1 and got["removed_users"] == 1


def test_lists_with_other_id_types_are_not_compared():
    got = list_churn(_lists([(1, [1, 2])]), _lists([("a", [1, 2])]))
    assert got == {"comparable": False, "reason": "user_id was int64, is string"}
