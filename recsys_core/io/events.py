"""Event logs (seed 001): CSV, TSV or Parquet with user, item, event and optional timestamp.

Each event becomes one interaction whose weight is its event's strength (seed 001: view 1,
query_search 2, click 3, compare 4). Rows are checked column by column; every bad row is
reported with its 1-based line (text; header is line 1) or row (Parquet).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from recsys_core.config import IngestConfig
from recsys_core.errors import InputError
from recsys_core.io.raw import RawRead, RowChecks, bad_rows, kept_interactions
from recsys_core.io.source import format_suffix, read_input_bytes, require_utf8


def _read_text_table(path: Path, columns: list[str]) -> tuple[pa.Table, list]:
    """Read a CSV/TSV with every column as text; malformed lines are collected or raised."""
    malformed: list[tuple[int, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        # Exceptions raised here are swallowed by Arrow: collect, decide after the read.
        malformed.append((row.number, f"expected {row.expected_columns} fields", row.text))
        return "skip"

    delimiter = "\t" if format_suffix(path) in {".tsv", ".tab"} else ","
    data = read_input_bytes(path)
    require_utf8(path, data)
    header = data[: data.find(b"\n") if b"\n" in data else len(data)].decode()
    names = next(csv.reader([header.rstrip("\r")], delimiter=delimiter), [])
    for parameter, name in zip(("user_col", "item_col", "event_col"), columns, strict=False):
        if name not in names:
            raise InputError(
                str(path),
                f"a header column named {name!r}",
                line=1,
                got=",".join(names),
                hint=f"set {parameter} to the column's name",
            )
    table = pacsv.read_csv(
        pa.BufferReader(data),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
        # Serial reading is what lets Arrow report the physical line of a malformed row.
        read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 24),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            strings_can_be_null=False,
        ),
    )
    return table, malformed


def parse_timestamps(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """ISO-8601 text or integer epoch seconds → timestamp[us, UTC]; returns (values, ok mask)."""
    if pa.types.is_timestamp(values.type):
        ts = values if values.type.tz else pc.assume_timezone(values, "UTC")
        return pc.cast(ts, pa.timestamp("us", tz="UTC")), ~pc.is_null(values).to_numpy(False)
    if pa.types.is_integer(values.type):
        ok = ~pc.is_null(values).to_numpy(zero_copy_only=False)
        return pc.cast(
            pc.multiply(pc.cast(values, pa.int64()), 1_000_000), pa.timestamp("us", tz="UTC")
        ), ok
    text = pc.cast(values, pa.string())
    is_epoch = pc.match_substring_regex(text, r"^-?[0-9]{1,12}$").to_numpy(zero_copy_only=False)
    n = len(text)
    micros = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    if is_epoch.any():
        micros[is_epoch] = (
            pc.cast(pc.filter(text, pa.array(is_epoch)), pa.int64()).to_numpy() * 1_000_000
        )
        ok[is_epoch] = True
    rest = np.flatnonzero(~is_epoch)
    if len(rest):
        # Arrow's ISO-8601 cast fails as a whole on one bad value: cast what looks right.
        candidates = pc.take(text, pa.array(rest))
        looks_iso = pc.match_substring_regex(
            candidates,
            r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$",
        ).to_numpy(zero_copy_only=False)
        has_zone = pc.match_substring_regex(candidates, r"(Z|[+-]\d{2}:?\d{2})$").to_numpy(False)
        # Naive times are read as UTC; times with a zone are converted to UTC.
        for zoned, target in ((False, pa.timestamp("us")), (True, pa.timestamp("us", tz="UTC"))):
            idx = rest[looks_iso & (has_zone == zoned)]
            if len(idx):
                parsed = pc.cast(pc.take(text, pa.array(idx)), target)
                micros[idx] = pc.cast(parsed, pa.int64()).to_numpy(zero_copy_only=False)
                ok[idx] = True
    return pa.array(micros, pa.timestamp("us", tz="UTC")), ok


def read_events(path: str | Path, config: IngestConfig) -> RawRead:
    """Read an event log into interactions weighted by ``config.event_strengths``."""
    path = Path(path)
    is_parquet = format_suffix(path) in {".parquet", ".pq"}
    wanted = [config.user_col, config.item_col, config.event_col]
    if is_parquet:
        names = pq.read_schema(path).names
        for parameter, name in zip(("user_col", "item_col", "event_col"), wanted, strict=True):
            if name not in names:
                raise InputError(
                    str(path),
                    f"a column named {name!r}",
                    got=", ".join(names),
                    hint=f"set {parameter} to the column's name",
                )
        has_ts = config.timestamp_col in names
        table = pq.read_table(path, columns=wanted + ([config.timestamp_col] if has_ts else []))
        malformed: list = []
        line_numbers = np.arange(1, table.num_rows + 1, dtype=np.int64)
    else:
        table, malformed = _read_text_table(path, wanted)
        has_ts = config.timestamp_col in table.column_names
        # Header is line 1; assumes no quoted newlines inside fields.
        line_numbers = _csv_line_numbers(table.num_rows, malformed)
    n = table.num_rows
    checks = RowChecks(n)
    users = table.column(config.user_col).combine_chunks()
    items = table.column(config.item_col).combine_chunks()
    events = pc.cast(table.column(config.event_col).combine_chunks(), pa.string())
    for name, col in ((config.user_col, users), (config.item_col, items)):
        empty = pc.is_null(col).to_numpy(zero_copy_only=False)
        if pa.types.is_string(col.type):
            empty |= pc.equal(pc.utf8_trim_whitespace(col), "").fill_null(True).to_numpy(False)
        checks.flag(empty, name, "expected a non-empty id")
    strengths = _strengths(config.event_strengths)
    event_index = pc.index_in(events, value_set=pa.array(list(strengths), pa.string()))
    unknown = pc.is_null(event_index).to_numpy(zero_copy_only=False)
    checks.flag(unknown, config.event_col, f"expected one of {', '.join(strengths)}")
    timestamps = None
    if has_ts:
        timestamps, ts_ok = parse_timestamps(table.column(config.timestamp_col).combine_chunks())
        checks.flag(
            ~ts_ok, config.timestamp_col, "expected an ISO-8601 time or integer epoch seconds"
        )

    bad = checks.report(table, line_numbers)
    if malformed:
        mal = bad_rows(
            np.array([m[0] for m in malformed]),
            [""] * len(malformed),
            [m[1] for m in malformed],
            [m[2] for m in malformed],
        )
        bad = pa.concat_tables([mal, bad])
    strength_values = np.asarray(list(strengths.values()), dtype=np.float32)
    # Unknown events (bad rows, dropped below) borrow index 0 so the lookup stays vectorised.
    weights = strength_values[event_index.fill_null(0).to_numpy(zero_copy_only=False)]
    return RawRead(
        rows=kept_interactions(~checks.bad, users, items, weights, timestamps),
        bad=bad,
        units=n + len(malformed),
        line_label="row" if is_parquet else "line",
    )


def _strengths(mapping: Mapping[str, float]) -> dict[str, float]:
    if not mapping:
        raise ValueError("event_strengths must map at least one event type to a strength")
    return {str(k): float(v) for k, v in mapping.items()}


def _csv_line_numbers(n_rows: int, malformed: list) -> np.ndarray:
    """Physical line of each parsed row: skipped malformed lines shift the ones after them."""
    skipped = np.sort(np.array([m[0] for m in malformed], dtype=np.int64))
    lines = np.arange(2, n_rows + 2, dtype=np.int64)
    # Row r lands on line r + 2 + (number of skipped lines at or before it): a fixed point
    # reached by one searchsorted per skipped line at most; in practice two passes.
    for _ in range(len(skipped) + 1):
        shifted = np.arange(2, n_rows + 2) + np.searchsorted(skipped, lines, side="right")
        if np.array_equal(shifted, lines):
            break
        lines = shifted
    return lines
