"""An interactions Parquet: ``user_id``, ``item_id``, optional ``weight`` and ``timestamp``.

Rows are taken in file order (that order is the interaction order the split uses unless a
timestamp is present). Ids keep their Parquet type (integers become int64).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recsys_core.columns import Columns
from recsys_core.errors import InputError
from recsys_core.io.events import parse_timestamps
from recsys_core.io.raw import RawRead, RowChecks, kept_interactions


def read_interactions_parquet(path: str | Path) -> RawRead:
    """Read an interactions Parquet; rows with null ids or non-positive weights are bad."""
    path = Path(path)
    names = pq.read_schema(path).names
    for required in (Columns.USER_ID, Columns.ITEM_ID):
        if required not in names:
            raise InputError(str(path), f"a column named {required!r}", got=", ".join(names))
    table = pq.read_table(path)
    n = table.num_rows
    users = table.column(Columns.USER_ID).combine_chunks()
    items = table.column(Columns.ITEM_ID).combine_chunks()
    checks = RowChecks(n)
    checks.flag(pc.is_null(users).to_numpy(False), Columns.USER_ID, "expected a non-null id")
    checks.flag(pc.is_null(items).to_numpy(False), Columns.ITEM_ID, "expected a non-null id")
    if Columns.WEIGHT in names:
        weights = pc.cast(table.column(Columns.WEIGHT).combine_chunks(), pa.float64())
        w = weights.to_numpy(zero_copy_only=False)
        checks.flag(~(np.isfinite(w) & (w > 0)), Columns.WEIGHT, "expected a finite weight > 0")
        w = np.where(np.isfinite(w), w, 0.0)  # bad rows are dropped; keep the cast quiet
    else:
        w = np.ones(n)
    timestamps = None
    if Columns.TIMESTAMP in names:
        timestamps, ok = parse_timestamps(table.column(Columns.TIMESTAMP).combine_chunks())
        checks.flag(~ok, Columns.TIMESTAMP, "expected a timestamp")
    return RawRead(
        rows=kept_interactions(~checks.bad, users, items, w, timestamps),
        bad=checks.report(table, np.arange(1, n + 1)),
        units=n,
        line_label="row",
    )
