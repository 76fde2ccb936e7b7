"""The Chebyshev filter's two forms beside GF-CF, on the nightly's own split of Gowalla.

``python -m benchmarks.chebyshev_forms [--input train.txt]`` runs the nightly's core steps
in this process up to evaluate (the default ``ordered`` split of ``train.txt``; top_k 20)
for GF-CF, ``chebyshev_filter`` in its ``recurrence`` form (the authors') and in its
``spectral`` form (the default), sharing one work folder so ingest, split and the SVD are
computed once. Writes each one's validation figures (the whole validation part; the test
part is not read) and evaluate seconds to ``benchmarks/results/chebyshev-forms-<time>.json``.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.measure import GOWALLA, save_result
from flows.params import NightlyParams
from recsys_core.pipeline.execute import LocalRunner
from recsys_core.pipeline.nightly import nightly_plan

VARIANTS = {
    "graph_filter": {"model": "graph_filter"},
    "chebyshev_filter (recurrence)": {"model": "chebyshev_filter", "cheby_form": "recurrence"},
    "chebyshev_filter (spectral)": {"model": "chebyshev_filter", "cheby_form": "spectral"},
}


class _Evaluated(Exception):
    """Raised once evaluate has run: nothing after it is needed."""


def evaluate(source: Path, work: Path, params: dict) -> dict:
    """Validation figures and per-step seconds of one model, steps reused from ``work``."""
    seconds: dict[str, float] = {}
    figures: dict[str, float] = {}

    def measured(step: str, call):
        started = time.perf_counter()
        result = call()
        seconds[step] = round(seconds.get(step, 0.0) + time.perf_counter() - started, 2)
        if step == "evaluate":
            figures.update(result["metrics"]["validation"])
            raise _Evaluated
        return result

    plan = nightly_plan(NightlyParams(**params).pipeline_config(), source, work)
    try:
        LocalRunner(work, measure=measured).run_plan(plan)
    except _Evaluated:
        pass
    return {
        "params": params,
        "validation": {k: round(v, 4) for k, v in figures.items()},
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=GOWALLA)
    args = parser.parse_args(argv)
    result = {
        "what": __doc__.split("\n\n")[1].replace("\n", " "),
        "command": "python -m benchmarks.chebyshev_forms",
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": str(args.input.resolve()),
        "models": {},
    }
    with tempfile.TemporaryDirectory(prefix="recsys-chebyshev-forms-") as tmp:
        for name, params in VARIANTS.items():
            result["models"][name] = evaluate(args.input, Path(tmp), params)
            print(name, result["models"][name], flush=True)
    print(save_result("chebyshev-forms", result))
    return result


if __name__ == "__main__":
    main()
