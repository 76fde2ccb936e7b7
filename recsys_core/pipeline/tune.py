"""A tuning run wired once, as a plan (:mod:`recsys_core.pipeline.plan`): shared ingest
and split, one weight step per distinct weighting, the family's shared fits (one sweep
chain per distinct ALS run; one SVD per distinct graph-filter fit), one validation
evaluation per trial, then the test part for the chosen trial only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from recsys_core.config import PipelineConfig
from recsys_core.errors import InputError
from recsys_core.io.atomic import json_text, replace_text
from recsys_core.io.boundary import reading
from recsys_core.metrics import METRIC_NAMES, metric_key
from recsys_core.models.registry import family
from recsys_core.pipeline.inputs import fetch_input, input_checksum
from recsys_core.pipeline.plan import Plan, StepBatch, StepCall
from recsys_core.tuning.trials import (
    DEFAULT_FAMILY,
    FAMILY_KNOBS,
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


BEST_PARAMS_FORM = "a best_params.json written by flows.tune (a JSON object with a 'params' object)"


def read_best_params(path: Path) -> dict[str, Any]:
    """A best_params.json, through the input boundary: anything else than the form
    :func:`write_tuning` writes is an :class:`InputError` naming the file."""
    with reading(path, BEST_PARAMS_FORM):
        best = json.loads(path.read_text())
    if not isinstance(best, dict):
        raise InputError(str(path), BEST_PARAMS_FORM, got=f"a JSON {type(best).__name__}")
    if not isinstance(best.get("params", {}), dict):
        kind = type(best["params"]).__name__
        raise InputError(str(path), BEST_PARAMS_FORM, got=f"'params' is a JSON {kind}")
    return best


def knobs(config: PipelineConfig, name: str = DEFAULT_FAMILY) -> dict[str, Any]:
    """The values of family ``name``'s searchable knobs in one trial's configs."""
    sources = (config.weight, config.rank, family(name).config(config))
    return {
        knob: getattr(next(s for s in sources if hasattr(s, knob)), knob)
        for knob in FAMILY_KNOBS[name]
    }


def _batch(step: str, many: list[dict[str, Any]], label: str | None = None) -> StepBatch:
    return StepBatch([StepCall(step, inputs, label) for inputs in many])


def tuning_plan(
    base: PipelineConfig,
    trials: Sequence[PipelineConfig],
    input_path: str | Path,
    work_dir: str | Path,
    metric: str,
    name: str = DEFAULT_FAMILY,
) -> Plan:
    """Every trial of family ``name`` (validation only), the best by ``metric``, tested
    once.

    Returns ``rows`` (one per trial, in trial order), ``best`` (its index), ``test`` (the
    chosen trial's test-part metrics), ``family``, ``input_sha256`` and the shared folders.
    """
    source, local = fetch_input(input_path, work_dir)
    input_sha = input_checksum(local)
    ingested = yield StepCall(
        "ingest", dict(input_path=local, input_sha256=input_sha, config=base.ingest)
    )
    split = yield StepCall("split", dict(ingest_dir=ingested["dir"], config=base.split))
    protocol = base.eval_protocol
    entry = family(name)
    if entry.tuning == "shared_fit":
        # A shared fit reads only the matrix's pattern: the base weighting serves all.
        trials = [replace(trial, weight=base.weight) for trial in trials]
    weightings = list(dict.fromkeys(trial.weight for trial in trials))
    weighted = yield _batch(
        "weight", [dict(split_dir=split["dir"], config=w, protocol=protocol) for w in weightings]
    )
    weight_dir = {w: result["dir"] for w, result in zip(weightings, weighted, strict=True)}
    plan = _shared_fit_trials if entry.tuning == "shared_fit" else _sweep_trials
    step, inputs, fit_seconds = yield from plan(name, trials, weight_dir, split["dir"])
    rows = []
    evaluated = yield _batch(step, [inputs(trial, ("validation",)) for trial in trials], name)
    for number, (trial, result) in enumerate(zip(trials, evaluated, strict=True)):
        validation = result["metrics"]["validation"]
        rows.append(
            {
                "trial": number,
                **knobs(trial, name),
                **{key: validation[key] for key in validation},
                "popularity_" + metric: result["metrics"]["popularity_validation"][metric],
                "fit_s": fit_seconds(trial),
            }
        )
    best = best_trial(rows, metric)
    tested = yield StepCall(step, inputs(trials[best], ("test",)), label=name)
    return {
        "rows": rows,
        "best": best,
        "family": name,
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


def _shared_fit_trials(
    name: str, trials: Sequence[PipelineConfig], weight_dir: dict, split_dir: str
) -> Plan:
    """One fit per distinct fit config (:attr:`Family.fit_knobs`); every trial evaluated
    on its fit. Returns a :data:`TrialPlan`."""
    entry = family(name)

    def fit_of(trial: PipelineConfig) -> Any:
        return entry.fit_knobs(entry.config(trial))

    fits = list(dict.fromkeys(fit_of(trial) for trial in trials))
    weights = weight_dir[trials[0].weight]
    done = yield _batch(
        "train-eval",
        [dict(weight_dir=weights, matrix="eval", family=name, config=f) for f in fits],
        name,
    )
    fitted = dict(zip(fits, done, strict=True))

    def inputs(trial: PipelineConfig, parts: tuple[str, ...]) -> dict[str, Any]:
        return dict(
            split_dir=split_dir,
            train_dir=fitted[fit_of(trial)]["dir"],
            family=name,
            config=entry.config(trial),
            rank=trial.rank,
            protocol=trial.eval_protocol,
            parts=parts,
        )

    def fit_s(trial: PipelineConfig) -> float:
        return fitted[fit_of(trial)]["seconds"]

    return "shared-fit-evaluate", inputs, fit_s


def _sweep_trials(
    name: str, trials: Sequence[PipelineConfig], weight_dir: dict, split_dir: str
) -> Plan:
    """One sweep chain per distinct fit; every trial evaluated at its sweep count.
    Returns a :data:`TrialPlan`."""
    entry = family(name)
    chains = sweep_chains(trials, name)
    fitted = yield _batch(
        "sweep-chain",
        [
            dict(
                weight_dir=weight_dir[c.weight],
                family=name,
                config=c.config,
                checkpoints=c.checkpoints,
            )
            for c in chains
        ],
        name,
    )

    def sweeps(trial: PipelineConfig) -> int:
        return getattr(entry.config(trial), entry.sweeps_knob)

    def inputs(trial: PipelineConfig, parts: tuple[str, ...]) -> dict[str, Any]:
        return dict(
            split_dir=split_dir,
            chain_dir=fitted[chain_of(trial, chains, name)]["dir"],
            sweeps=sweeps(trial),
            config=trial.rank,
            protocol=trial.eval_protocol,
            parts=parts,
        )

    def fit_s(trial: PipelineConfig) -> float:
        return fitted[chain_of(trial, chains, name)]["fit_seconds"][str(sweeps(trial))]

    return "trial-evaluate", inputs, fit_s


def _earlier_params(output_dir: str | Path, name: str) -> dict[str, Any]:
    """The other families' knobs in the current best_params.json (none when absent)."""
    path = best_params_path(output_dir)
    if not path.is_file():
        return {}
    earlier = read_best_params(path).get("params", {})
    return {k: v for k, v in earlier.items() if k not in FAMILY_KNOBS[name]}


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
