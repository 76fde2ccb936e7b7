"""Groundwork for the graph-filter model family: GF-CF and a z-score ALS + GF-CF blend
against tuned ALS, on a validation split of Gowalla's train.txt (no test part is read).

``python -m benchmarks.graph_filter_probe [--input PATH]`` prints validation Recall@20 and
NDCG@20 per model and writes ``benchmarks/results/graph-filter-probe.json``. GF-CF (Shen et
al., CIKM 2021): with R the binary train matrix and R̃ = D_U^-½ R D_I^-½, scores are
r·R̃ᵀR̃ (two sparse products per block, no dense items × items matrix) plus
``ideal_weight`` · r·D_I^-½ V_k V_kᵀ D_I^½, V_k the top right singular vectors of R̃
(seeded randomized SVD), all from ``recsys_core.graph_filter``. Blend: per-user z-scores,
``w`` ALS + (1 − w) GF-CF. Lists come from the product's shared block top-k.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from flows.params import TuneParams
from recsys_core.columns import Parts
from recsys_core.config import GraphFilterConfig
from recsys_core.graph_filter import fit_graph_filter
from recsys_core.matrices import eval_training_matrix, read_split, rows_matrix
from recsys_core.metrics import ndcg_at_k, recall_at_k
from recsys_core.pipeline import LocalRunner, input_checksum
from recsys_core.ranking import contains, item_popularity, popularity_bias, top_k_scored
from recsys_core.reporting import format_table
from recsys_core.training import fit_als
from recsys_core.weighting import confidence
from recsys_core.workdir import SPLIT_FILE

ROOT = Path(__file__).resolve().parents[1]
GOWALLA = ROOT.parent / "shared" / "data" / "gowalla" / "train.txt"
# The Gowalla tuning run's choice (README, Tuning).
TUNED_ALS = {"factors": 256, "alpha": 3.0, "iterations": 10, "popularity_weight": 0.05}


def zscore(scores: np.ndarray) -> np.ndarray:
    return (scores - scores.mean(1, keepdims=True)) / (scores.std(1, keepdims=True) + 1e-9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.graph_filter_probe", description=__doc__
    )
    parser.add_argument("--input", type=Path, default=GOWALLA)
    parser.add_argument("--rank", type=int, default=256)
    parser.add_argument("--ideal-weight", type=float, default=0.3)
    args = parser.parse_args(argv)
    if not args.input.is_file():
        print(f"graph_filter_probe: no input at {args.input}", file=sys.stderr)
        return 2
    params = TuneParams(input_path=str(args.input), **TUNED_ALS)
    configs = params.pipeline_config()
    with tempfile.TemporaryDirectory(prefix="recsys-gf-") as tmp:
        run = LocalRunner(Path(tmp))
        ingested = run(
            "ingest",
            input_path=str(args.input.resolve()),
            input_sha256=input_checksum(args.input.resolve()),
            config=configs.ingest,
        )
        split = run("split", ingest_dir=ingested["dir"], config=configs.split)
        arrays = read_split(Path(split["dir"]) / SPLIT_FILE)
    model_users, train = eval_training_matrix(arrays, configs.eval_protocol)
    users = arrays.evaluated_users()
    validation = rows_matrix(arrays, arrays.parts == Parts.VALIDATION, users)
    seen = train[np.searchsorted(model_users, users)]

    started = time.perf_counter()
    als = fit_als(confidence(train, configs.weight), configs.als, model_users)
    als_fit_s = time.perf_counter() - started
    bias = popularity_bias(item_popularity(train), configs.rank.popularity_weight)
    started = time.perf_counter()
    graph = fit_graph_filter(
        train,
        GraphFilterConfig(args.rank, args.ideal_weight, random_state=params.random_state),
        model_users,
    )
    gf_fit_s = time.perf_counter() - started
    rows_of = np.searchsorted(model_users, users)
    n_items = train.shape[1]

    def with_bias(scorer):
        def score(start, stop, out):
            scorer(start, stop, out)
            out[:, :n_items] += bias

        return score

    def blend(w_als):
        als_scorer, gf_scorer = with_bias(als.block_scorer(rows_of)), graph.block_scorer(rows_of)

        def score(start, stop, out):
            gf = np.empty_like(out)
            als_scorer(start, stop, out)
            gf_scorer(start, stop, gf)
            out[:, :n_items] = w_als * zscore(out[:, :n_items]) + (1 - w_als) * zscore(
                gf[:, :n_items]
            )

        return score

    models = {
        "tuned ALS": with_bias(als.block_scorer(rows_of)),
        f"GF-CF (rank {args.rank}, ideal {args.ideal_weight})": graph.block_scorer(rows_of),
        **{f"blend w_als={w}": blend(w) for w in (0.5, 0.7)},
    }
    no_bias = np.zeros(n_items, np.float32)
    rows = []
    n_relevant = np.diff(validation.indptr)
    for name, scorer in models.items():
        started = time.perf_counter()
        items = top_k_scored(scorer, len(users), n_items, no_bias, [seen], 20)[0][0]
        hits = contains(validation, items)
        include = n_relevant > 0
        rows.append(
            {
                "model": name,
                "recall@20": round(float(recall_at_k(hits, n_relevant)[include].mean()), 4),
                "ndcg@20": round(float(ndcg_at_k(hits, n_relevant, 20)[include].mean()), 4),
                "score_s": round(time.perf_counter() - started, 1),
            }
        )
        print(rows[-1], flush=True)
    print(format_table(rows))
    print(f"fit: ALS {als_fit_s:.1f}s, GF-CF SVD {gf_fit_s:.1f}s")
    out = ROOT / "benchmarks" / "results" / "graph-filter-probe.json"
    payload = {
        "input": str(args.input),
        "split": "random_ratio",
        "part": "validation",
        "rows": rows,
        "als_fit_s": round(als_fit_s, 1),
        "gf_fit_s": round(gf_fit_s, 1),
    }
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
