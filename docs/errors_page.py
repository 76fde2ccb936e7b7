"""The error catalogue (``reference/errors.md``): every error a run can end with, when it
happens, what to do, and the one line the command prints for it, produced here by the
project's own code (real readers, the gate, the lock, the parameter model), so the page
cannot drift from the messages. ``tests/test_docs.py`` checks that every exception class
the project defines has an entry."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from flows.cli import one_line_error
from flows.params import NightlyParams
from recsys_core.config import IngestConfig
from recsys_core.errors import InputError, TooManyBadRows
from recsys_core.io.boundary import writing
from recsys_core.io.ingest import ingest
from recsys_core.io.lock import OutputLocked, output_lock
from recsys_core.publishing.commit import publish_snapshot
from recsys_core.publishing.quality_gate import QualityGateFailed, judge
from recsys_core.publishing.snapshot import SnapshotError, verify_snapshot
from tasks.steps import IO_RETRIES


@dataclass(frozen=True)
class Entry:
    """One kind of error: its class, what to do, and code that raises an example of it."""

    error: type[BaseException] | str
    remedy: str
    examples: tuple[Callable[[], object], ...]


def _bad_timestamp() -> None:
    Path("events.csv").write_text("UserID,ProductCode,Event,Timestamp\nu1,p1,view,yesterday\n")
    ingest("events.csv", "staged", IngestConfig())


def _bad_adjacency() -> None:
    Path("train.txt").write_text("0 1 2\n1 x 3\n")
    ingest("train.txt", "staged", IngestConfig())


def _too_many_bad_rows() -> None:
    Path("events.csv").write_text(
        "UserID,ProductCode,Event,Timestamp\nu1,p1,view,2026-11-01 10:00:00\n"
        "u2,p2,teleport,2026-11-01 10:00:00\n"
    )
    ingest("events.csv", "staged", IngestConfig(bad_rows="quarantine", max_bad_fraction=0.01))


def _quality_gate() -> None:
    verdict = judge(
        {"validation": {"ndcg@20": 0.05}, "popularity_validation": {"ndcg@20": 0.06}},
        0.2,
        {"validation": {"ndcg@20": 0.09}},
        "dt=2026-11-19",
    )
    raise QualityGateFailed(verdict, "out/_rejected/dt=2026-11-20")


def _locked() -> None:
    with output_lock("out", 0), output_lock("out", 0):
        pass


def _v1_output() -> None:
    Path("old").mkdir()
    Path("old/LATEST").write_text("dt=2026-11-19\n")
    publish_snapshot("old", dt.date(2026, 11, 22), "r", {}, "m", {"fingerprint": "x"})


def _full_disk() -> None:
    with writing("out/_work/score/3f2a9c41d0e7b6a5"):
        raise OSError(errno.ENOSPC, "Error writing bytes to file. No space left on device")


ENTRIES = (
    Entry(
        "parameter",
        "Fix the parameter named; `recsys-nightly run --help` lists every parameter with "
        "its bounds. Nothing ran.",
        (
            lambda: NightlyParams(top_k=0),
            lambda: NightlyParams(model="svd"),
        ),
    ),
    Entry(
        InputError,
        "Fix the file at the line and column named, or choose what a bad row does "
        "(`bad_rows: quarantine`). Nothing was published.",
        (_bad_timestamp, _bad_adjacency),
    ),
    Entry(
        TooManyBadRows,
        "Look at the quarantined rows (their file is named), fix the source, or raise "
        "`max_bad_fraction`. Nothing was published.",
        (_too_many_bad_rows,),
    ),
    Entry(
        QualityGateFailed,
        "Look at the candidate kept in `_rejected/`; if its lists are right, rerun with "
        "`force_publish: true`. The previous snapshot stays the newest.",
        (_quality_gate,),
    ),
    Entry(
        OutputLocked,
        "Another run (a backfill, yesterday's night) holds the output; wait, or raise "
        "`lock_timeout_s`.",
        (_locked,),
    ),
    Entry(
        SnapshotError,
        "A v1 output: migrate it once with the command named. A date published by another "
        "run meanwhile: rerun to replace it on purpose. A snapshot that does not verify: it "
        "was changed after publishing; republish the date.",
        (_v1_output, lambda: verify_snapshot("out/dt=2026-11-20")),
    ),
    Entry(
        OSError,
        f"The line names what was being written, after the step's {IO_RETRIES['retries']} "
        f"retries ({', '.join(f'{s} s' for s in IO_RETRIES['retry_delay_seconds'])} apart): "
        "free the disk or fix the mount, then rerun; finished steps are reused.",
        (_full_disk,),
    ),
)


@contextlib.contextmanager
def _scratch() -> Iterator[str]:
    """A temporary working folder (the examples' relative paths land in it)."""
    before = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            yield os.path.realpath(folder) + "/"
        finally:
            os.chdir(before)


def example_line(raise_it: Callable[[], object]) -> str:
    """The last stderr line ``recsys-nightly run`` prints when ``raise_it`` raises."""
    logging.disable(logging.WARNING)
    try:
        with _scratch() as prefix:
            try:
                raise_it()
            except Exception as exc:  # noqa: BLE001 - any error is an example here
                return f"nightly failed: {one_line_error(exc)}".replace(prefix, "")
    finally:
        logging.disable(logging.NOTSET)
    raise AssertionError(f"{raise_it} raised nothing")


def _name(error: type[BaseException] | str) -> str:
    return "Parameter error" if isinstance(error, str) else error.__name__


def _meaning(error: type[BaseException] | str) -> str:
    if isinstance(error, str):
        return "A parameter is unknown, of the wrong type, or out of its bounds."
    if error is OSError:
        return "An I/O error the step's retries did not get past."
    return " ".join((error.__doc__ or "").split())


def errors_page(generated: str) -> str:
    """The catalogue, every example produced now by the code."""
    parts = [
        "# Error catalogue",
        generated,
        "Every command (`recsys-nightly run`, `tune`, `backfill`; `python -m flows.…`) ends a "
        "failed run with exit status 1 and **one line** as the last line of stderr: the "
        "error below, naming the file, line and column, or the parameter, and what was "
        "expected. The full log, tracebacks included, is in the log file whose path the "
        "command prints first. No library's own exception reaches that line: readers wrap "
        "theirs (fuzzed: `tests/core/test_fuzz_readers.py`). A failed run never leaves a "
        "partial snapshot, and the previous one stays the newest.",
    ]
    for entry in ENTRIES:
        lines = "\n".join(example_line(example) for example in entry.examples)
        parts += [
            f"## {_name(entry.error)}",
            _meaning(entry.error),
            f"**What to do.** {entry.remedy}",
            f"```text\n{lines}\n```",
        ]
    return "\n\n".join(parts) + "\n"
