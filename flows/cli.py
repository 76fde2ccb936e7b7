"""What the flows' command lines share: one-line errors, and Prefect's console log moved
to a file unless ``--verbose``.

The contract of every CLI here: stdout ends with the result's path; a failure exits 1 and
the *last* stderr line is the error, one line; the full log (tracebacks included) is in
``<PREFECT_HOME>/logs/<name>-<UTC time>.log``, whose path the CLI prints first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

T = TypeVar("T")
R = TypeVar("R")


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
    # Progress of long steps stays live on the console (a slow run vs a hung one).
    live = logging.StreamHandler(sys.stderr)
    live.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logging.getLogger("recsys_core.progress").addHandler(live)
    return path


def flow_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """The options every flow CLI has: ``--params`` (JSON merged over the defaults) and
    ``--verbose``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--params", default="{}", help="JSON object merged over the defaults")
    parser.add_argument(
        "--verbose", action="store_true", help="Prefect's log on the console, not in a file"
    )
    return parser


def json_object(text: str) -> dict:
    """``--params``: a JSON object, or a ValueError that says so."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("--params must be a JSON object")
    return value


def run_guarded(
    name: str, verbose: bool, validate: Callable[[], T], run: Callable[[T], R]
) -> R | None:
    """``validate`` (before Prefect starts), then ``run`` with its result; on any failure the
    one-line error is the last stderr line and None is returned (the CLI exits 1)."""
    try:
        checked = validate()
        if not verbose:
            print(f"log: {log_to_file(name)}", file=sys.stderr)
        return run(checked)
    except Exception as exc:  # noqa: BLE001 - the CLI's contract: message on stderr, exit 1
        print(f"{name} failed: {one_line_error(exc)}", file=sys.stderr)
        return None
