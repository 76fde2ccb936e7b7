"""Groundwork for the graph-filter model family: GF-CF and a z-score ALS + GF-CF blend
against tuned ALS, on a validation split of Gowalla's train.txt (no test part is read).

``python -m benchmarks.graph_filter_probe [--input PATH]`` prints validation Recall@20 and
NDCG@20 per model and writes ``benchmarks/results/graph-filter-probe.json``. GF-CF (Shen et
al., CIKM 2021): with R the binary train matrix and R̃ = D_U^-½ R D_I^-½, scores are
r·R̃ᵀR̃ (two sparse products per block, no dense items × items matrix) plus
``ideal_weight`` · r·D_I^-½ V_k V_kᵀ D_I^½, V_k the top right singular vectors of R̃
(seeded randomized SVD). Blend: per-user z-scores, ``w`` ALS + (1 − w) GF-CF.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from flows.params import TuneParams
from recsys_core.columns import Parts
from recsys_core.matrices import eval_training_matrix, read_split, rows_matrix
from recsys_core.metrics import ndcg_at_k, recall_at_k
from recsys_core.pipeline import LocalRunner
from recsys_core.ranking import contains, item_popularity, popularity_bias
from recsys_core.reporting import format_table
from recsys_core.training import fit_als
from recsys_core.weighting import confidence
from recsys_core.workdir import SPLIT_FILE

ROOT = Path(__file__).resolve().parents[1]
GOWALLA = ROOT.parent / "shared" / "data" / "gowalla" / "train.txt"
# The Gowalla tuning run's choice (README, Tuning).
TUNED_ALS = {"factors": 256, "alpha": 3.0, "iterations": 10, "popularity_weight": 0.05}


def randomized_svd(
    matrix: sp.csr_matrix, rank: int, seed: int, oversample: int = 20, iters: int = 3
):
    """Top ``rank`` singular values and right vectors (Halko et al.), seeded."""
    rng = np.random.default_rng(seed)
    basis = matrix @ rng.standard_normal((matrix.shape[1], rank + oversample)).astype(np.float32)
    basis, _ = np.linalg.qr(basis)
    for _ in range(iters):
        basis, _ = np.linalg.qr(matrix @ np.linalg.qr(matrix.T @ basis)[0])
    _, values, right = np.linalg.svd((matrix.T @ basis).T, full_matrices=False)
    return values[:rank], right[:rank].T


def top_k_of(score_block, users: np.ndarray, seen: sp.csr_matrix, k: int) -> np.ndarray:
    """Top-k unseen items per user, a block of users at a time."""
    out = np.empty((len(users), k), np.int32)
    for start in range(0, len(users), 2048):
        scores = score_block(users[start : start + 2048])
        block = seen[start : start + 2048]
        scores[block.nonzero()] = -np.inf
        part = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1)
        out[start : start + 2048] = np.take_along_axis(part, order, 1)
    return out


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
            input_sha256="probe",
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

    binary = (train > 0).astype(np.float32).tocsr()
    user_degree = np.asarray(binary.sum(1)).ravel()
    item_degree = np.asarray(binary.sum(0)).ravel()
    d_u = np.where(user_degree > 0, user_degree, 1) ** -0.5
    d_i = np.where(item_degree > 0, item_degree, 1) ** -0.5
    started = time.perf_counter()
    normalised = (sp.diags(d_u) @ binary @ sp.diags(d_i)).tocsr().astype(np.float32)
    _, right = randomized_svd(normalised, args.rank, seed=params.random_state)
    gf_fit_s = time.perf_counter() - started
    ideal_items = (right / d_i[:, None]).T.astype(np.float32)  # V_kᵀ D_I^½

    def als_scores(rows):
        return als.user_factors[np.searchsorted(model_users, rows)] @ als.item_factors.T + bias

    def gf_scores(rows):
        r = binary[np.searchsorted(model_users, rows)]
        linear = np.asarray((r @ normalised.T @ normalised).todense())
        return linear + args.ideal_weight * (((r @ sp.diags(d_i)) @ right) @ ideal_items)

    models = {
        "tuned ALS": als_scores,
        f"GF-CF (rank {args.rank}, ideal {args.ideal_weight})": gf_scores,
        **{
            f"blend w_als={w}": (
                lambda rows, w=w: w * zscore(als_scores(rows)) + (1 - w) * zscore(gf_scores(rows))
            )
            for w in (0.5, 0.7)
        },
    }
    rows = []
    n_relevant = np.diff(validation.indptr)
    for name, scorer in models.items():
        started = time.perf_counter()
        hits = contains(validation, top_k_of(scorer, users, seen, 20))
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
