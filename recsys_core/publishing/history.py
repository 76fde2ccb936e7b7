"""Quality night after night: one row per published night, from its snapshot's manifest
and metrics, kept in ``<output_dir>/_history.jsonl`` beyond retention, and the history plot
(``<output_dir>/_report/history.png``)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from recsys_core.io.storage import Store, as_store
from recsys_core.metrics import metric_key
from recsys_core.models.registry import LEGACY_FAMILY
from recsys_core.publishing.snapshot import published_dates, read_manifest, read_metrics

REPORT_DIR = "_report"
HISTORY_PLOT = "history.png"
# One JSON row per published night, kept when retention removes the night's snapshot.
HISTORY_LOG = "_history.jsonl"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def history_rows(output_dir: str | Path | Store, last: int) -> list[dict]:
    """The newest ``last`` published nights, oldest first: date, model, validation metrics
    and the popularity baseline's, counts, run seconds, churn. From the history log, which
    outlives retention, and the published snapshots for any night the log lacks (published
    before it existed)."""
    store = as_store(output_dir)
    rows = {row["date"]: row for row in logged_rows(store)}
    for name in published_dates(store):
        if name.removeprefix("dt=") not in rows:
            rows[name.removeprefix("dt=")] = snapshot_row(store, name)
    return [rows[date] for date in sorted(rows)][-last:] if last > 0 else []


def snapshot_row(store: Store, name: str) -> dict:
    """The history row of published snapshot ``name`` (``dt=…``), from its files."""
    folder = store.child(name)
    manifest, metrics = read_manifest(folder), read_metrics(folder)
    params = manifest.get("params") or {}  # a plan run outside the flow records none
    validation = metrics.get("validation", {})
    popularity = metrics.get("popularity_validation", {})
    k = params.get("top_k") or next(
        (int(key.split("@")[1]) for key in validation if key.startswith("ndcg@")), 0
    )
    churn = manifest.get("churn") or {}
    rows = manifest.get("rows", {})
    return {
        "date": name.removeprefix("dt="),
        "model": params.get("model", LEGACY_FAMILY),
        f"recall@{k}": _rounded(validation.get(metric_key("recall", k))),
        f"ndcg@{k}": _rounded(validation.get(metric_key("ndcg", k))),
        f"pop ndcg@{k}": _rounded(popularity.get(metric_key("ndcg", k))),
        "users": rows.get("users"),
        "items": rows.get("items"),
        "interactions": rows.get("interactions"),
        "run_s": manifest.get("run_seconds"),
        "jaccard": churn.get("mean_jaccard"),
        "first_changed": churn.get("first_item_changed"),
    }


def logged_rows(store: Store) -> list[dict]:
    """The history log's rows (none when there is no log yet)."""
    if not store.is_file(HISTORY_LOG):
        return []
    return [json.loads(line) for line in store.read_bytes(HISTORY_LOG).decode().splitlines()]


def record_night(store: Store, name: str) -> None:
    """Add published snapshot ``name``'s row to the history log (a replaced date's row is
    replaced). The log is rewritten whole, atomically, under the output's lock."""
    row = snapshot_row(store, name)
    rows = [r for r in logged_rows(store) if r["date"] != row["date"]] + [row]
    lines = [json.dumps(r) for r in sorted(rows, key=lambda r: r["date"])]
    store.write_bytes(("\n".join(lines) + "\n").encode(), HISTORY_LOG)


def plot_history(rows: list[dict]) -> bytes:
    """PNG of validation NDCG@k and Recall@k over dates, model vs popularity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dates = [row["date"] for row in rows]
    keys = list(rows[0]) if rows else []
    ndcg, recall, pop = (
        next(k for k in keys if k.startswith(p)) for p in ("ndcg@", "recall@", "pop ")
    )
    figure, axis = plt.subplots(figsize=(7.2, 4.0), dpi=100)
    axis.plot(dates, [row[ndcg] for row in rows], marker="o", label=f"model validation {ndcg}")
    axis.plot(dates, [row[recall] for row in rows], marker="s", label=f"model validation {recall}")
    axis.plot(dates, [row[pop] for row in rows], marker="^", ls="--", label=f"popularity {pop[4:]}")
    axis.set_xlabel("snapshot date")
    axis.set_ylabel("validation metric")
    axis.set_title("Recommendation quality per published snapshot")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def write_history_plot(output_dir: str | Path | Store, rows: list[dict]) -> str:
    """Write the plot to ``<output_dir>/_report/history.png``; returns where it went."""
    store = as_store(output_dir)
    if store.local:
        store.local_path(REPORT_DIR).mkdir(parents=True, exist_ok=True)
    store.write_bytes(plot_history(rows), REPORT_DIR, HISTORY_PLOT)
    return store.uri(REPORT_DIR, HISTORY_PLOT)
