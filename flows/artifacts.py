"""What a nightly run leaves in the Prefect UI: the metrics table, a snapshot note and the
quality gate's verdict."""

from __future__ import annotations

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from recsys_core.publishing.sample import outputs_sample
from recsys_core.reporting import blend_rows, format_table, metrics_rows


def report_run(
    timings: list[dict],
    metrics: dict,
    published: dict,
    flow_s: float,
    k: int,
    history: list[dict],
    blend: dict | None = None,
) -> None:
    """Log the step timings; create the ``nightly-metrics``, ``nightly-snapshot``,
    ``quality-gate``, ``nightly-history`` (the last ``keep_last`` nights),
    ``nightly-outputs`` (a sample of what was published) and, for an ensemble,
    ``nightly-blend`` (this run's choice of weights) artifacts."""
    timing_text = format_table(timings)
    get_run_logger().info("step timings (flow %.2fs):\n%s", flow_s, timing_text)
    create_table_artifact(
        key="nightly-metrics",
        table=metrics_rows(metrics, k),
        description="Model vs popularity baseline",
    )
    if blend is not None:
        create_table_artifact(
            key="nightly-blend",
            table=blend_rows(blend),
            description="Ensemble weights: chosen on a sample of validation users, or fixed",
        )
    if published["quality_gate"] is not None:  # None: a rerun that published nothing
        report_gate(published["quality_gate"])
    create_table_artifact(
        key="nightly-history",
        table=history,
        description="Published snapshots: validation metrics vs popularity, counts, churn",
    )
    report_outputs(published["snapshot"])
    create_markdown_artifact(
        key="nightly-snapshot",
        markdown=f"**Snapshot** `{published['snapshot']}` ({published['status']})\n\n"
        f"Flow wall time {flow_s:.2f}s\n\n```\n{timing_text}\n```\n",
    )


def report_outputs(snapshot: str) -> None:
    """The ``nightly-outputs`` artifact: a few users' lists, a few items' similar items and
    the fallback list, as published."""
    sections = [
        f"**{name}**\n\n```\n{format_table(rows)}\n```\n"
        for name, rows in outputs_sample(snapshot).items()
    ]
    create_markdown_artifact(key="nightly-outputs", markdown="\n".join(sections))


def report_gate(verdict: dict) -> None:
    """The quality gate's verdict as the ``quality-gate`` artifact (passed, refused, forced)."""
    state = "passed" if verdict["passed"] else "forced" if verdict.get("forced") else "refused"
    rows = [
        ("model", verdict["model"]),
        ("popularity baseline", verdict["popularity"]),
        (f"previous ({verdict['previous_snapshot']})", verdict["previous"]),
    ]
    table = "\n".join(f"| {name} | {'-' if v is None else f'{v:.4f}'} |" for name, v in rows)
    reasons = "".join(f"- {reason}\n" for reason in verdict["reasons"])
    reasons += "".join(f"- not checked: {check}\n" for check in verdict.get("skipped", []))
    create_markdown_artifact(
        key="quality-gate",
        markdown=f"**Quality gate: {state}** ({verdict['metric']}, max drop "
        f"{verdict['max_metric_drop']:.0%})\n\n| | value |\n| --- | --- |\n{table}\n\n"
        f"{reasons}",
    )


def report_failure(flow: str, reason: str) -> None:
    """Make a failed run's one-line reason visible where people look: the run log, and an
    event on the flow run (``prefect deployment run --watch`` prints events, not the state
    message; the UI and ``prefect flow-run inspect`` also show the state message)."""
    from prefect.events import emit_event
    from prefect.runtime import flow_run

    get_run_logger().error("%s failed: %s", flow, reason)
    emit_event(
        event=f"recsys.{flow}.failed",
        resource={
            "prefect.resource.id": f"prefect.flow-run.{flow_run.id}",
            "prefect.resource.name": reason,
        },
        payload={"reason": reason},
    )
