"""What every reader returns: parsed rows plus the rows it rejected, with where and why."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recsys_core.columns import Columns
from recsys_core.io.ids import normalise_ids

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


class RowChecks:
    """Per row, the first check it fails (column and reason), recorded without a row loop."""

    def __init__(self, n_rows: int) -> None:
        self.columns = np.full(n_rows, "", dtype=object)
        self.reasons = np.full(n_rows, "", dtype=object)

    def flag(self, failed: np.ndarray, column: str, reason: str) -> None:
        """Mark rows in ``failed`` that no earlier check has marked."""
        fresh = failed & (self.reasons == "")
        self.columns[fresh], self.reasons[fresh] = column, reason

    @property
    def bad(self) -> np.ndarray:
        """Mask of rows that failed any check."""
        return self.reasons != ""

    def report(self, table: pa.Table, line_numbers: np.ndarray) -> pa.Table:
        """The failed rows as a bad-rows table (line, column, reason, raw text)."""
        rows = np.flatnonzero(self.bad)
        return bad_rows(
            line_numbers[rows],
            list(self.columns[rows]),
            list(self.reasons[rows]),
            row_text(table, rows),
        )


def row_text(table: pa.Table, rows: np.ndarray) -> list[str]:
    """The given rows as comma-joined text (nulls empty), for the quarantine file."""
    if not len(rows):
        return []
    picked = table.take(pa.array(rows)).to_pylist()
    return [",".join("" if v is None else str(v) for v in row.values()) for row in picked]


def kept_interactions(
    keep: np.ndarray,
    users: pa.Array,
    items: pa.Array,
    weights: np.ndarray,
    timestamps: pa.Array | None,
) -> pa.Table:
    """A reader's output rows: the ``keep`` rows, ids typed, position = row in the file."""
    mask = pa.array(keep)
    columns = {
        Columns.USER_ID: normalise_ids(pc.filter(users, mask)),
        Columns.ITEM_ID: normalise_ids(pc.filter(items, mask)),
        Columns.WEIGHT: pa.array(np.asarray(weights, dtype=np.float32)[keep]),
        Columns.POSITION: pa.array(np.flatnonzero(keep).astype(np.int64)),
    }
    if timestamps is not None:
        columns[Columns.TIMESTAMP] = pc.filter(timestamps, mask)
    return pa.table(columns)
