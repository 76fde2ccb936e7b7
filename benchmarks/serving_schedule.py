"""What does the warm serving schedule cost? Validation recall of a warm-started ALS
against a cold fit, on Gowalla and a dense synthetic log.

``python -m benchmarks.serving_schedule`` prints one table per log and writes
``benchmarks/results/serving-schedule.json``. It mirrors the nightly's serving fit where
held-out data exists: the nightly fits the evaluation model on the train part (70 % of
each user's items) and the serving model on all of them; here a model fitted on 70 % of
the train part is continued on the whole train part for ``w`` sweeps ("warm") or the train
part is fitted from scratch ("cold"), and both are scored on the validation part. Nothing
but ``train.txt`` is read, and only its validation part is scored.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from benchmarks.measure import GOWALLA, ROOT, measure
from flows.params import NightlyParams
from recsys_core.data.matrices import eval_training_matrix, read_split
from recsys_core.data.synthetic import synthetic_pairs, write_adjacency
from recsys_core.data.weighting import confidence
from recsys_core.evaluation.protocol import evaluate
from recsys_core.io.workdir import SPLIT_FILE
from recsys_core.models.als import fit_als
from recsys_core.pipeline.execute import LocalRunner
from recsys_core.pipeline.inputs import input_checksum
from recsys_core.reporting import format_table

WARM_SWEEPS = (5, 10, 15)


def keep_share(matrix: sp.csr_matrix, share: float, seed: int) -> sp.csr_matrix:
    """A random ``share`` of the matrix's entries (the "evaluation model's" data)."""
    keep = np.random.default_rng(seed).random(matrix.nnz) < share
    coo = matrix.tocoo()
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=matrix.shape)


def schedule_costs(source: Path, work: Path, params: NightlyParams) -> list[dict]:
    """Validation metrics of cold and warm (``WARM_SWEEPS``) serving-like fits."""
    configs = params.pipeline_config()
    run = LocalRunner(work)
    ingested = run(
        "ingest", input_path=str(source), input_sha256=input_checksum(source), config=configs.ingest
    )
    split = run("split", ingest_dir=ingested["dir"], config=configs.split)
    arrays = read_split(Path(split["dir"]) / SPLIT_FILE)
    users, train = eval_training_matrix(arrays, configs.eval_protocol)
    grown = confidence(train, configs.weight)
    earlier = confidence(keep_share(train, 0.7, params.random_state), configs.weight)
    start = fit_als(earlier, configs.als, users).item_factors
    fits = {"cold": (configs.als, None)}
    for sweeps in WARM_SWEEPS:
        fits[f"warm {sweeps}"] = (replace(configs.als, iterations=sweeps), start)
    rows = []
    for name, (config, initial) in fits.items():
        factors, seconds, _ = measure(
            lambda c=config, i=initial: fit_als(grown, c, users, initial_item_factors=i)
        )
        metrics = evaluate(arrays, factors, configs.rank, configs.eval_protocol, ("validation",))
        validation = metrics["validation"]
        rows.append(
            {
                "fit": name,
                "sweeps": config.iterations,
                "fit_s": round(seconds, 1),
                **{key: round(value, 4) for key, value in validation.items() if "@" in key},
            }
        )
    key = f"recall@{params.top_k}"
    for row in rows:
        row["recall_vs_cold"] = round(row[key] / rows[0][key] - 1, 4)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.serving_schedule", description=__doc__
    )
    parser.add_argument("--input", type=Path, default=GOWALLA)
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="recsys-schedule-") as tmp:
        work = Path(tmp)
        users, items = synthetic_pairs(6000, 3600, 100, n_clusters=30, seed=5)
        logs = {
            "dense synthetic (6k users, 3.6k items, ~100 per user)": write_adjacency(
                work / "dense.txt", users, items
            )
        }
        if args.input.is_file():
            logs = {"gowalla train.txt": args.input, **logs}
        params = NightlyParams(split_strategy="random_ratio", model="als")
        for number, (name, path) in enumerate(logs.items()):
            results[name] = schedule_costs(path, work / str(number), params)
            print(f"\n{name} (validation):")
            print(format_table(results[name]), flush=True)
    out = ROOT / "benchmarks" / "results" / "serving-schedule.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
