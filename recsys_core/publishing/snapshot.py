"""Dated snapshots: the contract, readers, verification and the one publish policy.

Layout under ``output_dir`` (``schema_version`` 2), a local path or an object-store URI::

    dt=YYYY-MM-DD/recommendations.parquet   user_id, rank (int16, 1..k), item_id, score (float32)
    dt=YYYY-MM-DD/_metrics.json             {"validation": {..}, "test": {..}, "popularity": {..}}
    dt=YYYY-MM-DD/_model.npz                the serving model's state, no pickle
    dt=YYYY-MM-DD/_fallback/fallback.parquet
                                            rank, item_id, score: an unknown user's list
    dt=YYYY-MM-DD/_manifest.json            run_date, created_at, input sha256, counts, params,
                                            code version, every file's sha256 and size
    dt=YYYY-MM-DD/_SUCCESS                  written last: a dt= folder without it is absent
    _LATEST                                 the newest published ``dt=`` folder name
    _similar_items/dt=YYYY-MM-DD/similar_items.parquet
                                            item_id, similar_item_id, rank, score: a dataset
                                            of its own (``_manifest.json``, ``_SUCCESS``,
                                            ``_LATEST``, retention), named in the manifest

Only the recommendations are data: every other name starts with ``_``, which every dataset
reader (pyarrow, pandas, Spark, Hadoop) skips, so ``pd.read_parquet(output_dir)`` reads
every published date with a ``dt`` column and no options. The row groups of the
recommendations file (sorted by user, at most :data:`ROW_GROUP_ROWS` rows, ``user_id``
statistics) let a reader of a few users read one.

From v1 (``schema_version`` 1): ``metrics.json``, ``model.npz``, ``manifest.json`` and
``LATEST`` had no underscore and a folder was complete when it had ``manifest.json``. The
readers here read both; ``python -m recsys_core.migrate`` converts a v1 output in place.
Writing is :mod:`recsys_core.publishing.commit`.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from recsys_core.columns import Columns
from recsys_core.io.storage import Store, as_store

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
RECOMMENDATIONS_FILE = "recommendations.parquet"
# In a folder of its own: the readers' globs (``out/*/*.parquet``, ``out/dt=*/*.parquet``)
# must match the recommendations only.
FALLBACK_FILE = "_fallback/fallback.parquet"
SIMILAR_ITEMS_DIR = "_similar_items"
SIMILAR_ITEMS_FILE = "similar_items.parquet"
# read_recommendations(user_ids=…): True on the rows of a user the snapshot does not hold.
FALLBACK_COLUMN = "fallback"
# Candidates the quality gate refused, laid out as snapshots (publishing/quality_gate.py).
REJECTED_DIR = "_rejected"
# Row groups of the recommendations file: small enough that one user's lookup reads little.
ROW_GROUP_ROWS = 256 * 1024


@dataclass(frozen=True)
class Layout:
    """File names of one schema version; ``marker`` is the file that makes a folder exist."""

    schema_version: int
    manifest: str
    metrics: str
    model: str
    marker: str
    latest: str


V2 = Layout(2, "_manifest.json", "_metrics.json", "_model.npz", "_SUCCESS", "_LATEST")
V1 = Layout(1, "manifest.json", "metrics.json", "model.npz", "manifest.json", "LATEST")
LAYOUTS = (V2, V1)  # the first whose marker a folder has wins (a migrated folder has both)


class SnapshotError(RuntimeError):
    """A snapshot is missing, incomplete or does not match its manifest."""


class Decision(enum.StrEnum):
    """What publishing a date does; the value is the status runs report."""

    PUBLISH = "published"
    REPLACE = "replaced"
    UNCHANGED = "already published"
    KEEP = "skipped: already published from other input or parameters (overwrite=false)"
    CONFLICT = "refused: another run published this date after this run started"


def snapshot_name(run_date: dt.date) -> str:
    """``dt=YYYY-MM-DD``."""
    return f"dt={run_date.isoformat()}"


def similar_items_store(output_dir: str | Path | Store) -> Store:
    """The similar-items dataset of an output (its own dated folders and ``_LATEST``)."""
    return as_store(output_dir).child(SIMILAR_ITEMS_DIR)


def write_recommendations(table: pa.Table, path: str | Path) -> None:
    """Write a recommendations table (sorted by user, then rank) as the contract wants it."""
    pq.write_table(table, path, row_group_size=ROW_GROUP_ROWS, write_statistics=True)


def folder_layout(folder: Store) -> Layout | None:
    """The layout of a published snapshot folder, or None when it is not one (absent,
    half-written, or being removed)."""
    for layout in LAYOUTS:
        if folder.is_file(layout.marker) and folder.is_file(layout.manifest):
            return layout
    return None


def snapshot_folders(output_dir: str | Path | Store) -> dict[str, Layout]:
    """Every published ``dt=`` folder's name and layout, oldest first."""
    store = as_store(output_dir)
    names = sorted(
        info.base_name
        for info in store.list_dir()
        if info.type == pafs.FileType.Directory and info.base_name.startswith("dt=")
    )
    layouts = {name: folder_layout(store.child(name)) for name in names}
    return {name: layout for name, layout in layouts.items() if layout is not None}


def published_dates(output_dir: str | Path | Store) -> list[str]:
    """Names of the published ``dt=`` folders, oldest first."""
    return list(snapshot_folders(output_dir))


def read_manifest(folder: str | Path | Store) -> dict | None:
    """A snapshot folder's manifest, or None when it is not a published snapshot."""
    store = as_store(folder)
    layout = folder_layout(store)
    return None if layout is None else json.loads(store.read_bytes(layout.manifest))


def read_metrics(folder: str | Path | Store) -> dict:
    """A published snapshot's metrics (v1 or v2)."""
    store = as_store(folder)
    layout = _require_layout(store)
    return json.loads(store.read_bytes(layout.metrics))


def read_verified_metrics(folder: str | Path | Store) -> dict:
    """A published snapshot's metrics, only if the bytes read are the ones its manifest
    lists (sha256); a SnapshotError that says why otherwise."""
    store = as_store(folder)
    layout = _require_layout(store)
    manifest = json.loads(store.read_bytes(layout.manifest))
    expected = manifest.get("files", {}).get(layout.metrics)
    if expected is None:
        raise SnapshotError(f"{store.uri(layout.metrics)}: not listed in the manifest")
    data = store.read_bytes(layout.metrics)
    if hashlib.sha256(data).hexdigest() != expected:
        raise SnapshotError(f"{store.uri(layout.metrics)}: sha256 differs from the manifest")
    return json.loads(data)


def model_file(folder: str | Path | Store) -> str:
    """Where a published snapshot's model file is (v1 or v2)."""
    store = as_store(folder)
    return store.uri(_require_layout(store).model)


def _require_layout(folder: Store) -> Layout:
    layout = folder_layout(folder)
    if layout is None:
        raise SnapshotError(f"{folder.location} is not a published snapshot")
    return layout


def publish_decision(
    output_dir: str | Path | Store,
    run_date: dt.date,
    fingerprint: str,
    overwrite: bool,
    started_at: dt.datetime | None = None,
) -> Decision:
    """The one publish policy, used by every flow (nightly, backfill).

    A date not yet published is published. One published from the same fingerprint (input
    sha256 + parameters + code) is left as it is. One published from anything else is
    replaced when ``overwrite`` is true, else kept, unless it was published after
    ``started_at`` (a concurrent run on other input or parameters finished first): that is
    a conflict, never a silent replacement.
    """
    existing = read_manifest(as_store(output_dir).child(snapshot_name(run_date)))
    if existing is None:
        return Decision.PUBLISH
    if existing.get("fingerprint") == fingerprint:
        return Decision.UNCHANGED
    if not overwrite:
        return Decision.KEEP
    created = existing.get("created_at")
    if started_at is not None and created and dt.datetime.fromisoformat(created) > started_at:
        return Decision.CONFLICT
    return Decision.REPLACE


def latest_pointer(store: Store) -> str | None:
    """The folder name ``_LATEST`` (or v1's ``LATEST``) names, or None without one."""
    for layout in LAYOUTS:
        if store.is_file(layout.latest):
            return store.read_bytes(layout.latest).decode().strip()
    return None


def latest_snapshot(output_dir: str | Path | Store) -> str | None:
    """Location of the snapshot ``_LATEST`` names, or None when nothing is published.

    When the pointer is missing or names a folder that is not a complete snapshot (a run
    killed between its steps, a hand edit), the newest complete snapshot is returned and
    a warning says so.
    """
    store = as_store(output_dir)
    dates = published_dates(store)
    pointer = latest_pointer(store)
    if pointer in dates:
        return store.uri(pointer)
    if not dates:
        return None
    log.warning(
        "%s: the latest pointer names %s, which is not a complete snapshot; "
        "reading the newest complete one, %s",
        store.location,
        pointer,
        dates[-1],
    )
    return store.uri(dates[-1])


def _snapshot_folder(output_dir: str | Path | Store, run_date: dt.date | str | None) -> Store:
    store = as_store(output_dir)
    if run_date is None:
        location = latest_snapshot(store)
        if location is None:
            raise SnapshotError(f"{store.location} has no published snapshot")
        return store.child(location.rsplit("/", 1)[-1])
    day = run_date if isinstance(run_date, str) else run_date.isoformat()
    folder = store.child(f"dt={day}")
    _require_layout(folder)
    return folder


def row_groups_for_users(parquet: pq.ParquetFile, user_ids: pa.Array) -> list[int]:
    """Row groups whose ``user_id`` min/max statistics admit any of ``user_ids``."""
    column = parquet.schema_arrow.get_field_index(Columns.USER_ID)
    groups = []
    for group in range(parquet.metadata.num_row_groups):  # a handful per file
        stats = parquet.metadata.row_group(group).column(column).statistics
        if stats is None or not stats.has_min_max:
            groups.append(group)
            continue
        inside = pc.and_(
            pc.greater_equal(user_ids, pa.scalar(stats.min, user_ids.type)),
            pc.less_equal(user_ids, pa.scalar(stats.max, user_ids.type)),
        )
        if pc.any(inside).as_py():
            groups.append(group)
    return groups


def read_recommendations(
    output_dir: str | Path | Store,
    run_date: dt.date | str | None = None,
    user_ids: Iterable | None = None,
) -> pa.Table:
    """Recommendations of one date (default: the latest), optionally only some users.

    With ``user_ids``, only the row groups whose statistics admit those users are read, and
    a user the snapshot does not hold gets the snapshot's fallback list; a ``fallback``
    column says which rows are that.
    """
    folder = _snapshot_folder(output_dir, run_date)
    parquet = pq.ParquetFile(folder.fs.open_input_file(folder.path(RECOMMENDATIONS_FILE)))
    if user_ids is None:
        return parquet.read()
    id_type = parquet.schema_arrow.field(Columns.USER_ID).type
    try:
        wanted = pa.array(list(user_ids), type=id_type)
    except (pa.ArrowTypeError, pa.ArrowInvalid, OverflowError) as exc:
        raise SnapshotError(
            f"{folder.uri(RECOMMENDATIONS_FILE)}: user_ids must be of the snapshot's "
            f"user_id type ({id_type}): {exc}"
        ) from exc
    table = parquet.read_row_groups(row_groups_for_users(parquet, wanted))
    table = table.filter(pc.is_in(table.column(Columns.USER_ID), value_set=wanted))
    known = table.append_column(FALLBACK_COLUMN, pa.repeat(False, table.num_rows))
    unknown = pc.filter(wanted, pc.invert(pc.is_in(wanted, value_set=table[Columns.USER_ID])))
    unknown = pc.unique(unknown)
    if len(unknown) == 0 or not folder.is_file(FALLBACK_FILE):
        return known
    fallback = _read_parquet(folder, FALLBACK_FILE)
    n = fallback.num_rows
    owners = pc.take(unknown, pa.array(np.repeat(np.arange(len(unknown)), n)))
    rows = pa.table(
        {
            Columns.USER_ID: owners,
            **{name: _tiled(fallback[name], len(unknown)) for name in fallback.column_names},
            FALLBACK_COLUMN: pa.repeat(True, len(owners)),
        }
    )
    return pa.concat_tables([known, rows.select(known.column_names).cast(known.schema)])


def _tiled(column: pa.ChunkedArray, times: int) -> pa.Array:
    return pc.take(column, pa.array(np.tile(np.arange(len(column)), times)))


def _read_parquet(folder: Store, name: str) -> pa.Table:
    with folder.fs.open_input_file(folder.path(name)) as handle:
        return pq.read_table(handle)


def read_fallback(
    output_dir: str | Path | Store, run_date: dt.date | str | None = None
) -> pa.Table:
    """The fallback list (``rank, item_id, score``) of one date (default: the latest)."""
    folder = _snapshot_folder(output_dir, run_date)
    if not folder.is_file(FALLBACK_FILE):
        raise SnapshotError(
            f"{folder.location} has no {FALLBACK_FILE} (published before fallback lists existed)"
        )
    return _read_parquet(folder, FALLBACK_FILE)


def read_similar_items(
    output_dir: str | Path | Store,
    run_date: dt.date | str | None = None,
    item_ids: Iterable | None = None,
) -> pa.Table:
    """Similar items of one date (default: the similar-items dataset's latest), optionally
    only of some items."""
    folder = _snapshot_folder(similar_items_store(output_dir), run_date)
    table = _read_parquet(folder, SIMILAR_ITEMS_FILE)
    if item_ids is None:
        return table
    wanted = pa.array(list(item_ids), type=table.schema.field(Columns.ITEM_ID).type)
    return table.filter(pc.is_in(table.column(Columns.ITEM_ID), value_set=wanted))


def verify_snapshot(folder: str | Path | Store) -> dict:
    """Check every file against the manifest's sha256 (and size, v2); return the manifest."""
    store = as_store(folder)
    layout = folder_layout(store)
    if layout is None:
        raise SnapshotError(f"{store.location}: not a published snapshot (no {V2.marker})")
    manifest = json.loads(store.read_bytes(layout.manifest))
    if manifest.get("schema_version") != layout.schema_version:
        raise SnapshotError(
            f"{store.location}: schema_version {manifest.get('schema_version')} in a "
            f"v{layout.schema_version} layout"
        )
    sizes = manifest.get("sizes", {})
    for name, expected in manifest.get("files", {}).items():
        if not store.is_file(name):
            raise SnapshotError(f"{store.uri(name)}: listed in the manifest but missing")
        if name in sizes and store.fs.get_file_info(store.path(name)).size != sizes[name]:
            raise SnapshotError(f"{store.uri(name)}: size differs from the manifest")
        if store.sha256(name) != expected:
            raise SnapshotError(f"{store.uri(name)}: sha256 differs from the manifest")
    return manifest
