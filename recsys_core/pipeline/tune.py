"""A tuning run wired once: shared ingest and split, one weight step per distinct weighting,
one sweep chain per distinct ALS run, one validation evaluation per trial, then the test
part for the chosen trial only. *How* steps run is the caller's ``StepRunner``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from recsys_core.config import PipelineConfig
from recsys_core.io.atomic import json_text, replace_text
from recsys_core.metrics import METRIC_NAMES, metric_key
from recsys_core.pipeline.nightly import StepRunner, fetch_input, input_checksum
from recsys_core.tuning.trials import (
    FAMILY_KNOBS,
    best_trial,
    chain_of,
    gf_fit_config,
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


def knobs(config: PipelineConfig, family: str = "als") -> dict[str, Any]:
    """The values of ``family``'s searchable knobs in one trial's configs."""
    sources = (config.weight, config.als, config.rank, config.graph_filter)
    return {
        name: getattr(next(s for s in sources if hasattr(s, name)), name)
        for name in FAMILY_KNOBS[family]
    }


def run_tuning(
    run: StepRunner,
    base: PipelineConfig,
    trials: Sequence[PipelineConfig],
    input_path: str | Path,
    metric: str,
    family: str = "als",
) -> dict[str, Any]:
    """Run every trial of ``family`` (validation only), choose the best by ``metric``, test
    it once.

    Returns ``rows`` (one per trial, in trial order), ``best`` (its index), ``test`` (the
    chosen trial's test-part metrics), ``family``, ``input_sha256`` and the shared folders.
    """
    source, local = fetch_input(input_path, run.work_dir)
    input_sha = input_checksum(local)
    ingested = run("ingest", input_path=local, input_sha256=input_sha, config=base.ingest)
    split = run("split", ingest_dir=ingested["dir"], config=base.split)
    protocol = base.eval_protocol

    if family == "graph_filter":
        # A graph filter reads only the matrix's pattern: the base weighting serves all.
        trials = [replace(trial, weight=base.weight) for trial in trials]
    weightings = list(dict.fromkeys(trial.weight for trial in trials))
    weighted = run.map(
        "weight",
        [dict(split_dir=split["dir"], config=w, protocol=protocol) for w in weightings],
    )
    weight_dir = {w: result["dir"] for w, result in zip(weightings, weighted, strict=True)}
    plan = _graph_filter_trials if family == "graph_filter" else _als_trials
    step, inputs, fit_seconds = plan(run, trials, weight_dir, split["dir"])
    rows = []
    evaluated = run.map(step, [inputs(trial, ("validation",)) for trial in trials])
    for number, (trial, result) in enumerate(zip(trials, evaluated, strict=True)):
        validation = result["metrics"]["validation"]
        rows.append(
            {
                "trial": number,
                **knobs(trial, family),
                **{name: validation[name] for name in validation},
                "popularity_" + metric: result["metrics"]["popularity_validation"][metric],
                "fit_s": fit_seconds(trial),
            }
        )
    best = best_trial(rows, metric)
    tested = run(step, **inputs(trials[best], ("test",)))
    return {
        "rows": rows,
        "best": best,
        "family": family,
        "test": tested["metrics"]["test"],
        "popularity_test": tested["metrics"]["popularity"],
        "input_path": source,
        "input_sha256": input_sha,
        "split_dir": split["dir"],
    }


# How a family's trials are evaluated: the evaluation step, its inputs for a trial and the
# parts to score, and the trial's fit seconds.
TrialPlan = tuple[
    str,
    Callable[[PipelineConfig, tuple[str, ...]], dict[str, Any]],
    Callable[[PipelineConfig], float],
]


def _graph_filter_trials(
    run: StepRunner, trials: Sequence[PipelineConfig], weight_dir: dict, split_dir: str
) -> TrialPlan:
    """One SVD per distinct fit (rank, seed); every trial evaluated on its fit."""
    fits = list(dict.fromkeys(gf_fit_config(trial.graph_filter) for trial in trials))
    weights = weight_dir[trials[0].weight]
    fitted = dict(
        zip(
            fits,
            run.map(
                "train-eval", [dict(weight_dir=weights, matrix="eval", config=f) for f in fits]
            ),
            strict=True,
        )
    )

    def inputs(trial: PipelineConfig, parts: tuple[str, ...]) -> dict[str, Any]:
        return dict(
            split_dir=split_dir,
            train_dir=fitted[gf_fit_config(trial.graph_filter)]["dir"],
            config=trial.graph_filter,
            rank=trial.rank,
            protocol=trial.eval_protocol,
            parts=parts,
        )

    def fit_s(trial: PipelineConfig) -> float:
        return fitted[gf_fit_config(trial.graph_filter)]["seconds"]

    return "gf-trial-evaluate", inputs, fit_s


def _als_trials(
    run: StepRunner, trials: Sequence[PipelineConfig], weight_dir: dict, split_dir: str
) -> TrialPlan:
    """One sweep chain per distinct ALS run; every trial evaluated at its sweep count."""
    chains = sweep_chains(trials)
    fitted = run.map(
        "sweep-chain",
        [
            dict(weight_dir=weight_dir[c.weight], config=c.als, checkpoints=c.checkpoints)
            for c in chains
        ],
    )

    def inputs(trial: PipelineConfig, parts: tuple[str, ...]) -> dict[str, Any]:
        return dict(
            split_dir=split_dir,
            chain_dir=fitted[chain_of(trial, chains)]["dir"],
            sweeps=trial.als.iterations,
            config=trial.rank,
            protocol=trial.eval_protocol,
            parts=parts,
        )

    def fit_s(trial: PipelineConfig) -> float:
        return fitted[chain_of(trial, chains)]["fit_seconds"][str(trial.als.iterations)]

    return "trial-evaluate", inputs, fit_s


def _earlier_params(output_dir: str | Path, family: str) -> dict[str, Any]:
    """The other families' knobs in the current best_params.json (none when absent)."""
    path = best_params_path(output_dir)
    if not path.is_file():
        return {}
    earlier = json.loads(path.read_text()).get("params", {})
    return {k: v for k, v in earlier.items() if k not in FAMILY_KNOBS[family]}


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
        # This family's knobs; the other family's stay as an earlier run chose them.
        "params": {
            **_earlier_params(output_dir, outcome["family"]),
            **{name: best[name] for name in FAMILY_KNOBS[outcome["family"]]},
        },
        "family": outcome["family"],
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
