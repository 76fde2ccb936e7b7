"""A/B two checkouts of the code on the same input: a model's core steps in this process.

``python -m benchmarks.ab_code ROOT MODEL [INPUT]``: imports the core from ROOT (a git
worktree of another commit, or this checkout), runs the nightly's steps on INPUT (default
``../shared/data/gowalla/train.txt``; ``random_ratio`` split, top_k 20) in a fresh work
folder and prints one JSON line: the validation Recall@20 / NDCG@20 to every digit and the
seconds per step. Run it for both roots back to back: same figures and like seconds mean
the change kept behaviour and speed. Code before layout v3 (no ``nightly_plan``) is driven
through its ``run_nightly``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_INPUT = Path(__file__).resolve().parents[2] / "shared" / "data" / "gowalla" / "train.txt"


def main(argv: list[str]) -> int:
    root, model = argv[0], argv[1]
    source = Path(argv[2]) if len(argv) > 2 else DEFAULT_INPUT
    sys.path.insert(0, root)
    from flows.params import NightlyParams

    configs = NightlyParams(split_strategy="random_ratio", top_k=20, model=model).pipeline_config()
    seconds: dict[str, float] = {}

    def measured(step: str, call):
        started = time.perf_counter()
        result = call()
        seconds[step] = round(seconds.get(step, 0.0) + time.perf_counter() - started, 2)
        return result

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        try:
            from recsys_core.pipeline.execute import LocalRunner
            from recsys_core.pipeline.nightly import nightly_plan

            plan = nightly_plan(configs, source, work)
            results = LocalRunner(work, measure=measured).run_plan(plan)
        except ImportError:  # the layout before v3
            from recsys_core.pipeline import LocalRunner, run_nightly

            results = run_nightly(LocalRunner(work, measure=measured), configs, source)
    validation = results["evaluate"]["metrics"]["validation"]
    print(
        json.dumps(
            {
                "root": root,
                "model": model,
                "recall@20": validation["recall@20"],
                "ndcg@20": validation["ndcg@20"],
                "seconds": seconds,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
