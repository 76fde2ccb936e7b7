"""Write-then-rename: folders and files that appear complete or not at all.

A folder is built in a hidden sibling (``.<name>.<random>``), fsynced, marked with
``_SUCCESS`` and renamed into place (the Spark/Hadoop convention), so a reader or a later
run never sees half of it. Directories are fsynced after renames so the rename itself
survives a power cut.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

SUCCESS = "_SUCCESS"


# Read and copy size for streamed files (hashing, uploads, downloads).
CHUNK = 1 << 20


def sha256_stream(handle: BinaryIO) -> str:
    """Hex sha256 of everything left in a binary stream, read a chunk at a time."""
    digest = hashlib.sha256()
    while block := handle.read(CHUNK):
        digest.update(block)
    return digest.hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    with open(path, "rb") as handle:
        return sha256_stream(handle)


def json_text(payload: dict) -> str:
    """The JSON files this project writes: indented, keys sorted, newline-terminated."""
    return json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"


def is_complete(folder: str | Path) -> bool:
    """True when ``folder`` was fully written by :func:`staged_folder`."""
    return (Path(folder) / SUCCESS).is_file()


def fsync_dir(folder: str | Path) -> None:
    """Persist a directory's entries (renames into or out of it)."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def fsync_tree(folder: Path) -> None:
    """fsync every file in ``folder`` and its subfolders, then each folder itself."""
    for path in folder.iterdir():
        if path.is_dir():
            fsync_tree(path)
        elif path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    fsync_dir(folder)


def hidden_sibling(path: Path, tag: str) -> Path:
    """A unique hidden name beside ``path`` (dataset readers skip names starting with '.')."""
    return path.with_name(f".{tag}-{path.name}-{uuid.uuid4().hex}")


@contextlib.contextmanager
def staged_folder(folder: str | Path) -> Iterator[Path]:
    """Yield a staging folder that becomes ``folder`` (with ``_SUCCESS``) only on success.

    Content-addressed folders are write-once: when another writer completed ``folder``
    first, this one's staging is discarded and the finished folder is left untouched (a
    reader of it is never disturbed). An incomplete leftover is moved aside, then replaced.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = hidden_sibling(folder, "staging")
    staging.mkdir()
    try:
        yield staging
        (staging / SUCCESS).write_text(dt.datetime.now(dt.UTC).isoformat())
        fsync_tree(staging)
        if is_complete(folder):
            return  # someone else finished the same content first
        if folder.exists():
            leftover = hidden_sibling(folder, "incomplete")
            os.rename(folder, leftover)
            shutil.rmtree(leftover, ignore_errors=True)
        os.rename(staging, folder)
        fsync_dir(folder.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def replace_bytes(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data`` (write beside it, fsync, rename, fsync dir)."""
    staging = hidden_sibling(path, "write")
    with open(staging, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, path)
    fsync_dir(path.parent)


def replace_text(path: Path, text: str) -> None:
    """:func:`replace_bytes` for text (UTF-8)."""
    replace_bytes(path, text.encode())


def link_or_copy(source: str | Path, target: str | Path) -> None:
    """Hard-link ``source`` to ``target`` (no bytes rewritten), copying across filesystems.

    Safe because every file linked here is write-once: step outputs are never modified in
    place, only removed, and removing one name leaves the other intact.
    """
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
