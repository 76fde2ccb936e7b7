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
from recsys_core.io.events import _parse_timestamps
from recsys_core.io.ids import normalise_ids
from recsys_core.io.raw import RawRead, bad_rows


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
    reasons = np.full(n, "", dtype=object)
    columns = np.full(n, "", dtype=object)

    def flag(mask: np.ndarray, column: str, reason: str) -> None:
        fresh = mask & (reasons == "")
        reasons[fresh], columns[fresh] = reason, column

    flag(pc.is_null(users).to_numpy(False), Columns.USER_ID, "expected a non-null id")
    flag(pc.is_null(items).to_numpy(False), Columns.ITEM_ID, "expected a non-null id")
    if Columns.WEIGHT in names:
        weights = pc.cast(table.column(Columns.WEIGHT).combine_chunks(), pa.float64())
        w = weights.to_numpy(zero_copy_only=False)
        flag(~(np.isfinite(w) & (w > 0)), Columns.WEIGHT, "expected a finite weight > 0")
        w = np.nan_to_num(w).astype(np.float32)
    else:
        w = np.ones(n, dtype=np.float32)
    timestamps = None
    if Columns.TIMESTAMP in names:
        timestamps, ok = _parse_timestamps(table.column(Columns.TIMESTAMP).combine_chunks())
        flag(~ok, Columns.TIMESTAMP, "expected a timestamp")
    bad_mask = reasons != ""
    bad_idx = np.flatnonzero(bad_mask)
    picked = table.take(pa.array(bad_idx)).to_pylist() if len(bad_idx) else []
    bad = bad_rows(
        bad_idx + 1,
        list(columns[bad_idx]),
        list(reasons[bad_idx]),
        [",".join(str(v) for v in row.values()) for row in picked],
    )
    keep = pa.array(~bad_mask)
    out = {
        Columns.USER_ID: normalise_ids(pc.filter(users, keep)),
        Columns.ITEM_ID: normalise_ids(pc.filter(items, keep)),
        Columns.WEIGHT: pa.array(w[~bad_mask]),
        Columns.POSITION: pa.array(np.flatnonzero(~bad_mask).astype(np.int64)),
    }
    if timestamps is not None:
        out[Columns.TIMESTAMP] = pc.filter(timestamps, keep)
    return RawRead(rows=pa.table(out), bad=bad, units=n, line_label="row")
