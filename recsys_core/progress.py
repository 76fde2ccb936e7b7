"""Progress of long steps through the ``recsys_core.progress`` logger, so a slow run can
be told from a hung one. The flows route it to the run log and the CLI's stderr."""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


class Progress:
    """``label: done/total unit (pct), elapsed, ETA`` at most every ``every_s`` seconds,
    and once at the end."""

    def __init__(self, label: str, total: int, unit: str, every_s: float = 10.0) -> None:
        self.label, self.total, self.unit, self.every_s = label, total, unit, every_s
        self.started = self.last = time.perf_counter()

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.last < self.every_s and done < self.total:
            return
        self.last = now
        elapsed = now - self.started
        eta = elapsed / done * (self.total - done) if done else float("nan")
        log.info(
            "%s: %d/%d %s (%.0f%%), %.1fs elapsed, ETA %.1fs",
            self.label,
            done,
            self.total,
            self.unit,
            100 * done / max(self.total, 1),
            elapsed,
            eta,
        )
