"""Migrate a schema v1 output folder to v2, in place (``make migrate OUTPUT_DIR=OUT``, or
``python -m recsys_core.migrate OUT``).

Each ``dt=`` folder goes through steps that each leave it readable: the data files get
their v2 names as hard links beside the v1 names, ``_manifest.json`` is written, then
``_SUCCESS`` (from here on the folder reads as v2), then the v1 names are removed. Then
``_LATEST`` takes ``LATEST``'s place. Interrupted anywhere, every folder is a complete v1
or a complete v2 snapshot, and running the command again finishes the job; on a v2 output
it changes nothing. It holds the output lock, so no run publishes meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from recsys_core.io.atomic import fsync_dir, json_text, replace_bytes
from recsys_core.io.lock import output_lock
from recsys_core.publishing.snapshot import SCHEMA_VERSION, V1, V2, snapshot_folders

# v1 name -> v2 name of the files a snapshot keeps.
RENAMED = {V1.metrics: V2.metrics, V1.model: V2.model}


def _migrate_folder(folder: Path) -> None:
    manifest = json.loads((folder / V1.manifest).read_text())
    for old, new in RENAMED.items():
        if not (folder / new).exists():
            os.link(folder / old, folder / new)
    files = {RENAMED.get(name, name): sha for name, sha in manifest["files"].items()}
    migrated = {
        **manifest,
        "schema_version": SCHEMA_VERSION,
        "files": files,
        "sizes": {name: (folder / name).stat().st_size for name in files},
        "migrated_from_schema": V1.schema_version,
    }
    replace_bytes(folder / V2.manifest, json_text(migrated).encode())
    replace_bytes(folder / V2.marker, b"migrated from schema v1\n")


def _drop_v1_names(folder: Path) -> None:
    for name in (V1.manifest, *RENAMED):
        (folder / name).unlink(missing_ok=True)
    fsync_dir(folder)


def migrate_output(output_dir: str | Path, lock_timeout_s: float = 600.0) -> list[str]:
    """Convert every v1 snapshot under ``output_dir`` (a local folder) to v2; returns the
    names converted (empty when there was nothing to do)."""
    root = Path(output_dir).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such output folder")
    converted = []
    with output_lock(root, lock_timeout_s):
        for name, layout in snapshot_folders(root).items():
            folder = root / name
            if layout is V1:
                _migrate_folder(folder)
                converted.append(name)
            _drop_v1_names(folder)  # also finishes a folder an interrupted run left
        pointer = root / V1.latest
        if pointer.is_file():
            replace_bytes(root / V2.latest, pointer.read_bytes())
            pointer.unlink()
            fsync_dir(root)
    return converted


def main(argv: list[str] | None = None, prog: str = "python -m recsys_core.migrate") -> int:
    """CLI: migrate one output folder; prints each converted date."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("output_dir", help="a local output folder holding v1 snapshots")
    args = parser.parse_args(argv)
    try:
        converted = migrate_output(args.output_dir)
    except (OSError, ValueError, KeyError) as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    for name in converted:
        print(f"migrated {name}")
    print(f"{Path(args.output_dir).resolve()}: schema v{SCHEMA_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
