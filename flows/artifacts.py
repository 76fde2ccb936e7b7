"""What a nightly run leaves in the Prefect UI: the metrics table and a snapshot note."""

from __future__ import annotations

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from recsys_core.reporting import format_table, metrics_rows


def report_run(timings: list[dict], metrics: dict, published: dict, flow_s: float, k: int) -> None:
    """Log the step timings; create the ``nightly-metrics`` and ``nightly-snapshot`` artifacts."""
    timing_text = format_table(timings)
    get_run_logger().info("step timings (flow %.2fs):\n%s", flow_s, timing_text)
    create_table_artifact(
        key="nightly-metrics",
        table=metrics_rows(metrics, k),
        description="Model vs popularity baseline",
    )
    create_markdown_artifact(
        key="nightly-snapshot",
        markdown=f"**Snapshot** `{published['snapshot']}` ({published['status']})\n\n"
        f"Flow wall time {flow_s:.2f}s\n\n```\n{timing_text}\n```\n",
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
