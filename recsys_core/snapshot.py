"""Dated snapshots: the contract, the one publish policy, retention, readers, verification.

Layout under ``output_dir`` (``schema_version`` 1)::

    dt=YYYY-MM-DD/recommendations.parquet   user_id, rank (int16, 1..k), item_id, score (float32)
    dt=YYYY-MM-DD/metrics.json              {"validation": {..}, "test": {..}, "popularity": {..}}
    dt=YYYY-MM-DD/model.npz                 factors + parameters, no pickle
    dt=YYYY-MM-DD/manifest.json             run_date, created_at, input sha256, counts, params,
                                            code version, file sha256s, schema_version
    LATEST                                  the newest published ``dt=`` folder name

A snapshot is assembled in a hidden staging folder beside its target and renamed into
place; ``LATEST`` is replaced (write + rename) last. ``recommendations.parquet`` is the
score step's file, linked (not rewritten), so its row groups (sorted by user, at most
:data:`ROW_GROUP_ROWS` rows, ``user_id`` statistics) let a reader of a few users read one.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recsys_core.columns import Columns
from recsys_core.io.atomic import (
    fsync_dir,
    fsync_tree,
    hidden_sibling,
    link_or_copy,
    replace_text,
    sha256_file,
)

SCHEMA_VERSION = 1
RECOMMENDATIONS_FILE = "recommendations.parquet"
METRICS_FILE = "metrics.json"
MODEL_FILE = "model.npz"
MANIFEST_FILE = "manifest.json"
LATEST_FILE = "LATEST"
# Non-Parquet names a dataset reader must skip when pointed at output_dir.
NON_PARQUET_PREFIXES = [".", "_", LATEST_FILE, "metrics", "manifest", "model"]
# Row groups of the recommendations file: small enough that one user's lookup reads little.
ROW_GROUP_ROWS = 256 * 1024


class SnapshotError(RuntimeError):
    """A snapshot is missing, incomplete or does not match its manifest."""


class Decision(enum.StrEnum):
    """What publishing a date does; the value is the status runs report."""

    PUBLISH = "published"
    REPLACE = "replaced"
    UNCHANGED = "already published"
    KEEP = "skipped: already published from other input or parameters (overwrite=false)"


def snapshot_name(run_date: dt.date) -> str:
    """``dt=YYYY-MM-DD``."""
    return f"dt={run_date.isoformat()}"


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def write_recommendations(table: pa.Table, path: str | Path) -> None:
    """Write a recommendations table (sorted by user, then rank) as the contract wants it."""
    pq.write_table(table, path, row_group_size=ROW_GROUP_ROWS, write_statistics=True)


def read_manifest(folder: str | Path) -> dict | None:
    """A snapshot folder's manifest, or None when it has none (not a published snapshot)."""
    path = Path(folder) / MANIFEST_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def publish_decision(
    output_dir: str | Path, run_date: dt.date, fingerprint: str, overwrite: bool
) -> Decision:
    """The one publish policy, used by every flow (nightly, backfill).

    A date not yet published is published. One published from the same fingerprint (input
    sha256 + parameters + code) is left as it is. One published from anything else is
    replaced when ``overwrite`` is true, else kept.
    """
    existing = read_manifest(Path(output_dir) / snapshot_name(run_date))
    if existing is None:
        return Decision.PUBLISH
    if existing.get("fingerprint") == fingerprint:
        return Decision.UNCHANGED
    return Decision.REPLACE if overwrite else Decision.KEEP


def published_dates(output_dir: str | Path) -> list[str]:
    """Names of the complete ``dt=`` folders (with a manifest), oldest first."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and p.name.startswith("dt=") and (p / MANIFEST_FILE).is_file()
    )


def publish_snapshot(
    output_dir: str | Path,
    run_date: dt.date,
    recommendations_path: str | Path,
    metrics: dict,
    model_path: str | Path,
    manifest: dict,
    *,
    overwrite: bool = True,
) -> tuple[Decision, Path]:
    """Publish ``run_date`` as :func:`publish_decision` says; move ``LATEST`` if newest.

    ``manifest`` must hold the run's ``fingerprint``. The recommendations and model files
    are linked from the step folders (copied across filesystems), never rewritten. A
    reader never sees a partial folder; replacing a date swaps folders (old one renamed
    aside, new one in, old one removed).
    """
    root = Path(output_dir)
    decision = publish_decision(root, run_date, manifest["fingerprint"], overwrite)
    target = root / snapshot_name(run_date)
    if decision not in (Decision.PUBLISH, Decision.REPLACE):
        return decision, target
    root.mkdir(parents=True, exist_ok=True)
    staging = hidden_sibling(target, "staging")
    staging.mkdir()
    try:
        link_or_copy(recommendations_path, staging / RECOMMENDATIONS_FILE)
        link_or_copy(model_path, staging / MODEL_FILE)
        _write_json(staging / METRICS_FILE, metrics)
        files = {
            f: sha256_file(staging / f) for f in (RECOMMENDATIONS_FILE, METRICS_FILE, MODEL_FILE)
        }
        rows = pq.ParquetFile(staging / RECOMMENDATIONS_FILE).metadata.num_rows
        _write_json(
            staging / MANIFEST_FILE,
            {
                **manifest,
                "run_date": run_date.isoformat(),
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "schema_version": SCHEMA_VERSION,
                "files": files,
                "rows": {**manifest.get("rows", {}), "recommendations": rows},
            },
        )
        fsync_tree(staging)
        if target.exists():
            retired = hidden_sibling(target, "replaced")
            os.rename(target, retired)
            os.rename(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, target)
        fsync_dir(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    newest = published_dates(root)[-1]
    replace_text(root / LATEST_FILE, newest + "\n")
    return decision, target


def apply_retention(output_dir: str | Path, keep_last: int) -> list[str]:
    """Remove all but the newest ``keep_last`` snapshots; never the one ``LATEST`` names.

    Called only after a successful publish, so a failing night never deletes anything.
    Returns the removed folder names.
    """
    if keep_last < 1:
        raise ValueError("keep_last must be at least 1")
    root = Path(output_dir)
    dates = published_dates(root)
    pointer = root / LATEST_FILE
    protected = pointer.read_text().strip() if pointer.is_file() else None
    doomed = [name for name in dates[: max(len(dates) - keep_last, 0)] if name != protected]
    for name in doomed:
        retired = hidden_sibling(root / name, "retired")
        os.rename(root / name, retired)  # readers stop seeing it at once, then delete
        shutil.rmtree(retired, ignore_errors=True)
    if doomed:
        fsync_dir(root)
    return doomed


def latest_snapshot(output_dir: str | Path) -> Path | None:
    """The folder ``LATEST`` names, or None when nothing is published yet."""
    pointer = Path(output_dir) / LATEST_FILE
    if not pointer.is_file():
        return None
    folder = Path(output_dir) / pointer.read_text().strip()
    if read_manifest(folder) is None:
        raise SnapshotError(f"{pointer} names {folder.name}, which is not a complete snapshot")
    return folder


def _snapshot_folder(output_dir: str | Path, run_date: dt.date | str | None) -> Path:
    if run_date is None:
        folder = latest_snapshot(output_dir)
        if folder is None:
            raise SnapshotError(f"{output_dir} has no published snapshot (no {LATEST_FILE})")
        return folder
    day = run_date if isinstance(run_date, str) else run_date.isoformat()
    folder = Path(output_dir) / f"dt={day}"
    if read_manifest(folder) is None:
        raise SnapshotError(f"{folder} is not a published snapshot")
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
    output_dir: str | Path,
    run_date: dt.date | str | None = None,
    user_ids: Iterable | None = None,
) -> pa.Table:
    """Recommendations of one date (default: LATEST), optionally only some users.

    With ``user_ids``, only the row groups whose statistics admit those users are read.
    """
    path = _snapshot_folder(output_dir, run_date) / RECOMMENDATIONS_FILE
    parquet = pq.ParquetFile(path)
    if user_ids is None:
        return parquet.read()
    id_type = parquet.schema_arrow.field(Columns.USER_ID).type
    try:
        wanted = pa.array(list(user_ids), type=id_type)
    except (pa.ArrowTypeError, pa.ArrowInvalid) as exc:
        raise SnapshotError(
            f"{path}: user_ids must be of the snapshot's user_id type ({id_type}): {exc}"
        ) from exc
    table = parquet.read_row_groups(row_groups_for_users(parquet, wanted))
    return table.filter(pc.is_in(table.column(Columns.USER_ID), value_set=wanted))


def verify_snapshot(path: str | Path) -> dict:
    """Check every file against the manifest's sha256; return the manifest or raise."""
    folder = Path(path)
    manifest = read_manifest(folder)
    if manifest is None:
        raise SnapshotError(f"{folder}: no {MANIFEST_FILE}")
    for name, expected in manifest.get("files", {}).items():
        file = folder / name
        if not file.is_file():
            raise SnapshotError(f"{file}: listed in the manifest but missing")
        if sha256_file(file) != expected:
            raise SnapshotError(f"{file}: sha256 differs from the manifest")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise SnapshotError(
            f"{folder}: schema_version {manifest.get('schema_version')} != {SCHEMA_VERSION}"
        )
    return manifest
