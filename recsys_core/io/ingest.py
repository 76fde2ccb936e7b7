"""Ingest front: pick the reader, apply the bad-row policy, write canonical Parquet."""

from __future__ import annotations

import datetime as dt
import glob
import gzip
import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recsys_core.columns import Columns
from recsys_core.config import IngestConfig
from recsys_core.errors import InputError, TooManyBadRows
from recsys_core.io.adjacency import read_adjacency
from recsys_core.io.boundary import reading
from recsys_core.io.canonical import build_canonical, write_canonical
from recsys_core.io.events import read_events
from recsys_core.io.interactions_parquet import read_interactions_parquet
from recsys_core.io.raw import RawRead
from recsys_core.io.source import format_suffix

log = logging.getLogger(__name__)

QUARANTINE_FILE = "quarantine.parquet"
# What each reader expects, for an error a library raised inside it.
READABLE = {
    "adjacency": "an adjacency list: per line a user id, then item ids, separated by spaces",
    "events": "an event log (CSV / TSV / Parquet) with the user, item and event columns",
    "parquet": "an interactions Parquet file (user_id, item_id[, weight, timestamp])",
}


@dataclass(frozen=True, slots=True)
class IngestSummary:
    """What ingest did, small enough to pass between tasks."""

    source: str  # the input as given, named by later steps' input errors
    files: list[str]  # every file read, in reading order
    window: dict | None  # the as-of window applied, with the events it left out
    input_format: str
    rows: int
    users: int
    items: int
    bad_rows: int
    # Name of the bad-rows file in the output folder, when rows were quarantined.
    quarantine_file: str | None


def detect_format(path: Path, config: IngestConfig) -> tuple[str, str]:
    """The reader for ``path`` and why: ``auto`` maps .csv/.tsv → events; .parquet with the
    event column → events, else parquet (interactions); anything else → adjacency."""
    if config.input_format != "auto":
        return config.input_format, f"input_format is {config.input_format!r}"
    suffix = format_suffix(path)  # events.csv.gz is read as a gzipped .csv
    if suffix in {".csv", ".tsv", ".tab"}:
        return "events", f"its extension is {suffix!r}"
    if suffix in {".parquet", ".pq"}:
        if config.event_col in parquet_columns(path):
            return "events", f"it has the event column {config.event_col!r}"
        return "parquet", f"it has no event column {config.event_col!r} (event_col)"
    return "adjacency", f"its extension is {suffix or 'missing'!r}, not .csv/.tsv/.parquet"


def parquet_columns(path: Path) -> list[str]:
    """The column names of a Parquet input (an :class:`InputError` when it is not one)."""
    with reading(path, "a Parquet file"):
        return pq.read_schema(path).names


def input_files(location: str | Path) -> list[Path]:
    """The files an input names: a file; a folder (its files by name, skipping names that
    start with ``.`` or ``_``); or a glob (``logs/*.csv``)."""
    text = str(location)
    path = Path(text)
    if any(char in text for char in "*?["):
        files = sorted(p for p in map(Path, glob.glob(text)) if p.is_file())
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.name[0] not in "._")
    else:
        return [require_input_file(path)]
    if not files:
        raise InputError(text, "at least one input file in the folder or matching the glob")
    return files


def read_inputs(files: list[Path], config: IngestConfig) -> tuple[str, RawRead]:
    """Read every file as one log, in order: positions run on across files; bad rows carry
    their file (``file`` column) when there are several."""
    parts = [(path, *read_any(path, config)) for path in files]
    first_path, fmt, first = parts[0]
    if len(parts) == 1:
        return fmt, first
    rows, bad, offset = [], [], 0
    for path, got_fmt, read in parts:
        if got_fmt != fmt or read.rows.schema.names != first.rows.schema.names:
            raise InputError(
                str(path),
                f"the same format and columns as {first_path.name} ({fmt}: "
                f"{', '.join(first.rows.schema.names)})",
                got=f"{got_fmt}: {', '.join(read.rows.schema.names)}",
            )
        positions = pc.add(read.rows.column(Columns.POSITION), offset)
        column = read.rows.schema.get_field_index(Columns.POSITION)
        rows.append(read.rows.set_column(column, Columns.POSITION, positions))
        files_column = pa.array([str(path)] * read.bad.num_rows, pa.string())
        bad.append(read.bad.append_column("file", files_column))
        offset += read.units
    merged = RawRead(
        rows=pa.concat_tables(rows),
        bad=pa.concat_tables(bad),
        units=offset,
        line_label=first.line_label,
    )
    return fmt, merged


def apply_window(
    rows: pa.Table, window: tuple[str | None, str] | None
) -> tuple[pa.Table, dict | None]:
    """Keep events with ``start <= timestamp < end``; a log without timestamps is kept whole
    (the window cannot apply, and the summary says so)."""
    if window is None:
        return rows, None
    start, end = window
    record = {"start": start, "end": end}
    if Columns.TIMESTAMP not in rows.schema.names:
        return rows, {**record, "applied": False, "left_out": 0, "reason": "no timestamps"}
    stamps = rows.column(Columns.TIMESTAMP)
    unit = stamps.type
    keep = pc.less(stamps, pa.scalar(dt.datetime.fromisoformat(end), unit))
    if start is not None:
        keep = pc.and_(
            keep, pc.greater_equal(stamps, pa.scalar(dt.datetime.fromisoformat(start), unit))
        )
    kept = rows.filter(keep)
    return kept, {**record, "applied": True, "left_out": rows.num_rows - kept.num_rows}


def has_timestamps(location: str | Path, config: IngestConfig) -> bool:
    """Whether the input carries event times (so an as-of window can cut it), judged from
    its first file's format and header, without reading the rows."""
    path = input_files(location)[0]
    fmt, _ = detect_format(path, config)
    if fmt == "adjacency":
        return False
    if format_suffix(path) in {".parquet", ".pq"}:
        wanted = config.timestamp_col if fmt == "events" else Columns.TIMESTAMP
        return wanted in parquet_columns(path)
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as handle:
        header = handle.readline().decode("utf-8", errors="replace")
    return config.timestamp_col in header


def require_input_file(path: Path) -> Path:
    """``path`` itself, or an :class:`InputError` naming it when it is not a file."""
    if not path.is_file():
        raise InputError(str(path), "an existing input file (input_path)")
    return path


def read_any(path: Path, config: IngestConfig) -> tuple[str, RawRead]:
    """Read ``path`` with the reader its format names. A reader's error says which format
    was used and why when the format was detected, so the fix is visible."""
    require_input_file(path)
    fmt, reason = detect_format(path, config)
    readers = {
        "adjacency": lambda: read_adjacency(path),
        "events": lambda: read_events(path, config),
        "parquet": lambda: read_interactions_parquet(path),
    }
    try:
        with reading(path, READABLE[fmt]):
            return fmt, readers[fmt]()
    except InputError as exc:
        hint = format_hint(path, config)
        raise (exc.with_hint(hint) if hint else exc) from exc


def format_hint(path: Path, config: IngestConfig) -> str | None:
    """When the format was detected (``auto``), which one and why, and how to choose."""
    if config.input_format != "auto":
        return None
    fmt, reason = detect_format(path, config)
    return f"read as {fmt} because {reason}; set input_format to adjacency, events or parquet"


def ingest(
    path: str | Path,
    out_dir: str | Path,
    config: IngestConfig,
    rejected_path: str | Path | None = None,
) -> IngestSummary:
    """Read the raw log at ``path`` and write canonical Parquet into ``out_dir``.

    Policy ``fail`` raises :class:`InputError` on the first bad row (by line). Policy
    ``quarantine`` writes bad rows to ``quarantine.parquet`` in ``out_dir`` and raises
    :class:`TooManyBadRows` only when they exceed ``max_bad_fraction`` of the lines read;
    then the bad rows go to ``rejected_path`` instead when given (``out_dir`` may be a
    staging folder that a failure removes). Nothing canonical is written when ingest fails.
    """
    out_dir = Path(out_dir)
    files = input_files(path)
    fmt, read = read_inputs(files, config)
    bad = (
        read.bad.sort_by([("file", "ascending"), (Columns.LINE, "ascending")])
        if ("file" in read.bad.schema.names)
        else read.bad.sort_by(Columns.LINE)
    )
    quarantine_path = None
    if bad.num_rows:
        first = bad.slice(0, 1).to_pylist()[0]
        where = {read.line_label: first[Columns.LINE]} if first[Columns.LINE] > 0 else {}
        named = Path(first.get("file") or files[0])  # the file the first bad row is in
        if config.bad_rows == "fail":
            raise InputError(
                str(named),
                first[Columns.REASON].removeprefix("expected "),
                column=first[Columns.COLUMN] or None,
                got=first[Columns.RAW],
                # A first-line failure is where a wrong format shows (a header, a CSV).
                hint=format_hint(named, config) if first[Columns.LINE] <= 1 else None,
                **where,
            )
        fraction = bad.num_rows / max(read.units, 1)
        too_many = fraction > config.max_bad_fraction
        quarantine_path = out_dir / QUARANTINE_FILE
        if too_many and rejected_path is not None:
            quarantine_path = Path(rejected_path)
        quarantine_path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(bad, quarantine_path)
        log.warning(
            "quarantined %d of %d %ss from %s", bad.num_rows, read.units, read.line_label, path
        )
        if too_many:
            raise TooManyBadRows(
                str(named),
                f"at most {config.max_bad_fraction:.2%} bad {read.line_label}s "
                f"(got {bad.num_rows} of {read.units}, {fraction:.2%}; see {quarantine_path})",
                **where,
                column=first[Columns.COLUMN] or None,
            )
    rows, window = apply_window(read.rows, config.time_window)
    read = RawRead(rows=rows, bad=read.bad, units=read.units, line_label=read.line_label)
    if read.rows.num_rows == 0:
        hint = None
        if window and window["left_out"]:
            hint = (
                f"all {window['left_out']} events fall outside the as-of window "
                f"[{window['start']}, {window['end']}); check run_date, or set as_of to none"
            )
        raise InputError(
            str(path), "at least one interaction (user with at least one item)", hint=hint
        )
    canonical = build_canonical(read.rows)
    if canonical.n_users < 2 or canonical.n_items < 2:
        # One user has no neighbours to learn from; one item leaves nothing to recommend.
        raise InputError(
            str(path),
            "at least 2 users and 2 items",
            got=f"{canonical.n_users} user(s), {canonical.n_items} item(s)",
        )
    write_canonical(canonical, out_dir)
    log.info(
        "ingested %d interactions (%d users, %d items) from %s",
        read.rows.num_rows,
        canonical.n_users,
        canonical.n_items,
        path,
    )
    return IngestSummary(
        source=str(path),
        files=[str(f) for f in files],
        window=window,
        input_format=fmt,
        rows=read.rows.num_rows,
        users=canonical.n_users,
        items=canonical.n_items,
        bad_rows=bad.num_rows,
        quarantine_file=quarantine_path.name if quarantine_path else None,
    )
