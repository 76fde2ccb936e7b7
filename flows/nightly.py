"""The nightly flow: ingest → split → weight → train-eval → evaluate → train-full → score → publish.

Run it: ``python -m flows.nightly --params '{"input_path": "...", "output_dir": "..."}'``
(parameters merged over the defaults; the last stdout line is the snapshot folder).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import time
import zoneinfo
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.params import DEFAULTS, NightlyParams
from recsys_core.errors import InputError
from recsys_core.evaluation import METRIC_NAMES
from recsys_core.snapshot import sha256_file
from recsys_core.steps import is_complete
from recsys_core.version import core_version, git_commit
from tasks.steps import (
    evaluate_task,
    ingest_task,
    publish_task,
    score_task,
    split_task,
    train_task,
    weight_task,
)


def step_dir(work_dir: Path, step: str, *inputs: Any) -> str:
    """Content-addressed folder of a step: a hash of what it is computed from + core version."""
    payload = json.dumps(inputs, sort_keys=True, default=str) + core_version()
    return str(work_dir / step / hashlib.sha256(payload.encode()).hexdigest()[:16])


def config_dict(config: Any) -> dict:
    """A frozen core config as a plain JSON-able dict (task parameter and cache-key input)."""
    return {
        f.name: dict(value) if isinstance(value, Mapping) else value
        for f in fields(config)
        for value in [getattr(config, f.name)]
    }


def resolve_run_date(explicit: dt.date | None, timezone: str) -> dt.date:
    """Explicit date, else the flow run's *scheduled* time as a date in ``timezone``."""
    if explicit is not None:
        return explicit
    from prefect.runtime import flow_run

    scheduled = flow_run.scheduled_start_time or dt.datetime.now(dt.UTC)
    return scheduled.astimezone(zoneinfo.ZoneInfo(timezone)).date()


class _Timer:
    """Runs tasks, keeping each one's wall time, core seconds and final state name."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def __call__(self, step: str, task, **kwargs) -> dict:
        started = time.perf_counter()
        if "out_dir" in kwargs and not is_complete(kwargs["out_dir"]):
            task = task.with_options(refresh_cache=True)  # a cached path would point at nothing
        state = task(**kwargs, return_state=True)
        result = state.result()
        self.rows.append(
            {
                "step": step,
                "state": state.name,
                "wall_s": round(time.perf_counter() - started, 3),
                "core_s": result.get("seconds") if state.name != "Cached" else 0.0,
            }
        )
        return result


@flow(name="nightly", log_prints=False)
def nightly(
    input_path: str = DEFAULTS.input_path,
    input_format: Literal["adjacency", "events", "parquet", "auto"] = DEFAULTS.input_format,
    output_dir: str = DEFAULTS.output_dir,
    run_date: dt.date | None = DEFAULTS.run_date,
    factors: int = DEFAULTS.factors,
    regularization: float = DEFAULTS.regularization,
    iterations: int = DEFAULTS.iterations,
    alpha: float = DEFAULTS.alpha,
    bm25_k1: float = DEFAULTS.bm25_k1,
    bm25_b: float = DEFAULTS.bm25_b,
    bm25_direction: Literal["user_items", "item_users"] = DEFAULTS.bm25_direction,
    popularity_weight: float = DEFAULTS.popularity_weight,
    top_k: int = DEFAULTS.top_k,
    min_user_items: int = DEFAULTS.min_user_items,
    random_state: int = DEFAULTS.random_state,
    eval_mode: Literal["standard", "seed"] = DEFAULTS.eval_mode,
    full_schedule: Literal["cold", "warm"] = DEFAULTS.full_schedule,
    warm_iterations: int = DEFAULTS.warm_iterations,
    split_strategy: Literal["ordered", "leave_k_out", "time_cutoff"] = DEFAULTS.split_strategy,
    leave_k: int = DEFAULTS.leave_k,
    validation_cutoff: str | None = DEFAULTS.validation_cutoff,
    test_cutoff: str | None = DEFAULTS.test_cutoff,
    user_col: str = DEFAULTS.user_col,
    item_col: str = DEFAULTS.item_col,
    event_col: str = DEFAULTS.event_col,
    timestamp_col: str = DEFAULTS.timestamp_col,
    event_strengths: dict[str, float] | None = DEFAULTS.event_strengths,
    bad_rows: Literal["fail", "quarantine"] = DEFAULTS.bad_rows,
    max_bad_fraction: float = DEFAULTS.max_bad_fraction,
    work_dir: str | None = DEFAULTS.work_dir,
    overwrite: bool = DEFAULTS.overwrite,
    keep_last: int = DEFAULTS.keep_last,
    timezone: str = DEFAULTS.timezone,
) -> dict:
    """Turn an implicit-feedback log into a dated recommendations snapshot."""
    started = time.perf_counter()
    params = NightlyParams(**{k: v for k, v in locals().items() if k in NightlyParams.model_fields})
    log = get_run_logger()
    day = resolve_run_date(params.run_date, params.timezone)
    output = Path(params.output_dir).resolve()
    work = Path(params.work_dir).resolve() if params.work_dir else output / "_work"
    source = Path(params.input_path).resolve()
    if not source.is_file():
        raise InputError(str(source), "an existing input file (input_path)")
    input_sha = sha256_file(source)
    ingest_cfg, split_cfg = params.ingest_config(), params.split_config()
    weight_cfg, als_cfg, rank_cfg = (
        params.weight_config(),
        params.als_config(),
        params.rank_config(),
    )
    ingest_kw = config_dict(ingest_cfg)

    run = _Timer()
    ingested = run(
        "ingest",
        ingest_task,
        input_path=str(source),
        input_sha256=input_sha,
        out_dir=step_dir(work, "ingest", input_sha, ingest_kw),
        config=ingest_kw,
    )
    split = run(
        "split",
        split_task,
        ingest_dir=ingested["dir"],
        out_dir=step_dir(work, "split", ingested["dir"], config_dict(split_cfg)),
        config=config_dict(split_cfg),
    )
    weighted = run(
        "weight",
        weight_task,
        split_dir=split["dir"],
        out_dir=step_dir(work, "weight", split["dir"], config_dict(weight_cfg), params.eval_mode),
        config=config_dict(weight_cfg),
        eval_mode=params.eval_mode,
    )
    train_eval = run(
        "train-eval",
        train_task,
        weight_dir=weighted["dir"],
        which="eval",
        out_dir=step_dir(work, "train-eval", weighted["dir"], config_dict(als_cfg)),
        config=config_dict(als_cfg),
    )
    evaluated = run(
        "evaluate",
        evaluate_task,
        split_dir=split["dir"],
        train_dir=train_eval["dir"],
        out_dir=step_dir(work, "evaluate", split["dir"], train_eval["dir"], config_dict(rank_cfg)),
        config=config_dict(rank_cfg),
    )
    full_cfg = params.full_als_config()
    warm_dir = train_eval["dir"] if params.full_schedule == "warm" else None
    train_full = run(
        "train-full",
        train_task,
        weight_dir=weighted["dir"],
        which="full",
        out_dir=step_dir(work, "train-full", weighted["dir"], config_dict(full_cfg), warm_dir),
        config=config_dict(full_cfg),
        warm_start_dir=warm_dir,
    )
    scored = run(
        "score",
        score_task,
        split_dir=split["dir"],
        ingest_dir=ingested["dir"],
        train_dir=train_full["dir"],
        out_dir=step_dir(
            work, "score", split["dir"], ingested["dir"], train_full["dir"], config_dict(rank_cfg)
        ),
        config=config_dict(rank_cfg),
    )
    manifest = {
        "input_path": str(source),
        "input_sha256": input_sha,
        "params": params.model_dump(mode="json") | {"run_date": day.isoformat()},
        "code_version": {"core": core_version(), "git": git_commit()},
        "fingerprint": params.fingerprint(input_sha, core_version()),
        # Step folders this snapshot came from: work-dir pruning keeps these.
        "work_dirs": [
            step["dir"]
            for step in (ingested, split, weighted, train_eval, evaluated, train_full, scored)
        ],
        "rows": {
            "interactions": ingested["rows"],
            "users": ingested["users"],
            "items": ingested["items"],
            "bad_rows": ingested["bad_rows"],
            "train": split["train"],
            "validation": split["validation"],
            "test": split["test"],
        },
    }
    published = run(
        "publish",
        publish_task,
        output_dir=str(output),
        run_date=day,
        score_dir=scored["dir"],
        evaluate_dir=evaluated["dir"],
        train_dir=train_full["dir"],
        manifest=manifest,
        overwrite=params.overwrite,
        keep_last=params.keep_last,
    )
    total = round(time.perf_counter() - started, 3)
    metrics = evaluated["metrics"]
    _report(log, run.rows, metrics, published, total, params.top_k)
    return {
        "snapshot": published["snapshot"],
        "status": published["status"],
        "run_date": day.isoformat(),
        "metrics": metrics,
        "timings": run.rows,
        "flow_s": total,
    }


def metrics_rows(metrics: dict, k: int) -> list[dict]:
    """Rows of the evaluation table: one per metric, model vs popularity, both parts."""
    return [
        {
            "metric": f"{name}@{k}",
            "model_validation": round(metrics["validation"][f"{name}@{k}"], 4),
            "model_test": round(metrics["test"][f"{name}@{k}"], 4),
            "popularity_validation": round(metrics["popularity_validation"][f"{name}@{k}"], 4),
            "popularity_test": round(metrics["popularity"][f"{name}@{k}"], 4),
        }
        for name in METRIC_NAMES
    ]


def format_table(rows: list[dict]) -> str:
    """Plain fixed-width text table."""
    if not rows:
        return ""
    headers = list(rows[0])
    cells = [[str(r[h]) for h in headers] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, cells)])


def _report(log, timings: list[dict], metrics: dict, published: dict, total: float, k: int) -> None:
    timing_text = format_table(timings)
    log.info("step timings (flow %.2fs):\n%s", total, timing_text)
    create_table_artifact(
        key="nightly-metrics",
        table=metrics_rows(metrics, k),
        description="Model vs popularity baseline",
    )
    create_markdown_artifact(
        key="nightly-snapshot",
        markdown=f"**Snapshot** `{published['snapshot']}` ({published['status']})\n\n"
        f"Flow wall time {total:.2f}s\n\n```\n{timing_text}\n```\n",
    )


def main(argv: list[str] | None = None) -> int:
    """CLI: run the flow once; print timings, metrics and, last, the snapshot folder."""
    parser = argparse.ArgumentParser(prog="python -m flows.nightly", description=__doc__)
    parser.add_argument("--params", default="{}", help="JSON object merged over the defaults")
    args = parser.parse_args(argv)
    try:
        overrides = json.loads(args.params)
        if not isinstance(overrides, dict):
            raise ValueError("--params must be a JSON object")
        NightlyParams(**overrides)  # fail fast, before the API starts
        result = nightly(**overrides)
    except Exception as exc:  # noqa: BLE001 - the CLI's contract: message on stderr, exit 1
        print(f"nightly failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    k = overrides.get("top_k", DEFAULTS.top_k)
    print(format_table(result["timings"]))
    print(f"flow wall time: {result['flow_s']:.2f}s")
    print()
    print(format_table(metrics_rows(result["metrics"], k)))
    print()
    print(result["snapshot"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
