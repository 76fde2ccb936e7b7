"""Plain-text tables of a run: step timings and model-vs-popularity metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from recsys_core.metrics import METRIC_NAMES, metric_key


def metrics_rows(metrics: Mapping[str, Mapping[str, float]], k: int) -> list[dict]:
    """Rows of the evaluation table: one per metric, model vs popularity, both parts."""
    columns = {
        "model_validation": "validation",
        "model_test": "test",
        "popularity_validation": "popularity_validation",
        "popularity_test": "popularity",
    }
    return [
        {"metric": metric_key(name, k)}
        | {column: round(metrics[part][metric_key(name, k)], 4) for column, part in columns.items()}
        for name in METRIC_NAMES
    ]


def blend_rows(choice: Mapping) -> list[dict]:
    """The ensemble's choice as rows: the chosen blend, then the best of each single family,
    on the validation sample the choice was made on, with each one's predicted evaluate +
    score seconds; then each family the night's budget left out, and why (a fixed blend:
    one row, no metrics)."""
    costs = choice.get("costs", {})

    def row(name: str, entry: Mapping) -> dict:
        weights = ", ".join(f"{family} {w:g}" for family, w in entry["weights"].items())
        metrics = {key: round(value, 4) for key, value in entry.items() if "@" in key}
        predicted = [
            costs[f]["predicted_s"] for f, w in entry["weights"].items() if w and f in costs
        ]
        return {
            "blend": name,
            "weights": weights,
            "popularity": entry["popularity_weight"],
            "predicted_s": round(sum(predicted), 1) if predicted else None,
        } | metrics

    if choice.get("fixed"):
        return [row(f"fixed ({choice['chosen']})", choice)]
    chosen = {**choice, **choice["validation_sample"]}
    singles = [row(f"best {name} alone", entry) for name, entry in choice["best_single"].items()]
    first = row(f"chosen ({choice['chosen']})", chosen)
    left_out = [
        dict.fromkeys(first)
        | {"blend": f"{name} left out", "weights": reason}
        | {"predicted_s": costs[name]["predicted_s"]}
        for name, reason in choice.get("left_out", {}).items()
    ]
    return [first, *singles, *left_out]


def format_table(rows: Sequence[Mapping]) -> str:
    """Plain fixed-width text table (columns from the first row).

    Examples
    --------
    >>> print(format_table([{"step": "split", "s": 0.5}]))
    step   s
    -----  ---
    split  0.5
    """
    if not rows:
        return ""
    headers = list(rows[0])
    cells = [[str(row[h]) for h in headers] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, cells)])
