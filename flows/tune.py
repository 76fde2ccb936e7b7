"""The tuning flow: seed 001's grid search done properly, on the nightly's own steps.

Run it: ``python -m flows.tune --params '{"input_path": "...", "output_dir": "...",
"search_space": {"factors": [32, 64], "iterations": [5, 10, 20], "alpha": [3, 10, 30]}}'``
(a dict of lists is a grid; ``"search": "random"`` with ``n_trials`` samples it). Trials are
chosen on validation only; the chosen one is tested once. The last stdout line is the path
of ``<output_dir>/_tuning/best_params.json``, which ``nightly`` reads with
``params_from: "best"``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from flows.cli import collected_params, flow_parser, run_guarded
from flows.nightly import resolve_run_date
from flows.params import DEFAULT_SPACE, TuneParams, ensure_signature_matches, parameter_help
from recsys_core.config import (
    BadRowPolicy,
    Bm25Direction,
    ChebyshevForm,
    EvalMode,
    InputFormat,
    SplitStrategy,
)
from recsys_core.errors import InputError
from recsys_core.io.storage import is_uri
from recsys_core.pipeline.tune import PLOT_FILE, TUNING_DIR, tuning_plan, write_tuning
from recsys_core.publishing.snapshot import snapshot_name
from recsys_core.reporting import format_table
from recsys_core.tuning.plots import plot_leaderboard
from recsys_core.tuning.trials import FAMILY_KNOBS, SearchMethod, plan_trials, searched_family
from tasks.runner import PrefectStepRunner

_DEFAULTS = TuneParams()
# Prefect's thread pool is unbounded by default: 48 trial evaluations at once on Gowalla
# (≈ 1 GB each) were killed by the OOM killer. Two at a time keep both cores busy.
TRIAL_WORKERS = 2


@flow(name="tune", log_prints=False, task_runner=ThreadPoolTaskRunner(max_workers=TRIAL_WORKERS))
def tune(
    input_path: str = _DEFAULTS.input_path,
    input_format: InputFormat = _DEFAULTS.input_format,
    output_dir: str = _DEFAULTS.output_dir,
    run_date: dt.date | None = _DEFAULTS.run_date,
    top_k: int = _DEFAULTS.top_k,
    min_user_items: int = _DEFAULTS.min_user_items,
    random_state: int = _DEFAULTS.random_state,
    eval_mode: EvalMode = _DEFAULTS.eval_mode,
    split_strategy: SplitStrategy = _DEFAULTS.split_strategy,
    leave_k: int = _DEFAULTS.leave_k,
    validation_cutoff: str | None = _DEFAULTS.validation_cutoff,
    test_cutoff: str | None = _DEFAULTS.test_cutoff,
    user_col: str = _DEFAULTS.user_col,
    item_col: str = _DEFAULTS.item_col,
    event_col: str = _DEFAULTS.event_col,
    timestamp_col: str = _DEFAULTS.timestamp_col,
    event_strengths: Mapping[str, float] = _DEFAULTS.event_strengths,
    bad_rows: BadRowPolicy = _DEFAULTS.bad_rows,
    max_bad_fraction: float = _DEFAULTS.max_bad_fraction,
    work_dir: str | None = _DEFAULTS.work_dir,
    timezone: str = _DEFAULTS.timezone,
    factors: int = _DEFAULTS.factors,
    regularization: float = _DEFAULTS.regularization,
    iterations: int | None = _DEFAULTS.iterations,
    alpha: float | None = _DEFAULTS.alpha,
    bm25_k1: float = _DEFAULTS.bm25_k1,
    bm25_b: float = _DEFAULTS.bm25_b,
    bm25_direction: Bm25Direction = _DEFAULTS.bm25_direction,
    popularity_weight: float = _DEFAULTS.popularity_weight,
    gf_rank: int = _DEFAULTS.gf_rank,
    gf_ideal_weight: float = _DEFAULTS.gf_ideal_weight,
    gf_popularity_weight: float = _DEFAULTS.gf_popularity_weight,
    gf_sharpen_steps: int = _DEFAULTS.gf_sharpen_steps,
    gf_sharpen_t: float = _DEFAULTS.gf_sharpen_t,
    cheby_order: int = _DEFAULTS.cheby_order,
    cheby_flatness: float = _DEFAULTS.cheby_flatness,
    cheby_ideal_rank: int = _DEFAULTS.cheby_ideal_rank,
    cheby_ideal_weight: float = _DEFAULTS.cheby_ideal_weight,
    cheby_degree_power: float = _DEFAULTS.cheby_degree_power,
    cheby_popularity_weight: float = _DEFAULTS.cheby_popularity_weight,
    cheby_form: ChebyshevForm = _DEFAULTS.cheby_form,
    search_space: Mapping[str, list[Any]] = DEFAULT_SPACE,
    search: SearchMethod = _DEFAULTS.search,
    n_trials: int | None = _DEFAULTS.n_trials,
    search_seed: int = _DEFAULTS.search_seed,
    metric: str = _DEFAULTS.metric,
) -> dict:
    """Search the model's knobs on validation; write the leaderboard and best_params.json."""
    params = TuneParams(**locals())  # first line: locals() is exactly the parameters
    started = time.perf_counter()
    day = resolve_run_date(params.run_date, params.timezone)
    if is_uri(params.output_dir):
        raise InputError(
            params.output_dir, "a local output_dir (tuning writes its results locally)"
        )
    output = Path(params.output_dir).resolve()
    # Its own work dir: nightly publishes prune <output_dir>/_work, not tuning's folders.
    work = Path(params.work_dir).resolve() if params.work_dir else output / TUNING_DIR / "_work"
    runner = PrefectStepRunner(work)
    trials = plan_trials(params.search_space, params.search, params.n_trials, params.search_seed)
    configs = [params.trial_params(trial).pipeline_config() for trial in trials]
    family = searched_family(params.search_space)
    plan = tuning_plan(
        params.pipeline_config(), configs, params.input_path, work, params.metric, family
    )
    outcome = runner.run_plan(plan)
    provenance = {
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "run_date": day.isoformat(),
        "split": {
            "split_strategy": params.split_strategy,
            "min_user_items": params.min_user_items,
            "random_state": params.random_state,
            "eval_mode": params.eval_mode,
        },
        "search": params.search,
        "search_space": dict(params.search_space),
        "search_seed": params.search_seed,
    }
    written = write_tuning(output, snapshot_name(day), outcome, provenance, params.metric)
    plot = written["folder"] / PLOT_FILE
    shown = plot_leaderboard(outcome["rows"], params.metric, FAMILY_KNOBS[family], plot)
    flow_s = round(time.perf_counter() - started, 3)
    _report(outcome, params.metric, plot, shown, written, flow_s)
    return {
        "best_params": str(written["best_params"]),
        "leaderboard": str(written["leaderboard"]),
        "plot": str(plot),
        "best": outcome["rows"][outcome["best"]],
        "test": outcome["test"],
        "trials": len(outcome["rows"]),
        "timings": runner.timings,
        "flow_s": flow_s,
    }


ensure_signature_matches(tune.fn, TuneParams)


def top_rows(rows: list[dict], metric: str, n: int = 10) -> list[dict]:
    """The ``n`` best trials by ``metric``, rounded for display."""
    ranked = sorted(rows, key=lambda r: (-r[metric], r["fit_s"], r["trial"]))[:n]
    return [
        {key: round(value, 4) if isinstance(value, float) else value for key, value in r.items()}
        for r in ranked
    ]


def _report(outcome, metric, plot: Path, shown, written, flow_s: float) -> None:
    best = outcome["rows"][outcome["best"]]
    log = get_run_logger()
    log.info(
        "tuning: %d trials in %.1fs; best %s = %.4f",
        len(outcome["rows"]),
        flow_s,
        metric,
        best[metric],
    )
    create_table_artifact(
        key="tune-leaderboard",
        table=top_rows(outcome["rows"], metric),
        description="Top 10 trials (validation)",
    )
    image = base64.b64encode(plot.read_bytes()).decode()
    create_markdown_artifact(
        key="tune-best",
        markdown=f"**Best** trial {best['trial']}: validation {metric} {best[metric]:.4f}, "
        f"test {outcome['test'][metric]:.4f}\n\n`{written['best_params']}`\n\n"
        f"Plot `{plot}` (by {', '.join(shown) or 'no varying knob'}):\n\n"
        f"![leaderboard](data:image/png;base64,{image})\n",
    )


def main(argv: list[str] | None = None) -> int:
    """CLI: run a tuning; print the top trials, the test figures and, last, best_params.json."""
    return run_command("python -m flows.tune", argv)


def run_command(prog: str, argv: list[str] | None) -> int:
    """The tuning's command line under the name ``prog`` (``recsys-nightly tune`` too)."""
    args = flow_parser(prog, __doc__, parameter_help(TuneParams)).parse_args(argv)
    overrides: dict = {}

    def validate() -> TuneParams:
        overrides.update(collected_params(args))
        params = TuneParams(**overrides)
        plan_trials(params.search_space, params.search, params.n_trials, params.search_seed)
        return params

    def run(params: TuneParams) -> tuple[TuneParams, dict]:
        return params, tune(**overrides)

    done = run_guarded("tune", args.verbose, validate, run)
    if done is None:
        return 1
    params, result = done
    print(format_table(top_rows(_rows_of(result), params.metric)))
    print(f"\n{result['trials']} trials in {result['flow_s']:.1f}s")
    print(f"chosen on validation: {json.dumps(result['best'], default=str)}")
    print(f"its test part: {json.dumps(result['test'])}")
    print()
    print(result["best_params"])
    return 0


def _rows_of(result: dict) -> list[dict]:
    return pq.read_table(result["leaderboard"]).to_pylist()


if __name__ == "__main__":
    sys.exit(main())
