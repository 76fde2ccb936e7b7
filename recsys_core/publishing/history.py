"""Quality night after night: one row per published snapshot, from its manifest and
metrics, and the history plot (``<output_dir>/_report/history.png``)."""

from __future__ import annotations

import io
from pathlib import Path

from recsys_core.io.storage import Store, as_store
from recsys_core.metrics import metric_key
from recsys_core.models.registry import LEGACY_FAMILY
from recsys_core.publishing.snapshot import published_dates, read_manifest, read_metrics

REPORT_DIR = "_report"
HISTORY_PLOT = "history.png"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def history_rows(output_dir: str | Path | Store, last: int) -> list[dict]:
    """The newest ``last`` published snapshots, oldest first: date, model, validation
    metrics and the popularity baseline's, counts, run seconds, churn."""
    store = as_store(output_dir)
    rows = []
    for name in published_dates(store)[-last:]:
        folder = store.child(name)
        manifest, metrics = read_manifest(folder), read_metrics(folder)
        k = manifest["params"]["top_k"]
        validation = metrics.get("validation", {})
        popularity = metrics.get("popularity_validation", {})
        churn = manifest.get("churn") or {}
        rows.append(
            {
                "date": name.removeprefix("dt="),
                "model": manifest["params"].get("model", LEGACY_FAMILY),
                f"recall@{k}": _rounded(validation.get(metric_key("recall", k))),
                f"ndcg@{k}": _rounded(validation.get(metric_key("ndcg", k))),
                f"pop ndcg@{k}": _rounded(popularity.get(metric_key("ndcg", k))),
                "users": manifest["rows"]["users"],
                "items": manifest["rows"]["items"],
                "interactions": manifest["rows"]["interactions"],
                "run_s": manifest.get("run_seconds"),
                "jaccard": churn.get("mean_jaccard"),
                "first_changed": churn.get("first_item_changed"),
            }
        )
    return rows


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
