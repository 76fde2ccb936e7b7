"""Code version: a hash of the core's source (so caches and manifests follow code changes)."""

from __future__ import annotations

import functools
import hashlib
import subprocess
from pathlib import Path

_CORE = Path(__file__).resolve().parent


@functools.cache
def core_version() -> str:
    """sha256 (12 hex) over every ``recsys_core`` source file, path and bytes."""
    digest = hashlib.sha256()
    for path in sorted(_CORE.rglob("*.py")):
        digest.update(str(path.relative_to(_CORE)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@functools.cache
def git_commit() -> str | None:
    """The checkout's commit, when there is one (for the manifest)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_CORE, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
