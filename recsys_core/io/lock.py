"""One run at a time per output folder: an OS file lock on ``<output_dir>/.lock``.

Held by a nightly run from its first step to the end of publish and retention, so a
backfill (or an on-demand run outside the deployment) queues behind a running nightly
instead of interleaving with it. The lock is released by the OS when its process dies, so
a killed run never leaves it held. It works on local disks and on shared filesystems with
working ``flock``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"


class OutputLocked(RuntimeError):
    """Another run held the output folder for longer than the wait allowed."""


@contextlib.contextmanager
def output_lock(output_dir: str | Path, timeout_s: float) -> Iterator[Path]:
    """Hold ``<output_dir>/.lock``, waiting at most ``timeout_s`` seconds for it."""
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning(
            "%s is held by another run on this output; waiting up to %.0fs", path, timeout_s
        )
        try:
            lock.acquire(timeout=timeout_s, poll_interval=0.5)
        except Timeout:
            raise OutputLocked(
                f"{path}: another run held this output_dir for over {timeout_s:.0f}s "
                "(raise lock_timeout_s to wait longer)"
            ) from None
    try:
        yield path
    finally:
        lock.release()
