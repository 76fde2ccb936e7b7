"""The one input-error boundary: whatever a library raises while reading a user's file
becomes an :class:`~recsys_core.errors.InputError` that names the file and what was
expected (the library's own words kept as what was found)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from recsys_core.errors import InputError

# Not about the file: the machine or the interpreter. These pass through unchanged.
_NOT_INPUT = (MemoryError, RecursionError, KeyboardInterrupt, SystemExit)


def library_message(exc: BaseException) -> str:
    """``Type: first line`` of a library exception (its full text can run for pages)."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__


@contextmanager
def reading(path: str | Path, expected: str, hint: str | None = None) -> Iterator[None]:
    """Run a reader of ``path``: its :class:`InputError` passes as it is, and so does an
    ``OSError`` with an errno (the disk's or network's, which the task layer retries);
    any other exception (pyarrow, pandas, gzip, codecs, numpy; pyarrow's OSError for a
    corrupt file has no errno) becomes one naming ``path`` and ``expected``."""
    try:
        yield
    except InputError:
        raise
    except _NOT_INPUT:
        raise
    except OSError as exc:
        if exc.errno is not None:  # the system's own I/O error: a transient one is retried
            raise
        raise InputError(str(path), expected, got=library_message(exc), hint=hint) from exc
    except Exception as exc:  # the boundary: every other library error is wrapped
        raise InputError(str(path), expected, got=library_message(exc), hint=hint) from exc


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Run a writer into ``path``: an ``OSError`` that names no file (pyarrow's, or a
    write to an open handle, on a full disk: ``ENOSPC``) is raised again naming ``path``,
    its errno kept so that the task layer still retries it."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise OSError(exc.errno, f"{exc.strerror or exc} (writing {path})", str(path)) from exc
