"""Dated snapshots: atomic publish, ``LATEST``, manifest, readers and verification.

Layout under ``output_dir``::

    dt=YYYY-MM-DD/recommendations.parquet   user_id, rank (int16, 1..k), item_id, score (float32)
    dt=YYYY-MM-DD/metrics.json              {"validation": {..}, "test": {..}, "popularity": {..}}
    dt=YYYY-MM-DD/model.npz                 factors + parameters, no pickle
    dt=YYYY-MM-DD/manifest.json             run_date, created_at, input sha256, counts, params,
                                            code version, file sha256s, schema_version
    LATEST                                  the newest published ``dt=`` folder name

A snapshot is written in a hidden staging folder beside its target and renamed into
place; ``LATEST`` is replaced (write + rename) last. Hidden (``.``) and ``_`` entries are
ignored by pyarrow/pandas dataset discovery.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from recsys_core.columns import Columns

SCHEMA_VERSION = 1
RECOMMENDATIONS_FILE = "recommendations.parquet"
METRICS_FILE = "metrics.json"
MODEL_FILE = "model.npz"
MANIFEST_FILE = "manifest.json"
LATEST_FILE = "LATEST"
# Non-Parquet names a dataset reader must skip when pointed at output_dir.
NON_PARQUET_PREFIXES = [".", "_", LATEST_FILE, "metrics", "manifest", "model"]


class SnapshotError(RuntimeError):
    """A snapshot is missing, incomplete or does not match its manifest."""


class AlreadyPublished(SnapshotError):
    """The date already has a snapshot and overwrite was not asked for."""


def snapshot_name(run_date: dt.date) -> str:
    """``dt=YYYY-MM-DD``."""
    return f"dt={run_date.isoformat()}"


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def _replace_text(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text`` (write beside it, fsync, rename)."""
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with open(staging, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, path)


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
    recommendations: pa.Table,
    metrics: dict,
    model_path: str | Path,
    manifest: dict,
    *,
    overwrite: bool = True,
) -> Path:
    """Write a complete snapshot for ``run_date`` and move ``LATEST`` if it is the newest.

    A reader never sees a partial folder: everything is written to a hidden staging folder
    and renamed into place. Replacing an existing date swaps folders (old one renamed
    aside, new one in, old one removed), so the date is missing only between two renames.
    """
    root = Path(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    name = snapshot_name(run_date)
    target = root / name
    if target.exists() and not overwrite:
        raise AlreadyPublished(f"{target} is already published (pass overwrite=true to replace it)")
    staging = root / f".staging-{name}-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        pq.write_table(recommendations, staging / RECOMMENDATIONS_FILE)
        _write_json(staging / METRICS_FILE, metrics)
        shutil.copyfile(model_path, staging / MODEL_FILE)
        files = {
            f: sha256_file(staging / f) for f in (RECOMMENDATIONS_FILE, METRICS_FILE, MODEL_FILE)
        }
        _write_json(
            staging / MANIFEST_FILE,
            {
                **manifest,
                "run_date": run_date.isoformat(),
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "schema_version": SCHEMA_VERSION,
                "files": files,
                "rows": {**manifest.get("rows", {}), "recommendations": recommendations.num_rows},
            },
        )
        _fsync_tree(staging)
        if target.exists():
            retired = root / f".replaced-{name}-{uuid.uuid4().hex}"
            os.rename(target, retired)
            os.rename(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    newest = published_dates(root)[-1]
    _replace_text(root / LATEST_FILE, newest + "\n")
    return target


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
        retired = root / f".retired-{name}-{uuid.uuid4().hex}"
        os.rename(root / name, retired)  # readers stop seeing it at once, then delete
        shutil.rmtree(retired, ignore_errors=True)
    return doomed


def latest_snapshot(output_dir: str | Path) -> Path | None:
    """The folder ``LATEST`` names, or None when nothing is published yet."""
    pointer = Path(output_dir) / LATEST_FILE
    if not pointer.is_file():
        return None
    folder = Path(output_dir) / pointer.read_text().strip()
    if not (folder / MANIFEST_FILE).is_file():
        raise SnapshotError(f"{pointer} names {folder.name}, which is not a complete snapshot")
    return folder


def read_recommendations(
    output_dir: str | Path,
    run_date: dt.date | str | None = None,
    user_ids: Iterable | None = None,
) -> pa.Table:
    """Recommendations of one date (default: LATEST), optionally only some users.

    Uses a pyarrow dataset with a filter, so only the row groups holding those users are read.
    """
    if run_date is None:
        folder = latest_snapshot(output_dir)
        if folder is None:
            raise SnapshotError(f"{output_dir} has no published snapshot (no {LATEST_FILE})")
    else:
        day = run_date if isinstance(run_date, str) else run_date.isoformat()
        folder = Path(output_dir) / f"dt={day}"
        if not (folder / MANIFEST_FILE).is_file():
            raise SnapshotError(f"{folder} is not a published snapshot")
    dataset = ds.dataset(folder / RECOMMENDATIONS_FILE, format="parquet")
    flt = None
    if user_ids is not None:
        wanted = pa.array(list(user_ids), type=dataset.schema.field(Columns.USER_ID).type)
        flt = ds.field(Columns.USER_ID).isin(wanted)
    return dataset.to_table(filter=flt)


def verify_snapshot(path: str | Path) -> dict:
    """Check every file against the manifest's sha256; return the manifest or raise."""
    folder = Path(path)
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise SnapshotError(f"{folder}: no {MANIFEST_FILE}")
    manifest = json.loads(manifest_path.read_text())
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
