"""The run's input: where it is read from, and the checksum that names its content."""

from __future__ import annotations

import hashlib
from pathlib import Path

from recsys_core.errors import InputError
from recsys_core.io.atomic import sha256_file
from recsys_core.io.ingest import input_files
from recsys_core.io.storage import is_uri, local_input
from recsys_core.io.workdir import INPUTS_DIR


def fetch_input(input_path: str | Path, work_dir: str | Path) -> tuple[str, str]:
    """(where the input is, as the manifest records it; a local file with its bytes).

    A remote input (a URI) is downloaded under ``<work_dir>/inputs`` on every run.
    """
    source = str(input_path) if is_uri(input_path) else str(Path(input_path).resolve())
    return source, str(local_input(source, Path(work_dir) / INPUTS_DIR))


def input_checksum(input_path: str | Path) -> str:
    """sha256 of the input: of the file, or for a folder or glob of each file's name and
    sha256 in reading order. A missing input fails with an :class:`InputError`."""
    files = input_files(input_path)
    if len(files) == 1 and Path(input_path).is_file():
        return sha256_file(files[0])
    listing = "".join(f"{path.name}\0{sha256_file(path)}\n" for path in files)
    return hashlib.sha256(listing.encode()).hexdigest()


def fetch_exclusions(exclude_path: str | None, work_dir: str | Path) -> dict[str, str] | None:
    """The exclusion file as the steps read it: ``source`` (as given), ``path`` (a local
    copy of a URI) and the ``sha256`` that keys the steps it changes; None without one."""
    if exclude_path is None:
        return None
    source, local = fetch_input(exclude_path, work_dir)
    if not Path(local).is_file():
        raise InputError(
            source,
            "an item exclusion file (exclude_items_path)",
            got="no such file",
            hint="an empty file excludes nothing",
        )
    return {"source": source, "path": local, "sha256": sha256_file(Path(local))}
