"""The nightly flow: ingest → split → weight → train-eval → evaluate → train-full → score → publish.

Run it: ``python -m flows.nightly --params '{"input_path": "...", "output_dir": "..."}'``
(parameters merged over the defaults; the last stdout line is the snapshot folder).
The wiring is the core's plan (``recsys_core/pipeline/nightly.py``: ``nightly_plan``);
``tasks/runner.py`` drives it, each step as its Prefect task (``tasks/steps.py``).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
import zoneinfo
from collections.abc import Mapping
from pathlib import Path

from prefect import flow

from flows.artifacts import report_failure, report_gate, report_run
from flows.cli import collected_params, flow_parser, one_line_error, run_guarded
from flows.params import (
    DEFAULTS,
    MODEL_KNOBS,
    AsOf,
    NightlyParams,
    ParamsFrom,
    TaskRunnerKind,
    apply_best,
    ensure_signature_matches,
    parameter_help,
)
from recsys_core.config import (
    BadRowPolicy,
    BlendFamily,
    Bm25Direction,
    ChebyshevForm,
    EvalMode,
    FullSchedule,
    InputFormat,
    ModelFamily,
    SplitStrategy,
)
from recsys_core.errors import InputError
from recsys_core.io.lock import output_lock
from recsys_core.io.storage import is_uri, output_location
from recsys_core.io.workdir import work_root
from recsys_core.pipeline.nightly import nightly_plan
from recsys_core.pipeline.tune import best_params_path, read_best_params
from recsys_core.publishing.history import history_rows
from recsys_core.publishing.quality_gate import QualityGateFailed
from recsys_core.reporting import blend_rows, format_table, metrics_rows
from tasks.output_slot import output_slot
from tasks.runner import PrefectStepRunner, block_task_runner


def resolve_run_date(explicit: dt.date | None, timezone: str) -> dt.date:
    """Explicit date, else the flow run's *scheduled* time as a date in ``timezone``."""
    if explicit is not None:
        return explicit
    from prefect.runtime import flow_run

    scheduled = flow_run.scheduled_start_time or dt.datetime.now(dt.UTC)
    return scheduled.astimezone(zoneinfo.ZoneInfo(timezone)).date()


def resolve_params_from(params: NightlyParams) -> tuple[NightlyParams, dict[str, str]]:
    """Apply ``params_from``; return the parameters to run with and each model knob's source."""
    if params.params_from == "defaults":
        sources = {
            knob: "explicit" if getattr(params, knob) != getattr(DEFAULTS, knob) else "default"
            for knob in MODEL_KNOBS
        }
        return params, sources
    if is_uri(params.output_dir):
        raise InputError(
            params.output_dir, "a local output_dir for params_from: best (tuning writes locally)"
        )
    path = best_params_path(Path(params.output_dir).resolve())
    if not path.is_file():
        raise InputError(str(path), "a best_params.json written by flows.tune (params_from: best)")
    return apply_best(params, read_best_params(path), str(path))


# The signature is NightlyParams field for field (Prefect reads it to build a deployment's
# parameter schema); ensure_signature_matches below fails the import on any drift.
@flow(name="nightly", log_prints=False)
def nightly(
    input_path: str = DEFAULTS.input_path,
    input_format: InputFormat = DEFAULTS.input_format,
    output_dir: str = DEFAULTS.output_dir,
    run_date: dt.date | None = DEFAULTS.run_date,
    top_k: int = DEFAULTS.top_k,
    min_user_items: int = DEFAULTS.min_user_items,
    random_state: int = DEFAULTS.random_state,
    eval_mode: EvalMode = DEFAULTS.eval_mode,
    split_strategy: SplitStrategy = DEFAULTS.split_strategy,
    leave_k: int = DEFAULTS.leave_k,
    validation_cutoff: str | None = DEFAULTS.validation_cutoff,
    test_cutoff: str | None = DEFAULTS.test_cutoff,
    user_col: str = DEFAULTS.user_col,
    item_col: str = DEFAULTS.item_col,
    event_col: str = DEFAULTS.event_col,
    timestamp_col: str = DEFAULTS.timestamp_col,
    event_strengths: Mapping[str, float] = DEFAULTS.event_strengths,
    bad_rows: BadRowPolicy = DEFAULTS.bad_rows,
    max_bad_fraction: float = DEFAULTS.max_bad_fraction,
    work_dir: str | None = DEFAULTS.work_dir,
    timezone: str = DEFAULTS.timezone,
    factors: int = DEFAULTS.factors,
    regularization: float = DEFAULTS.regularization,
    iterations: int | None = DEFAULTS.iterations,
    alpha: float | None = DEFAULTS.alpha,
    bm25_k1: float = DEFAULTS.bm25_k1,
    bm25_b: float = DEFAULTS.bm25_b,
    bm25_direction: Bm25Direction = DEFAULTS.bm25_direction,
    popularity_weight: float = DEFAULTS.popularity_weight,
    gf_rank: int = DEFAULTS.gf_rank,
    gf_ideal_weight: float = DEFAULTS.gf_ideal_weight,
    gf_popularity_weight: float = DEFAULTS.gf_popularity_weight,
    gf_sharpen_steps: int = DEFAULTS.gf_sharpen_steps,
    gf_sharpen_t: float = DEFAULTS.gf_sharpen_t,
    cheby_order: int = DEFAULTS.cheby_order,
    cheby_flatness: float = DEFAULTS.cheby_flatness,
    cheby_ideal_rank: int = DEFAULTS.cheby_ideal_rank,
    cheby_ideal_weight: float = DEFAULTS.cheby_ideal_weight,
    cheby_degree_power: float = DEFAULTS.cheby_degree_power,
    cheby_popularity_weight: float = DEFAULTS.cheby_popularity_weight,
    cheby_form: ChebyshevForm = DEFAULTS.cheby_form,
    model: ModelFamily = DEFAULTS.model,
    ensemble_choose: bool = DEFAULTS.ensemble_choose,
    ensemble_members: tuple[BlendFamily, ...] = DEFAULTS.ensemble_members,
    ensemble_als_weight: float = DEFAULTS.ensemble_als_weight,
    ensemble_popularity_weight: float = DEFAULTS.ensemble_popularity_weight,
    ensemble_sample_users: int = DEFAULTS.ensemble_sample_users,
    evaluate_users: int = DEFAULTS.evaluate_users,
    night_budget_s: float = DEFAULTS.night_budget_s,
    similar_items_k: int = DEFAULTS.similar_items_k,
    explain: bool = DEFAULTS.explain,
    exclude_items_path: str | None = DEFAULTS.exclude_items_path,
    full_schedule: FullSchedule = DEFAULTS.full_schedule,
    warm_iterations: int = DEFAULTS.warm_iterations,
    overwrite: bool = DEFAULTS.overwrite,
    keep_last: int = DEFAULTS.keep_last,
    max_metric_drop: float = DEFAULTS.max_metric_drop,
    force_publish: bool = DEFAULTS.force_publish,
    as_of: AsOf = DEFAULTS.as_of,
    lookback_days: int | None = DEFAULTS.lookback_days,
    lock_timeout_s: float = DEFAULTS.lock_timeout_s,
    task_runner: TaskRunnerKind = DEFAULTS.task_runner,
    dask_address: str | None = DEFAULTS.dask_address,
    user_blocks: int = DEFAULTS.user_blocks,
    params_from: ParamsFrom = DEFAULTS.params_from,
) -> dict:
    """Turn an implicit-feedback log into a dated recommendations snapshot."""
    params = NightlyParams(**locals())  # first line: locals() is exactly the parameters
    try:
        return _run(params)
    except Exception as exc:
        if isinstance(exc, QualityGateFailed):
            report_gate({**exc.verdict.as_dict(), "forced": False})
        report_failure("nightly", one_line_error(exc))
        raise


def _run(params: NightlyParams) -> dict:
    """The nightly run with validated parameters (the flow's body)."""
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    params, sources = resolve_params_from(params)
    day = resolve_run_date(params.run_date, params.timezone)
    output = output_location(params.output_dir)
    work = work_root(output, params.work_dir)
    blocks_on = block_task_runner(params.task_runner, params.dask_address)
    # One run per output at a time: a backfill queues behind a running nightly. The file
    # lock first, then Prefect's cross-machine slot (one order everywhere: no deadlock).
    with (
        blocks_on as block_runner,
        output_lock(output, params.lock_timeout_s, work),
        output_slot(str(output), params.lock_timeout_s),
    ):
        runner = PrefectStepRunner(work, block_runner=block_runner)
        plan = nightly_plan(
            params.pipeline_config(day),
            params.input_for(day),
            work,
            exclude_path=params.exclusions_for(day),
            publish=params.publish_config(output, day, started_at),
            params_record=params.model_dump(mode="json") | params.unset_knob_values(),
            manifest_extra={"param_sources": sources},
            user_blocks=params.blocks_requested(),
        )
        results = runner.run_plan(plan)
    flow_s = round(time.perf_counter() - started, 3)
    metrics, published = results["evaluate"]["metrics"], results["publish"]
    history = history_rows(output, params.keep_last)
    blend = results.get("blend-choose")
    report_run(runner.timings, metrics, published, flow_s, params.top_k, history, blend)
    return {
        "snapshot": published["snapshot"],
        "status": published["status"],
        "run_date": day.isoformat(),
        "metrics": metrics,
        "timings": runner.timings,
        "flow_s": flow_s,
        "blend": blend,
    }


ensure_signature_matches(nightly.fn)


def main(argv: list[str] | None = None) -> int:
    """CLI: run the flow once; print timings, metrics, the publish status and, last, the
    snapshot folder. A failure exits 1 with the error as the last stderr line."""
    return run_command("python -m flows.nightly", argv)


def run_command(prog: str, argv: list[str] | None) -> int:
    """The nightly's command line under the name ``prog`` (``recsys-nightly run`` too)."""
    parser = flow_parser(prog, __doc__, parameter_help(NightlyParams))
    args = parser.parse_args(argv)
    overrides: dict = {}

    def validate() -> NightlyParams:
        overrides.update(collected_params(args))
        return NightlyParams(**overrides)

    def run(params: NightlyParams) -> tuple[NightlyParams, dict]:
        return params, nightly(**overrides)

    done = run_guarded("nightly", args.verbose, validate, run)
    if done is None:
        return 1
    params, result = done
    print(format_table(result["timings"]))
    print(f"flow wall time: {result['flow_s']:.2f}s")
    print()
    print(format_table(metrics_rows(result["metrics"], params.top_k)))
    print()
    if result["blend"] is not None:
        print(format_table(blend_rows(result["blend"])))
        print()
    print(f"publish: {result['status']}")
    print(result["snapshot"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
