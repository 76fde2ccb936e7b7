"""What the outputs beside the user lists cost, against the score step of the same run:
similar items (every item's top-k), the similar-items check, and explanations
(``because_item_id`` for every user row).

``python -m benchmarks.outputs_cost --snapshot out/dt=2026-12-01`` loads a published
snapshot's serving model and the split it was trained on (from its manifest's step
folders), then times, in one process: scoring every user (the score step's work),
explaining those lists, and the similar items of every item; prints the seconds and each
one's ratio to scoring, and saves ``benchmarks/results/outputs-cost-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from benchmarks.measure import save_result
from flows.params import NightlyParams
from recsys_core.config import RankConfig
from recsys_core.io.workdir import FULL_MATRIX_FILE, SPLIT_FILE
from recsys_core.models.registry import load_model
from recsys_core.pipeline.nightly import ranking_config
from recsys_core.ranking.popular import item_popularity
from recsys_core.reporting import format_table
from recsys_core.scoring.batch import score_all_users
from recsys_core.scoring.explain import because_items
from recsys_core.scoring.similar import similar_lists


def _timed(run):
    started = time.perf_counter()
    result = run()
    return result, round(time.perf_counter() - started, 2)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", required=True, help="a published dt=… folder")
    parser.add_argument("--similar-k", type=int, default=20)
    parser.add_argument("--top-k", type=int, default=20, help="when the manifest has no params")
    args = parser.parse_args(argv)
    result = measure_outputs(Path(args.snapshot), args.similar_k, args.top_k)
    print(format_table(result["rows"]))
    print(save_result("outputs-cost", result))
    return result


def measure_outputs(snapshot: Path, similar_k: int = 20, top_k: int = 20) -> dict:
    """Score every user, explain those lists and list every item's similar items with the
    snapshot's serving model, in this process; seconds and each one's ratio to scoring."""
    manifest = json.loads((snapshot / "_manifest.json").read_text())
    split_dir = next(Path(d) for d in manifest["work_dirs"] if (Path(d) / SPLIT_FILE).is_file())
    seen = sp.load_npz(split_dir / FULL_MATRIX_FILE).tocsr()
    model, _ = load_model(snapshot / "_model.npz")
    params = manifest.get("params")
    # The ranking as the run ranked (the family's rule for the popularity term).
    if params:
        known = {k: v for k, v in params.items() if k in NightlyParams.model_fields}
        rank = ranking_config(NightlyParams(**known).pipeline_config(None))
    else:
        rank = RankConfig(top_k=top_k, popularity_weight=0.0)
    (items, _), score_s = _timed(lambda: score_all_users(seen, model, rank))
    _, explain_s = _timed(lambda: because_items(model, seen, items))
    queries = np.flatnonzero(item_popularity(seen) > 0)
    _, similar_s = _timed(lambda: similar_lists(model, queries, similar_k))
    rows = [
        {"work": "score every user", "seconds": score_s, "x score": 1.0},
        {"work": "explain every list", "seconds": explain_s, "x score": explain_s / score_s},
        {
            "work": f"similar items, k={similar_k}",
            "seconds": similar_s,
            "x score": similar_s / score_s,
        },
    ]
    for row in rows:
        row["x score"] = round(row["x score"], 2)
    return {
        "snapshot": str(snapshot),
        "model": model.family,
        "users": int(seen.shape[0]),
        "items": int(seen.shape[1]),
        "top_k": rank.top_k,
        "rows": rows,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }


if __name__ == "__main__":
    main()
