"""History of an output folder: ``python -m flows.report <output_dir> [--last N]``.

Prints one row per published snapshot (date, model, validation metrics vs popularity,
counts, run seconds, list churn) and writes ``<output_dir>/_report/history.png``.
"""

from __future__ import annotations

import argparse
import sys

from recsys_core.publishing.history import history_rows, write_history_plot
from recsys_core.reporting import format_table


def main(argv: list[str] | None = None, prog: str = "python -m flows.report") -> int:
    """CLI: print the history table; the last line is the plot's path."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("output_dir")
    parser.add_argument("--last", type=int, default=30, help="newest N snapshots (default 30)")
    args = parser.parse_args(argv)
    rows = history_rows(args.output_dir, args.last)
    if not rows:
        print(f"report: {args.output_dir} has no published snapshot", file=sys.stderr)
        return 1
    print(format_table(rows))
    print(write_history_plot(args.output_dir, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
