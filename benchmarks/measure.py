"""Measuring helpers: wall time plus peak RSS sampled while a step runs."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

_PAGE = os.sysconf("SC_PAGE_SIZE")
ROOT = Path(__file__).resolve().parents[1]
# The real log the benchmarks measure on, beside the repository (../shared).
GOWALLA = ROOT.parent / "shared" / "data" / "gowalla" / "train.txt"
RESULTS = ROOT / "benchmarks" / "results"


def binary_matrix(path: Path) -> sp.csr_matrix:
    """An adjacency log as a 0/1 users × items matrix (ids renumbered densely)."""
    from recsys_core.io.adjacency import read_adjacency

    rows = read_adjacency(path).rows.to_pydict()
    users = np.unique(rows["user_id"], return_inverse=True)[1]
    items = np.unique(rows["item_id"], return_inverse=True)[1]
    return sp.csr_matrix((np.ones(len(users), np.float32), (users, items)))


def save_result(prefix: str, result: dict) -> Path:
    """``result`` as ``benchmarks/results/<prefix>-<UTC time>.json``; returns its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{prefix}-{time.strftime('%Y-%m-%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def rss_mb() -> float:
    """Resident set size of this process now, in MB."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * _PAGE / 1e6


def _tree_rss_mb(root: int) -> dict[int, float]:
    """RSS in MB of ``root`` and every descendant, read from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * _PAGE / 1e6
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree.update(children)
        frontier = children
    return {pid: rss[pid] for pid in tree if pid in rss}


def run_with_peak_rss(args: list[str], **popen: Any) -> tuple[int, str, str, float, float]:
    """Run a command; return (code, stdout, stderr, peak RSS of the process itself, peak
    RSS of its whole process tree at one time), in MB, polled every 50 ms.

    Polling /proc is used because RUSAGE_CHILDREN can report a forked child's copy of the
    parent's memory rather than what the command itself used.
    """
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )
    own = tree = 0.0
    done = threading.Event()

    def poll() -> None:
        nonlocal own, tree
        while not done.wait(0.05):
            sizes = _tree_rss_mb(process.pid)
            own = max(own, sizes.get(process.pid, 0.0))
            tree = max(tree, sum(sizes.values()))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    stdout, stderr = process.communicate()
    done.set()
    poller.join()
    return process.returncode, stdout, stderr, own, tree


class PeakRss:
    """Samples RSS every 20 ms in a thread while the block runs."""

    def __enter__(self) -> PeakRss:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``fn``; return (result, seconds, peak RSS MB during the call)."""
    with PeakRss() as peak:
        started = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - started
    return result, seconds, peak.peak
