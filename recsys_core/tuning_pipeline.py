"""A tuning run wired once: shared ingest and split, one weight step per distinct weighting,
one sweep chain per distinct ALS run, one validation evaluation per trial, then the test
part for the chosen trial only. *How* steps run is the caller's ``StepRunner``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from recsys_core.config import PipelineConfig
from recsys_core.io.atomic import json_text, replace_text
from recsys_core.metrics import METRIC_NAMES, metric_key
from recsys_core.pipeline import StepRunner, fetch_input, input_checksum
from recsys_core.tuning import (
    SEARCHABLE,
    best_trial,
    chain_of,
    leaderboard_table,
    sweep_chains,
)

TUNING_DIR = "_tuning"
LEADERBOARD_FILE = "leaderboard.parquet"
BEST_PARAMS_FILE = "best_params.json"
PLOT_FILE = "leaderboard.png"


def best_params_path(output_dir: str | Path) -> Path:
    """``<output_dir>/_tuning/best_params.json``: what ``params_from: best`` reads."""
    return Path(output_dir) / TUNING_DIR / BEST_PARAMS_FILE


def knobs(config: PipelineConfig) -> dict[str, Any]:
    """The searchable knobs' values in one trial's configs."""
    sources = (config.weight, config.als, config.rank)
    return {
        name: getattr(next(s for s in sources if hasattr(s, name)), name) for name in SEARCHABLE
    }


def run_tuning(
    run: StepRunner,
    base: PipelineConfig,
    trials: Sequence[PipelineConfig],
    input_path: str | Path,
    metric: str,
) -> dict[str, Any]:
    """Run every trial (validation only), choose the best by ``metric``, test it once.

    Returns ``rows`` (one per trial, in trial order), ``best`` (its index), ``test`` (the
    chosen trial's test-part metrics), ``input_sha256`` and the shared folders.
    """
    source, local = fetch_input(input_path, run.work_dir)
    input_sha = input_checksum(local)
    ingested = run("ingest", input_path=local, input_sha256=input_sha, config=base.ingest)
    split = run("split", ingest_dir=ingested["dir"], config=base.split)
    protocol = base.eval_protocol

    weightings = list(dict.fromkeys(trial.weight for trial in trials))
    weighted = run.map(
        "weight",
        [dict(split_dir=split["dir"], config=w, protocol=protocol) for w in weightings],
    )
    weight_dir = {w: result["dir"] for w, result in zip(weightings, weighted, strict=True)}

    chains = sweep_chains(trials)
    fitted = run.map(
        "sweep-chain",
        [
            dict(weight_dir=weight_dir[c.weight], config=c.als, checkpoints=c.checkpoints)
            for c in chains
        ],
    )

    def evaluation(trial: PipelineConfig, parts: tuple[str, ...]) -> dict[str, Any]:
        chain = fitted[chain_of(trial, chains)]
        return dict(
            split_dir=split["dir"],
            chain_dir=chain["dir"],
            sweeps=trial.als.iterations,
            config=trial.rank,
            protocol=protocol,
            parts=parts,
        )

    evaluated = run.map("trial-evaluate", [evaluation(t, ("validation",)) for t in trials])
    rows = []
    for number, (trial, result) in enumerate(zip(trials, evaluated, strict=True)):
        chain = fitted[chain_of(trial, chains)]
        validation = result["metrics"]["validation"]
        rows.append(
            {
                "trial": number,
                **knobs(trial),
                **{name: validation[name] for name in validation},
                "popularity_" + metric: result["metrics"]["popularity_validation"][metric],
                "fit_s": chain["fit_seconds"][str(trial.als.iterations)],
            }
        )
    best = best_trial(rows, metric)
    tested = run("trial-evaluate", **evaluation(trials[best], ("test",)))
    return {
        "rows": rows,
        "best": best,
        "test": tested["metrics"]["test"],
        "popularity_test": tested["metrics"]["popularity"],
        "input_path": source,
        "input_sha256": input_sha,
        "split_dir": split["dir"],
    }


def write_tuning(
    output_dir: str | Path,
    run_date_name: str,
    outcome: Mapping[str, Any],
    provenance: Mapping[str, Any],
    metric: str,
) -> dict[str, Path]:
    """``_tuning/dt=…/leaderboard.parquet`` (best first) and ``_tuning/best_params.json``.

    The leaderboard is written first; ``best_params.json`` is replaced atomically last, so
    a reader never sees a choice without its leaderboard.
    """
    folder = Path(output_dir) / TUNING_DIR / run_date_name
    folder.mkdir(parents=True, exist_ok=True)
    rows = sorted(outcome["rows"], key=lambda r: (-r[metric], r["fit_s"], r["trial"]))
    leaderboard = folder / LEADERBOARD_FILE
    staging = folder / f".{LEADERBOARD_FILE}.tmp"
    pq.write_table(leaderboard_table(rows), staging)
    staging.replace(leaderboard)
    best = outcome["rows"][outcome["best"]]
    k = int(metric.split("@")[1])
    payload = {
        **provenance,
        "metric": metric,
        "value": best[metric],
        "params": {name: best[name] for name in SEARCHABLE},
        "trial": best["trial"],
        "trials": len(outcome["rows"]),
        "validation": {metric_key(n, k): best[metric_key(n, k)] for n in METRIC_NAMES},
        "test": outcome["test"],
        "popularity_test": outcome["popularity_test"],
        "leaderboard": str(leaderboard),
        "input_sha256": outcome["input_sha256"],
        "input_path": outcome["input_path"],
    }
    path = best_params_path(output_dir)
    replace_text(path, json_text(payload))
    return {"leaderboard": leaderboard, "best_params": path, "folder": folder}
