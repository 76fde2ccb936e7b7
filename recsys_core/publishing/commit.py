"""Writing dated snapshots (contract: :mod:`recsys_core.publishing.snapshot`) and retention.

Local disk: a snapshot is assembled in a hidden staging folder beside its target, fsynced
and renamed into place. Replacing a date renames the old folder aside, the new one in, and
removes the old; a kill between those renames is repaired by the next publish
(:func:`recover` renames the old folder back).

Object stores have no rename. Files go up in commit order: the data files (each a single
object that appears only when whole), ``_manifest.json``, then ``_SUCCESS``. A ``dt=``
prefix without ``_SUCCESS`` is absent to the readers, verification and retention here, and
:func:`recover` deletes it. Replacing a date deletes the old ``_SUCCESS`` first, so the
date is absent (not half old, half new) until the new marker lands.

``_LATEST`` is replaced whole, last, in both. Callers hold the output lock
(:mod:`recsys_core.io.lock`): recovery assumes no other publisher is mid-way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from recsys_core.io.atomic import (
    fsync_dir,
    fsync_tree,
    hidden_sibling,
    json_text,
    link_or_copy,
    sha256_file,
)
from recsys_core.io.storage import Store, as_store
from recsys_core.publishing.snapshot import (
    RECOMMENDATIONS_FILE,
    SCHEMA_VERSION,
    SIMILAR_ITEMS_FILE,
    V1,
    V2,
    Decision,
    SnapshotError,
    latest_pointer,
    publish_decision,
    similar_items_store,
    snapshot_folders,
    snapshot_name,
)

log = logging.getLogger(__name__)

# Hidden siblings a killed local publish can leave (see atomic.hidden_sibling).
_LEFTOVER = re.compile(r"^\.(staging|retired|write|replaced)-(.+)-[0-9a-f]{32}$")

Content = Path | bytes  # a local file to place, or bytes to write


def _digest(content: Content) -> tuple[str, int]:
    if isinstance(content, Path):
        return sha256_file(content), content.stat().st_size
    return hashlib.sha256(content).hexdigest(), len(content)


def snapshot_contents(
    run_date: dt.date,
    recommendations_path: Path,
    metrics: dict,
    model_path: Path,
    manifest: dict,
    extra_files: Mapping[str, Path] | None = None,
) -> list[tuple[str, Content]]:
    """Every file of a snapshot, in commit order: data (``extra_files``: more, by name),
    ``_manifest.json``, ``_SUCCESS``."""
    data: list[tuple[str, Content]] = [
        (V2.model, model_path),
        (V2.metrics, json_text(metrics).encode()),
        *(extra_files or {}).items(),
        (RECOMMENDATIONS_FILE, recommendations_path),
    ]
    rows = pq.ParquetFile(recommendations_path).metadata.num_rows
    return dataset_contents(run_date, data, manifest, {"recommendations": rows})


def dataset_contents(
    run_date: dt.date, data: list[tuple[str, Content]], manifest: dict, rows: Mapping[str, int]
) -> list[tuple[str, Content]]:
    """A dated folder's files in commit order: ``data``, then ``_manifest.json`` (with
    every data file's sha256 and size and the ``rows`` counts), then ``_SUCCESS``."""
    digests = {name: _digest(content) for name, content in data}
    created = dt.datetime.now(dt.UTC).isoformat()
    full_manifest = {
        **manifest,
        "run_date": run_date.isoformat(),
        "created_at": created,
        "schema_version": SCHEMA_VERSION,
        "files": {name: sha for name, (sha, _) in digests.items()},
        "sizes": {name: size for name, (_, size) in digests.items()},
        "rows": {**manifest.get("rows", {}), **rows},
    }
    return [*data, (V2.manifest, json_text(full_manifest).encode()), (V2.marker, created.encode())]


def decide(
    output_dir: str | Path | Store,
    run_date: dt.date,
    fingerprint: str,
    *,
    overwrite: bool = True,
    started_at: dt.datetime | None = None,
) -> Decision:
    """What publishing ``run_date`` will do (:func:`~recsys_core.publishing.snapshot.
    publish_decision`), after repairing what a killed commit left; a conflict (another run
    published the date after ``started_at``) is a :class:`SnapshotError`."""
    store = as_store(output_dir)
    _refuse_v1(store)
    recover(store)
    decision = publish_decision(store, run_date, fingerprint, overwrite, started_at)
    if decision is Decision.CONFLICT:
        raise SnapshotError(
            f"{store.uri(snapshot_name(run_date))} was published by another run (other input "
            f"or parameters) after this run started at {started_at:%Y-%m-%dT%H:%M:%S%z}; "
            "not replacing it. Run again to replace it on purpose."
        )
    return decision


def publish_snapshot(
    output_dir: str | Path | Store,
    run_date: dt.date,
    recommendations_path: str | Path,
    metrics: dict,
    model_path: str | Path,
    manifest: dict,
    *,
    overwrite: bool = True,
    started_at: dt.datetime | None = None,
    decision: Decision | None = None,
    extra_files: Mapping[str, Path] | None = None,
) -> tuple[Decision, str]:
    """Publish ``run_date`` as :func:`decide` says (or as ``decision``, when the caller
    decided already); move ``_LATEST`` if it is the newest. Returns the decision and the
    snapshot's location.

    ``manifest`` must hold the run's ``fingerprint``. A date another run published after
    ``started_at`` is never replaced (:class:`SnapshotError`). Locally the recommendations and
    model files are hard-linked from the step folders (copied across filesystems).
    ``extra_files``: more files of the snapshot (name → step file), e.g. the fallback list.
    """
    store = as_store(output_dir)
    if decision is None:
        decision = decide(
            store, run_date, manifest["fingerprint"], overwrite=overwrite, started_at=started_at
        )
    contents = None
    if decision in (Decision.PUBLISH, Decision.REPLACE):
        contents = snapshot_contents(
            run_date, Path(recommendations_path), metrics, Path(model_path), manifest, extra_files
        )
    return decision, commit_dated(store, run_date, contents)


def commit_dated(
    store: Store, run_date: dt.date, contents: list[tuple[str, Content]] | None
) -> str:
    """Commit a dated folder's ``contents`` (None: nothing to write) and point ``_LATEST``
    at the newest date; returns the folder's location."""
    name = snapshot_name(run_date)
    if contents is not None:
        if store.local:
            _commit_local(store.local_path(), name, contents)
        else:
            _commit_remote(store.child(name), contents)
    _point_to_newest(store)  # also repairs a pointer a kill left one date behind
    return store.uri(name)


def _point_to_newest(store: Store) -> None:
    dates = list(snapshot_folders(store))
    if dates and latest_pointer(store) != dates[-1]:
        store.write_bytes(f"{dates[-1]}\n".encode(), V2.latest)


def _refuse_v1(store: Store) -> None:
    v1 = store.is_file(V1.latest) or V1 in snapshot_folders(store).values()
    if v1:
        raise SnapshotError(
            f"{store.location} holds schema v1 snapshots; migrate it once with "
            f"`python -m recsys_core.migrate {store.location}` "
            "(README: Snapshot contract)"
        )


def _commit_local(root: Path, name: str, contents: list[tuple[str, Content]]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    staging = hidden_sibling(target, "staging")
    staging.mkdir()
    try:
        for file, content in contents:
            (staging / file).parent.mkdir(exist_ok=True)  # a name may hold one folder
            if isinstance(content, Path):
                link_or_copy(content, staging / file)
            else:
                (staging / file).write_bytes(content)
        fsync_tree(staging)
        if target.exists():
            retired = hidden_sibling(target, "replaced")
            os.rename(target, retired)
            os.rename(staging, target)  # a kill between the renames: recover() repairs
            fsync_dir(root)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, target)
        fsync_dir(root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _commit_remote(folder: Store, contents: list[tuple[str, Content]]) -> None:
    folder.delete(V2.marker)  # replacing: the date is absent until the new marker lands
    for file, content in contents:
        if isinstance(content, Path):
            folder.put_file(content, file)
        else:
            folder.write_bytes(content, file)


def recover(output_dir: str | Path | Store) -> list[str]:
    """Repair what a killed publish or retention left; returns what it did, one line each.

    Local: a date renamed aside whose replacement never arrived is renamed back; other
    hidden leftovers are removed. Object store: ``dt=`` prefixes without ``_SUCCESS`` are
    deleted.
    """
    store = as_store(output_dir)
    done: list[str] = []
    entries = store.list_dir()
    if store.local:
        root = store.local_path()
        for info in entries:
            match = _LEFTOVER.match(info.base_name)
            if match is None:
                continue
            tag, name = match.groups()
            leftover = root / info.base_name
            if tag == "replaced" and not (root / name).exists():
                os.rename(leftover, root / name)
                done.append(f"restored {name} (a replacement was interrupted)")
            elif leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
                done.append(f"removed {info.base_name}")
            else:
                leftover.unlink(missing_ok=True)
                done.append(f"removed {info.base_name}")
        if done:
            fsync_dir(root)
    else:
        complete = snapshot_folders(store)
        for info in entries:
            name = info.base_name
            if info.type == pafs.FileType.Directory and name.startswith("dt="):
                if name not in complete:
                    store.delete_tree(name)
                    done.append(f"removed incomplete {name}")
    for line in done:
        log.warning("%s: %s", store.location, line)
    return done


def apply_retention(output_dir: str | Path | Store, keep_last: int) -> list[str]:
    """Remove all but the newest ``keep_last`` snapshots; never the one ``_LATEST`` names.

    Called only after a successful publish, so a failing night never deletes anything. A
    folder disappears from readers at once (renamed aside locally; its ``_SUCCESS``
    deleted first on an object store). Returns the removed folder names.
    """
    if keep_last < 1:
        raise ValueError("keep_last must be at least 1")
    store = as_store(output_dir)
    dates = list(snapshot_folders(store))
    protected = latest_pointer(store)
    doomed = [name for name in dates[: max(len(dates) - keep_last, 0)] if name != protected]
    for name in doomed:
        if store.local:
            retired = hidden_sibling(store.local_path(name), "retired")
            os.rename(store.local_path(name), retired)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            store.child(name).delete(V2.marker)
            store.delete_tree(name)
    if doomed and store.local:
        fsync_dir(store.local_path())
    return doomed


def publish_similar_items(
    output_dir: str | Path | Store, run_date: dt.date, table_path: Path, manifest: dict
) -> Decision:
    """Publish ``run_date`` of the similar-items dataset (``_similar_items/`` under the
    output) from the user lists' ``manifest``: the same commit protocol, replaced when the
    run's fingerprint differs, left as it is when it matches (a rerun after a kill between
    the two commits publishes only what is missing)."""
    store = similar_items_store(output_dir)
    decision = decide(store, run_date, manifest["fingerprint"], overwrite=True)
    contents = None
    if decision in (Decision.PUBLISH, Decision.REPLACE):
        kept = ("fingerprint", "input_path", "input_sha256", "code_version", "model")
        record = {key: manifest[key] for key in kept if key in manifest}
        rows = pq.ParquetFile(table_path).metadata.num_rows
        data: list[tuple[str, Content]] = [(SIMILAR_ITEMS_FILE, table_path)]
        contents = dataset_contents(run_date, data, record, {"similar_items": rows})
    commit_dated(store, run_date, contents)
    return decision
