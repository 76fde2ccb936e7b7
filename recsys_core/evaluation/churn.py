"""How much the lists changed between two snapshots: vectorised joins, no per-user loop.

For users in both snapshots: the mean Jaccard overlap of their top-k item sets, and the
share whose first item changed. Plus how many users are new and how many were removed.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from recsys_core.columns import Columns

USER, ITEM, RANK = Columns.USER_ID, Columns.ITEM_ID, "rank"


def _sizes(table: pa.Table) -> pa.Table:
    return table.group_by(USER).aggregate([(ITEM, "count")])


def list_churn(previous: pa.Table, current: pa.Table) -> dict:
    """Churn of ``current`` against ``previous`` (recommendation tables of the contract).

    Examples
    --------
    >>> prev = pa.table({"user_id": [1, 1, 2, 2], "rank": [1, 2, 1, 2], "item_id": [5, 6, 5, 7]})
    >>> cur = pa.table({"user_id": [1, 1, 3, 3], "rank": [1, 2, 1, 2], "item_id": [6, 5, 5, 8]})
    >>> list_churn(prev, cur)["mean_jaccard"], list_churn(prev, cur)["first_item_changed"]
    (1.0, 1.0)
    """
    for column in (USER, ITEM):
        types = previous.schema.field(column).type, current.schema.field(column).type
        if types[0] != types[1]:  # other ids altogether (a new input): nothing to compare
            return {"comparable": False, "reason": f"{column} was {types[0]}, is {types[1]}"}
    prev_users = pc.unique(previous.column(USER))
    cur_users = pc.unique(current.column(USER))
    common = pc.filter(cur_users, pc.is_in(cur_users, value_set=prev_users))
    both = [t.filter(pc.is_in(t.column(USER), value_set=common)) for t in (previous, current)]
    pairs = [t.select([USER, ITEM]) for t in both]
    overlap = (
        pairs[0]
        .join(pairs[1], keys=[USER, ITEM], join_type="inner")
        .group_by(USER)
        .aggregate([(ITEM, "count")])
        .rename_columns([USER, "overlap"])
    )
    sizes = (
        _sizes(both[0])
        .rename_columns([USER, "a"])
        .join(_sizes(both[1]).rename_columns([USER, "b"]), keys=USER)
        .join(overlap, keys=USER, join_type="left outer")
    )
    inter = pc.fill_null(sizes.column("overlap"), 0).cast(pa.float64())
    union = pc.subtract(pc.add(sizes.column("a"), sizes.column("b")).cast(pa.float64()), inter)
    jaccard = pc.divide(inter, union)
    firsts = [t.filter(pc.equal(t.column(RANK), 1)).select([USER, ITEM]) for t in both]
    first = firsts[0].rename_columns([USER, "before"]).join(firsts[1], keys=USER)
    changed = pc.not_equal(first.column("before"), first.column(ITEM))
    n_common = len(common)
    return {
        "common_users": n_common,
        "mean_jaccard": round(pc.mean(jaccard).as_py(), 6) if n_common else None,
        "first_item_changed": (
            round(pc.mean(changed.cast(pa.float64())).as_py(), 6) if n_common else None
        ),
        "new_users": len(cur_users) - n_common,
        "removed_users": len(prev_users) - n_common,
    }
