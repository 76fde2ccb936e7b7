"""The quality gate before publish: a model that does not beat popularity on validation, or
that fell too far below the last published snapshot, is not published.

The verdict is judged on validation NDCG@k (the split's own held-out part, never the
public test data), against the popularity baseline on the same part and against the
snapshot ``_LATEST`` names. A refused candidate is kept under ``<output_dir>/_rejected/``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from recsys_core.io.storage import Store
from recsys_core.publishing.snapshot import (
    SnapshotError,
    latest_snapshot,
    read_verified_metrics,
)

GATE_METRIC = "ndcg"


class QualityGateFailed(RuntimeError):
    """The candidate snapshot failed the gate; ``verdict`` says why, ``kept_at`` where it is."""

    def __init__(self, verdict: Verdict, kept_at: str) -> None:
        self.verdict, self.kept_at = verdict, kept_at
        super().__init__(
            f"quality gate refused to publish: {'; '.join(verdict.reasons)}. The candidate "
            f"is kept at {kept_at}; force_publish=true publishes it anyway"
        )


@dataclass(frozen=True)
class Verdict:
    """The gate's judgement and the figures it used (JSON-able, goes into the manifest)."""

    passed: bool
    metric: str
    model: float
    popularity: float | None
    previous: float | None
    previous_snapshot: str | None
    max_metric_drop: float
    reasons: list[str] = field(default_factory=list)
    # Checks the gate could not make, and why: a verdict never passes a check silently.
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _gate_key(validation: dict) -> str:
    keys = [key for key in validation if key.split("@")[0] == GATE_METRIC]
    if len(keys) != 1:
        raise ValueError(f"expected one {GATE_METRIC}@k in the validation metrics, got {keys}")
    return keys[0]


def judge(
    metrics: dict,
    max_metric_drop: float,
    previous_metrics: dict | None = None,
    previous_snapshot: str | None = None,
    previous_untrusted: str | None = None,
) -> Verdict:
    """Judge a run's metrics: model above popularity, and no drop beyond ``max_metric_drop``
    (a fraction) against the previous snapshot's validation figure. A check that cannot be
    made (no previous snapshot, one without this run's figure, or one whose metrics do not
    verify: ``previous_untrusted`` says why) is named in ``skipped``."""
    key = _gate_key(metrics["validation"])
    model = float(metrics["validation"][key])
    popularity = metrics.get("popularity_validation", {}).get(key)
    previous = (previous_metrics or {}).get("validation", {}).get(key)
    reasons, skipped = [], []
    if popularity is None:
        skipped.append(f"popularity check: the run has no popularity validation {key}")
    elif not model > popularity:
        reasons.append(
            f"validation {key} {model:.4f} is not above the popularity baseline's "
            f"{popularity:.4f}"
        )
    if previous_snapshot is None:
        skipped.append("drop check: no snapshot was published before")
    elif previous_untrusted is not None:
        skipped.append(f"drop check: {previous_snapshot} is not trusted ({previous_untrusted})")
    elif previous is None:
        skipped.append(
            f"drop check: {previous_snapshot} has no validation {key} (published with "
            "another top_k), so the figures are not comparable"
        )
    elif model < (1 - max_metric_drop) * previous:
        reasons.append(
            f"validation {key} {model:.4f} dropped more than {max_metric_drop:.0%} below "
            f"{previous:.4f} of {previous_snapshot}"
        )
    return Verdict(
        passed=not reasons,
        metric=f"validation {key}",
        model=model,
        popularity=None if popularity is None else float(popularity),
        previous=None if previous is None else float(previous),
        previous_snapshot=previous_snapshot if previous is not None else None,
        max_metric_drop=max_metric_drop,
        reasons=reasons,
        skipped=skipped,
    )


def judge_against_latest(output: Store, metrics: dict, max_metric_drop: float) -> Verdict:
    """:func:`judge` against the snapshot ``_LATEST`` names (when there is one)."""
    latest = latest_snapshot(output)
    previous, untrusted = None, None
    if latest:
        try:
            previous = read_verified_metrics(latest)
        except (SnapshotError, ValueError) as exc:  # a changed or unreadable _metrics.json
            untrusted = str(exc)
    return judge(metrics, max_metric_drop, previous, latest, untrusted)
