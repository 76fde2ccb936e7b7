"""What every reader returns: parsed rows plus the rows it rejected, with where and why."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from recsys_core.columns import Columns

BAD_ROWS_SCHEMA = pa.schema(
    [
        (Columns.LINE, pa.int64()),
        (Columns.COLUMN, pa.string()),
        (Columns.REASON, pa.string()),
        (Columns.RAW, pa.string()),
    ]
)


@dataclass(frozen=True, slots=True)
class RawRead:
    """A reader's result.

    ``rows`` has ``user_id``, ``item_id``, ``weight`` (float32), ``position`` (int64, file
    order) and optionally ``timestamp``. ``bad`` follows ``BAD_ROWS_SCHEMA``; ``line`` is the
    1-based physical line of a text file or the 1-based row of a Parquet file.
    ``units`` counts what ``bad`` is a fraction of (lines or rows read).
    """

    rows: pa.Table
    bad: pa.Table
    units: int
    line_label: str = "line"


def bad_rows(lines: np.ndarray, columns: list[str] | np.ndarray, reasons, raws) -> pa.Table:
    """Build a bad-rows table from parallel arrays (reasons/raws may be scalars)."""
    n = len(lines)
    as_list = lambda v: list(v) if not isinstance(v, str) else [v] * n  # noqa: E731
    return pa.table(
        {
            Columns.LINE: pa.array(np.asarray(lines, dtype=np.int64)),
            Columns.COLUMN: pa.array(as_list(columns), pa.string()),
            Columns.REASON: pa.array(as_list(reasons), pa.string()),
            Columns.RAW: pa.array(as_list(raws), pa.string()),
        },
        schema=BAD_ROWS_SCHEMA,
    )
