"""Rows of ``make bench``'s model table for any parameter overrides, e.g. the default
ensemble with its ALS at fewer sweeps: the same protocol (a ``random_ratio`` split of the
input, validation figures on the report half), each row from an empty work folder.

``python -m benchmarks.model_rows '{"iterations": 20}' ['{...}' ...] [--input PATH]``
prints the rows and writes ``benchmarks/results/probe-model-rows-<time>.json`` (a probe:
the results page keeps showing the newest ``bench-*.json``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

from benchmarks import bench
from benchmarks.measure import GOWALLA, ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.model_rows", description=__doc__)
    parser.add_argument("overrides", nargs="+", help="a JSON object of flow parameters per row")
    parser.add_argument("--input", type=Path, default=GOWALLA)
    args = parser.parse_args(argv)
    rows = {text: json.loads(text) for text in args.overrides}
    with tempfile.TemporaryDirectory(prefix="recsys-model-rows-") as tmp:
        table = bench.model_table(args.input, Path(tmp), rows=rows)
    now = dt.datetime.now(dt.UTC)
    out = ROOT / "benchmarks" / "results" / f"probe-model-rows-{now:%Y-%m-%dT%H%M%SZ}.json"
    record = {
        "command": "python -m benchmarks.model_rows " + " ".join(f"'{o}'" for o in args.overrides),
        "date": now.isoformat(timespec="seconds"),
        "input": str(args.input),
        "models": table,
    }
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(table, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
