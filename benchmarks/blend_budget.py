"""The default nightly on Gowalla with and without the Chebyshev filter in its blend.

``python -m benchmarks.blend_budget [--input train.txt]`` runs the nightly CLI twice from
empty folders: at the default ``night_budget_s`` and at a budget every family fits. For
each: the flow's seconds and peak RSS, the blend chosen, each family's predicted evaluate
+ score seconds and what was left out, the choice half's figures and the report half's
validation figures (``_metrics.json``; the test part is not read). Writes
``benchmarks/results/blend-budget-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.bench import run_flow
from benchmarks.measure import GOWALLA, save_result
from flows.params import NightlyParams

EVERY_FAMILY_FITS = 3600.0


def night(input_path: Path, work: Path, params: dict) -> dict:
    """One nightly CLI run and what its snapshot says about the blend."""
    (work / "home").mkdir(parents=True)
    timing = run_flow(input_path, work / "out", work / "home", params)
    snapshot = next((work / "out").glob("dt=*"))
    blend = json.loads((snapshot / "_manifest.json").read_text())["model"]["blend"]
    validation = json.loads((snapshot / "_metrics.json").read_text())["validation"]
    return {
        "params": params,
        "flow_s": timing["flow_s"],
        "peak_rss_mb": timing["peak_rss_mb"],
        "steps_s": {name: step["wall_s"] for name, step in timing["steps"].items()},
        "weights": blend["weights"],
        "popularity_weight": blend["popularity_weight"],
        "predicted_s": {name: cost["predicted_s"] for name, cost in blend["costs"].items()},
        "left_out": blend["left_out"],
        "choice_half_sample": blend["validation_sample"],
        "report_half_validation": {k: round(v, 4) for k, v in validation.items()},
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=GOWALLA)
    args = parser.parse_args(argv)
    result = {
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": str(args.input.resolve()),
        "default_budget_s": NightlyParams().night_budget_s,
    }
    with tempfile.TemporaryDirectory(prefix="recsys-blend-budget-") as tmp:
        result["default"] = night(args.input, Path(tmp) / "default", {})
        print(json.dumps(result["default"], indent=1), flush=True)
        every = {"night_budget_s": EVERY_FAMILY_FITS}
        result["every_family"] = night(args.input, Path(tmp) / "every", every)
        print(json.dumps(result["every_family"], indent=1), flush=True)
    print(f"wrote {save_result('blend-budget', result)}")
    return result


if __name__ == "__main__":
    main()
