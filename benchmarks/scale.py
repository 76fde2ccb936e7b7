"""The nightly at a multiple of Gowalla's size, in process and on a local Dask cluster.

``make bench SCALE=10`` (or ``python -m benchmarks.scale --scale 10``): a Gowalla-shaped
synthetic log (``recsys_core.data.synthetic.gowalla_like_pairs``: 10 → 300k users, 410k items,
≈ 8M interactions), then

1. every step in this process (the flow's own wiring, ``nightly_plan``): seconds and peak
   RSS per step, evaluate and score as one block each;
2. the nightly flow as a user runs it (a subprocess) with ``task_runner: dask`` on a local
   cluster (one single-threaded worker process per core: 2 here), on the same work folder:
   everything up to the models is reused, so what runs is evaluate and score in user
   blocks on the cluster, then the merges and publish; seconds per step and the peak RSS
   of the whole process tree (workers included); its published lists are compared with
   step 1's;
3. the graph filter (fitted on all data here when the run's model has none): scoring a
   sample of users as fitted and with one more sharpening term, extrapolated to every user.

Writes ``benchmarks/results/scale-<scale>x-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import scipy.sparse as sp

from benchmarks.bench import core_steps, progress, run_flow
from benchmarks.measure import measure, save_result
from flows.params import NightlyParams
from recsys_core.data.synthetic import gowalla_like_pairs, write_adjacency
from recsys_core.io.workdir import FULL_MATRIX_FILE, MODEL_FILE, RECOMMENDATIONS_FILE
from recsys_core.models.graph_filter import GraphFilter
from recsys_core.models.registry import load_model
from recsys_core.pipeline.execute import run_step
from recsys_core.ranking.topk import top_k_scored

# Where a run's fitted graph filter is, by model (the ensemble may have dropped it from
# the serving fit: then its evaluation fit is as good for timing).
GF_DIRS = {
    "graph_filter": ("train-full",),
    "ensemble": ("train-full[graph_filter]", "train-eval[graph_filter]"),
}


def sharpening_cost(gf_dir: str, split_dir: str, sample: int, k: int = 20) -> dict:
    """Seconds to score ``sample`` users with the filter as fitted and with one more
    sharpening term, extrapolated to every user."""
    model, _ = load_model(Path(gf_dir) / MODEL_FILE)
    if not isinstance(model, GraphFilter):
        raise ValueError(f"{gf_dir} holds no graph filter")
    seen = sp.load_npz(Path(split_dir) / FULL_MATRIX_FILE).tocsr()
    n_users, n_items = seen.shape
    rows = np.sort(np.random.default_rng(0).choice(n_users, min(sample, n_users), replace=False))
    no_bias = np.zeros(n_items, dtype=np.float32)
    out: dict = {"sample_users": len(rows), "users": n_users}
    terms = {"as_fitted": model.sharpen_steps, "one_more_term": model.sharpen_steps + 1}
    for name, steps in terms.items():
        scorer = replace(model, sharpen_steps=steps, sharpen_t=0.5).block_scorer(rows)
        _, seconds, _ = measure(
            lambda s=scorer: top_k_scored(s, len(rows), n_items, no_bias, [seen[rows]], k)
        )
        out[f"{name}_all_users_s"] = round(seconds * n_users / len(rows), 1)
    extra = out["one_more_term_all_users_s"] - out["as_fitted_all_users_s"]
    out["per_term_all_users_s"] = round(extra, 1)
    return out


def compare_tables(a: Path, b: Path) -> dict:
    """Whether both tables hold the same users, ranks and items in the same order, and the
    same scores to the bit."""
    left, right = pq.read_table(a), pq.read_table(b)
    same_lists = left.num_rows == right.num_rows and all(
        left.column(c).equals(right.column(c)) for c in ("user_id", "rank", "item_id")
    )
    return {"same_lists_as_in_process": same_lists, "same_table_as_in_process": left.equals(right)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--sample-users", type=int, default=2000, help="sharpening probe")
    parser.add_argument("--params", default="{}", help="JSON nightly parameters over the defaults")
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args(argv)
    overrides = json.loads(args.params)
    params = NightlyParams(**overrides)
    results: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "scale": args.scale,
        "params": overrides,
        "model": params.model,
    }
    with tempfile.TemporaryDirectory(prefix="recsys-scale-") as tmp:
        work = Path(tmp)
        (users, items), seconds, _ = measure(lambda: gowalla_like_pairs(args.scale))
        source = write_adjacency(work / f"gowalla-x{args.scale:g}.txt", users, items)
        results["input"] = {
            "users": int(users.max()) + 1,
            "items_drawn": int(np.unique(items).size),
            "interactions": int(len(users)),
            "generate_s": round(seconds, 1),
            "mb": round(source.stat().st_size / 1e6, 1),
        }
        progress(f"input: {results['input']}")
        del users, items
        rows = core_steps(source, work / "work", params)
        dirs = rows.pop("_dirs")
        results["metrics"] = rows.pop("_metrics")
        results["blend"] = rows.pop("_blend")
        results["local_steps"] = rows
        results["local_total_s"] = round(sum(r["seconds"] for r in rows.values()), 1)
        results["local_peak_rss_mb"] = max(r["peak_rss_mb"] for r in rows.values())
        progress(f"in process: {json.dumps(rows)}")
        gf_dir = next((dirs[key] for key in GF_DIRS.get(params.model, ()) if key in dirs), None)
        if gf_dir is None:  # an ALS run: fit the filter on all data to time it too
            gf_dir = str(work / "gf-full")
            _, seconds, peak = measure(
                lambda: run_step(
                    "train-full",
                    gf_dir,
                    weight_dir=dirs["weight"],
                    matrix="full",
                    family="graph_filter",
                    config=params.pipeline_config().graph_filter,
                )
            )
            results["graph_filter_fit"] = {"seconds": round(seconds, 1), "peak_rss_mb": round(peak)}
        results["sharpening"] = sharpening_cost(gf_dir, dirs["split"], args.sample_users)
        progress(f"graph filter: {results.get('graph_filter_fit')} {results['sharpening']}")
        if not args.skip_dask:
            flow_params = {**overrides, "task_runner": "dask", "work_dir": str(work / "work")}
            home = work / "prefect-home"
            home.mkdir()
            on_dask = run_flow(source, work / "out", home, flow_params)
            # Blocks run side by side: the tasks' summed seconds exceed the flow's, so the
            # one-process "overhead" (flow minus summed step seconds) means nothing here.
            on_dask.pop("prefect_overhead_s", None)
            results["dask"] = on_dask
            published = work / "out" / "dt=2026-11-20" / RECOMMENDATIONS_FILE
            local = Path(dirs["score"]) / RECOMMENDATIONS_FILE
            results["dask"].update(compare_tables(published, local))
            progress(f"dask: {json.dumps(on_dask)}")
    path = save_result(f"scale-{args.scale:g}x", results)
    print(json.dumps(results, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
