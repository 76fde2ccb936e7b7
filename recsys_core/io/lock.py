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

from recsys_core.io.storage import is_uri

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"


class OutputLocked(RuntimeError):
    """Another run held the output folder for longer than the wait allowed."""


@contextlib.contextmanager
def output_lock(
    output_dir: str | Path, timeout_s: float, local_dir: Path | None = None
) -> Iterator[Path]:
    """Hold ``<output_dir>/.lock``, waiting at most ``timeout_s`` seconds for it.

    An object store has no OS locks: for a URI ``output_dir`` the lock is
    ``<local_dir>/.lock`` (the output's local work dir), which serialises this machine's
    runs on it; runs on other machines are kept apart by the deployment's concurrency
    limit (README: Running it nightly).
    """
    if is_uri(output_dir):
        if local_dir is None:
            raise ValueError(f"{output_dir}: a remote output needs a local folder for its lock")
        output_dir = local_dir
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
