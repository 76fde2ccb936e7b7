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


def flow_parser(
    prog: str, description: str | None, parameters: str | None = None
) -> argparse.ArgumentParser:
    """The options every flow CLI has: parameters from ``--params-file``, ``--params`` and
    ``--param`` (in that order, later ones win; see :func:`collected_params`) and
    ``--verbose``. ``parameters``: the flow's parameter list, shown by ``--help``."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=parameters,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--params-file",
        type=Path,
        metavar="FILE",
        help="a YAML or JSON file holding a mapping of parameters",
    )
    parser.add_argument("--params", default="{}", help="JSON object merged over the defaults")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one parameter, repeatable; VALUE is read as JSON when it parses and as text "
        "otherwise, as `prefect deployment run --param` reads it",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="Prefect's log on the console, not in a file"
    )
    return parser


def json_object(text: str, source: str = "--params") -> dict:
    """A JSON object, or a ValueError that names ``source`` and says what was expected."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{source} is not valid JSON ({exc}); expected a JSON object") from None
    if not isinstance(value, dict):
        raise ValueError(f"{source} must be a JSON object, got {type(value).__name__}")
    return value


def param_value(key: str, text: str) -> object:
    """``--param KEY=VALUE``'s value: JSON when it parses; bare text otherwise (Prefect's
    rule: text with a double quote in it must be valid JSON).

    Examples
    --------
    >>> [param_value("k", v) for v in ("10", "true", "out/x", '["a"]', "null")]
    [10, True, 'out/x', ['a'], None]
    """
    try:
        return json.loads(text)
    except ValueError as exc:
        if '"' in text:
            raise ValueError(f"--param {key}: {text!r} is not valid JSON ({exc})") from None
        return text


def params_file(path: Path) -> dict:
    """``--params-file``: a YAML (or JSON, which YAML reads too) mapping of parameters."""
    import yaml

    try:
        value = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ValueError(f"--params-file {path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise ValueError(f"--params-file {path}: not valid YAML{line}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"--params-file {path}: expected a mapping of parameter names to values")
    return value


def collected_params(args: argparse.Namespace) -> dict:
    """The run's parameters: ``--params-file``, then ``--params``, then each ``--param``
    (later ones win)."""
    collected = params_file(args.params_file) if args.params_file else {}
    collected.update(json_object(args.params))
    for spec in args.param:
        key, equals, text = spec.partition("=")
        if not equals or not key:
            raise ValueError(f"--param {spec!r}: expected KEY=VALUE")
        collected[key] = param_value(key, text)
    return collected


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
