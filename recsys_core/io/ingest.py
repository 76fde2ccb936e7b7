"""Ingest front: pick the reader, apply the bad-row policy, write canonical Parquet."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from recsys_core.columns import Columns
from recsys_core.config import IngestConfig
from recsys_core.errors import InputError, TooManyBadRows
from recsys_core.io.adjacency import read_adjacency
from recsys_core.io.canonical import build_canonical, write_canonical
from recsys_core.io.events import read_events
from recsys_core.io.interactions_parquet import read_interactions_parquet
from recsys_core.io.raw import RawRead
from recsys_core.io.source import format_suffix

log = logging.getLogger(__name__)

QUARANTINE_FILE = "quarantine.parquet"


@dataclass(frozen=True, slots=True)
class IngestSummary:
    """What ingest did, small enough to pass between tasks."""

    source: str  # the file read, named by later steps' input errors
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
        if config.event_col in pq.read_schema(path).names:
            return "events", f"it has the event column {config.event_col!r}"
        return "parquet", f"it has no event column {config.event_col!r} (event_col)"
    return "adjacency", f"its extension is {suffix or 'missing'!r}, not .csv/.tsv/.parquet"


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
    path, out_dir = Path(path), Path(out_dir)
    fmt, read = read_any(path, config)
    bad = read.bad.sort_by(Columns.LINE)
    quarantine_path = None
    if bad.num_rows:
        first = bad.slice(0, 1).to_pylist()[0]
        where = {read.line_label: first[Columns.LINE]} if first[Columns.LINE] > 0 else {}
        if config.bad_rows == "fail":
            raise InputError(
                str(path),
                first[Columns.REASON].removeprefix("expected "),
                column=first[Columns.COLUMN] or None,
                got=first[Columns.RAW],
                # A first-line failure is where a wrong format shows (a header, a CSV).
                hint=format_hint(path, config) if first[Columns.LINE] <= 1 else None,
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
                str(path),
                f"at most {config.max_bad_fraction:.2%} bad {read.line_label}s "
                f"(got {bad.num_rows} of {read.units}, {fraction:.2%}; see {quarantine_path})",
                **where,
                column=first[Columns.COLUMN] or None,
            )
    if read.rows.num_rows == 0:
        raise InputError(str(path), "at least one interaction (user with at least one item)")
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
        input_format=fmt,
        rows=read.rows.num_rows,
        users=canonical.n_users,
        items=canonical.n_items,
        bad_rows=bad.num_rows,
        quarantine_file=quarantine_path.name if quarantine_path else None,
    )
