"""``recsys-nightly``: one installed command for every job the project runs.

``recsys-nightly run|tune|backfill|report|migrate …``; ``recsys-nightly <command> --help``
lists that command's options and, for the flows, every parameter with its default and
meaning (from the parameter model). Each command is the ``python -m`` form it names,
which keeps working unchanged.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def _run(prog: str, argv: list[str]) -> int:
    from flows.nightly import run_command

    return run_command(prog, argv)


def _tune(prog: str, argv: list[str]) -> int:
    from flows.tune import run_command

    return run_command(prog, argv)


def _backfill(prog: str, argv: list[str]) -> int:
    from flows.backfill import run_command

    return run_command(prog, argv)


def _report(prog: str, argv: list[str]) -> int:
    from flows.report import main

    return main(argv, prog=prog)


def _migrate(prog: str, argv: list[str]) -> int:
    from recsys_core.publishing.migrate import main

    return main(argv, prog=prog)


# Each command: what it does (the top-level --help) and its entry (imported when run, so
# --help does not wait for Prefect to import).
COMMANDS: dict[str, tuple[str, Callable[[str, list[str]], int]]] = {
    "run": ("the nightly flow once: a dated snapshot (python -m flows.nightly)", _run),
    "tune": ("the tuning flow: best_params.json (python -m flows.tune)", _tune),
    "backfill": ("the nightly for each date of a range (python -m flows.backfill)", _backfill),
    "report": ("the history of an output folder, and its plot (python -m flows.report)", _report),
    "migrate": ("schema v1 snapshots to v2 in place (python -m recsys_core.migrate)", _migrate),
}


def parser() -> argparse.ArgumentParser:
    """The top level: a command, then that command's own arguments."""
    top = argparse.ArgumentParser(
        prog="recsys-nightly",
        description=__doc__.split("\n\n")[0],
        epilog="`recsys-nightly <command> --help` for a command's options and parameters.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="command")
    for name, (summary, _) in COMMANDS.items():
        # The command's own parser reads the rest, --help included.
        commands.add_parser(name, help=summary, add_help=False)
    return top


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the command; its exit status is the program's."""
    args, rest = parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    return COMMANDS[args.command][1](f"recsys-nightly {args.command}", rest)


if __name__ == "__main__":
    sys.exit(main())
