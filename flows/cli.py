"""What the flows' command lines share: one-line errors, and Prefect's console log moved
to a file unless ``--verbose``.

The contract of every CLI here: stdout ends with the result's path; a failure exits 1 and
the *last* stderr line is the error, one line; the full log (tracebacks included) is in
``<PREFECT_HOME>/logs/<name>-<UTC time>.log``, whose path the CLI prints first.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from pydantic import ValidationError


def one_line_error(exc: BaseException) -> str:
    """An exception as one line: parameter errors name the parameter and what was expected."""
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            parts.append(f"parameter {where!r}: {message}" if where else message)
        return "; ".join(parts)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"


def log_to_file(name: str) -> Path:
    """Send Prefect's console logging to a log file; return its path."""
    from prefect.logging.configuration import setup_logging

    setup_logging()
    home = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = home / "logs" / f"{name}-{stamp}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(path)
    loggers = [logging.getLogger()] + [
        logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict)
    ]
    for logger in loggers:
        for handler in list(logger.handlers):
            if type(handler).__name__ == "PrefectConsoleHandler":
                file_handler.setFormatter(handler.formatter)
                logger.removeHandler(handler)
                logger.addHandler(file_handler)
    return path
