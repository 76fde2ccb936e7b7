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

log = logging.getLogger(__name__)

QUARANTINE_FILE = "quarantine.parquet"


@dataclass(frozen=True, slots=True)
class IngestSummary:
    """What ingest did, small enough to pass between tasks."""

    input_format: str
    rows: int
    users: int
    items: int
    bad_rows: int
    # Name of the bad-rows file in the output folder, when rows were quarantined.
    quarantine_file: str | None


def detect_format(path: Path, config: IngestConfig) -> str:
    """``auto``: .csv/.tsv → events; .parquet with the event column → events, else parquet."""
    if config.input_format != "auto":
        return config.input_format
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv", ".tab"}:
        return "events"
    if suffix in {".parquet", ".pq"}:
        return "events" if config.event_col in pq.read_schema(path).names else "parquet"
    return "adjacency"


def require_input_file(path: Path) -> Path:
    """``path`` itself, or an :class:`InputError` naming it when it is not a file."""
    if not path.is_file():
        raise InputError(str(path), "an existing input file (input_path)")
    return path


def read_any(path: Path, config: IngestConfig) -> tuple[str, RawRead]:
    """Read ``path`` with the reader its format names."""
    require_input_file(path)
    fmt = detect_format(path, config)
    if fmt == "adjacency":
        return fmt, read_adjacency(path)
    if fmt == "events":
        return fmt, read_events(path, config)
    return fmt, read_interactions_parquet(path)


def ingest(path: str | Path, out_dir: str | Path, config: IngestConfig) -> IngestSummary:
    """Read the raw log at ``path`` and write canonical Parquet into ``out_dir``.

    Policy ``fail`` raises :class:`InputError` on the first bad row (by line). Policy
    ``quarantine`` writes bad rows to ``quarantine.parquet`` in ``out_dir`` and raises
    :class:`TooManyBadRows` only when they exceed ``max_bad_fraction`` of the lines read.
    Nothing canonical is written when ingest fails.
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
                **where,
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        quarantine_path = out_dir / QUARANTINE_FILE
        pq.write_table(bad, quarantine_path)
        fraction = bad.num_rows / max(read.units, 1)
        log.warning(
            "quarantined %d of %d %ss from %s", bad.num_rows, read.units, read.line_label, path
        )
        if fraction > config.max_bad_fraction:
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
    write_canonical(canonical, out_dir)
    log.info(
        "ingested %d interactions (%d users, %d items) from %s",
        read.rows.num_rows,
        canonical.n_users,
        canonical.n_items,
        path,
    )
    return IngestSummary(
        input_format=fmt,
        rows=read.rows.num_rows,
        users=canonical.n_users,
        items=canonical.n_items,
        bad_rows=bad.num_rows,
        quarantine_file=quarantine_path.name if quarantine_path else None,
    )
