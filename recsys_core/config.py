"""Frozen configuration objects the core takes, and the value types they share.

Field names equal the nightly flow's parameter names (``flows/params.py`` builds each
config by name, and a test holds names, types and defaults equal). Fields that are not
parameters are internal constants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

InputFormat = Literal["adjacency", "events", "parquet", "auto"]
BadRowPolicy = Literal["fail", "quarantine"]
SplitStrategy = Literal["ordered", "leave_k_out", "time_cutoff", "random_ratio"]
Bm25Direction = Literal["user_items", "item_users"]
# How the Chebyshev filter applies its polynomial (recsys_core/models/chebyshev_filter.py).
ChebyshevForm = Literal["spectral", "recurrence"]
FullSchedule = Literal["cold", "warm"]
# Model families: the ``model`` parameter's type, equal to the registry's names
# (recsys_core/models/registry.py; a test holds the two equal).
ModelFamily = Literal["als", "graph_filter", "ensemble", "popularity", "chebyshev_filter"]
# The families a chosen blend may use (``ensemble_members``), in the registry's order.
BlendFamily = Literal["als", "graph_filter", "chebyshev_filter"]
# The confidence matrix a model is fitted on: the evaluation model's or all data.
TrainMatrix = Literal["eval", "full"]

# ``eval_mode`` (a parameter) sets two separate things, modelled separately here:
EvalMode = Literal["standard", "seed"]
# how the evaluation model is trained and scored (see recsys_core.evaluation.protocol) ...
EvalProtocol = Literal["standard", "seed"]
# ... and which items a list may be drawn from (see recsys_core.ranking.topk).
CandidatePool = Literal["all_items", "seed_pool"]
EVAL_MODES: Mapping[EvalMode, tuple[EvalProtocol, CandidatePool]] = MappingProxyType(
    {"standard": ("standard", "all_items"), "seed": ("seed", "seed_pool")}
)

# Seed 001's event strengths.
DEFAULT_EVENT_STRENGTHS: Mapping[str, float] = MappingProxyType(
    {"view": 1.0, "query_search": 2.0, "click": 3.0, "compare": 4.0}
)


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """How to read the raw log. Column names default to seed 001's event log."""

    input_format: InputFormat = "auto"
    user_col: str = "UserID"
    item_col: str = "ProductCode"
    event_col: str = "Event"
    timestamp_col: str = "Timestamp"
    # A plain dict (not the read-only default itself) so configs pickle for remote runners.
    event_strengths: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_EVENT_STRENGTHS)
    )
    bad_rows: BadRowPolicy = "fail"
    max_bad_fraction: float = 0.01
    # (start or None, end) as UTC ISO times: timestamped events outside are left out
    # (recsys_core/io/window.py); None reads every event.
    time_window: tuple[str | None, str] | None = None


@dataclass(frozen=True, slots=True)
class SplitConfig:
    """Per-user split; ``ordered`` is seed 000's cut at int(0.7n) and int(0.8n) in
    interaction order, ``random_ratio`` the same cut in a seeded random order."""

    split_strategy: SplitStrategy = "ordered"
    min_user_items: int = 5
    leave_k: int = 1
    random_state: int = 42
    validation_cutoff: str | None = None
    test_cutoff: str | None = None
    train_cut: float = 0.7
    validation_cut: float = 0.8


@dataclass(frozen=True, slots=True)
class WeightConfig:
    """BM25 then confidence scaling. ``user_items`` is seed 000's direction."""

    bm25_k1: float = 100.0
    bm25_b: float = 0.8
    bm25_direction: Bm25Direction = "user_items"
    alpha: float = 30.0


@dataclass(frozen=True, slots=True)
class ALSConfig:
    """implicit ALS hyper-parameters (seed 000's defaults)."""

    factors: int = 256
    regularization: float = 0.02
    iterations: int = 40
    random_state: int = 42
    num_threads: int = 0


@dataclass(frozen=True, slots=True)
class GraphFilterConfig:
    """GF-CF: the ideal low-pass filter's rank and its weight beside the linear filter, the
    popularity blend on GF-CF's score scale (ALS's ``popularity_weight`` would swamp it), and
    the optional BSPM-style sharpening (Taylor terms of exp(−t·P), 0: off)."""

    gf_rank: int = 256
    gf_ideal_weight: float = 0.3
    gf_popularity_weight: float = 0.0
    gf_sharpen_steps: int = 0
    gf_sharpen_t: float = 0.5
    random_state: int = 42


@dataclass(frozen=True, slots=True)
class ChebyshevFilterConfig:
    """ChebyCF (recsys_core/models/chebyshev_filter.py): the Chebyshev order K and the
    plateau's flatness φ, the ideal low-pass's rank η and weight α, the degree scaling's
    power β (the authors' Gowalla settings), the popularity blend on its own scale, and the
    form: ``spectral`` (the polynomial exact on the top-η singular vectors, its tangent at 0
    below them: one sparse pair per signal) or ``recurrence`` (the authors' K sparse pairs
    on a dense block)."""

    cheby_order: int = 8
    cheby_flatness: float = 1.5
    cheby_ideal_rank: int = 512
    cheby_ideal_weight: float = 0.2
    cheby_degree_power: float = 0.4
    cheby_popularity_weight: float = 0.0
    cheby_form: ChebyshevForm = "spectral"
    random_state: int = 42


@dataclass(frozen=True, slots=True)
class EnsembleConfig:
    """The per-user z-score blend of fitted models (recsys_core/models/ensemble.py): its
    weights over ``ensemble_members`` and its popularity term are chosen each run on a sample
    of the validation users (``ensemble_choose``), or fixed to the values here (ALS and the
    graph filter)."""

    ensemble_choose: bool = True
    ensemble_members: tuple[BlendFamily, ...] = ("als", "graph_filter", "chebyshev_filter")
    ensemble_als_weight: float = 0.7
    ensemble_popularity_weight: float = 0.0
    ensemble_sample_users: int = 5000
    # Seconds of evaluate + score a family may be predicted to cost before the choice
    # leaves it out (recsys_core/models/scoring_cost.py). Fits, the blend's grid and similar
    # items are not in the prediction: on Gowalla (2 cores) every family now fits 120 s, and
    # the night with all three is measured by `make bench` (docs/results.md).
    night_budget_s: float = 120.0
    random_state: int = 42


@dataclass(frozen=True, slots=True)
class ServingConfig:
    """How the serving model (all data) is fitted: ``warm`` continues the evaluation
    model's item factors for ``warm_iterations`` sweeps; ``cold`` is seed 000's full fit."""

    full_schedule: FullSchedule = "warm"
    # 15: on a dense log 5 warm sweeps cost 4.9 % validation recall against cold, 10 cost
    # 0.7 %, 15 none (benchmarks/serving_schedule.py; Gowalla: none at 5).
    warm_iterations: int = 15


@dataclass(frozen=True, slots=True)
class RankConfig:
    """How scores become top-k lists: ``user·item + popularity_weight·log1p(popularity)``."""

    top_k: int = 20
    popularity_weight: float = 0.15
    candidate_pool: CandidatePool = "all_items"
    block_size: int = 1024
    # Seed 000 re-ranks ALS's top ``k + |seen| + seed_pool_extra`` items only.
    seed_pool_extra: int = 100


@dataclass(frozen=True, slots=True)
class EvaluationConfig:
    """How many users the evaluation scores: every evaluated user up to ``evaluate_users``,
    a seeded sample of that many beyond (0: always every one; ``eval_mode: seed`` always
    evaluates every user, as the notebook does)."""

    evaluate_users: int = 50_000


@dataclass(frozen=True, slots=True)
class OutputsConfig:
    """What a snapshot holds beside the user lists (the fallback list always):
    ``similar_items_k`` similar items per item (0: none); ``explain``: each user row's
    ``because_item_id``."""

    similar_items_k: int = 20
    explain: bool = False


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Everything that decides a snapshot's content (besides the input and the code)."""

    ingest: IngestConfig = field(default_factory=IngestConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    weight: WeightConfig = field(default_factory=WeightConfig)
    als: ALSConfig = field(default_factory=ALSConfig)
    graph_filter: GraphFilterConfig = field(default_factory=GraphFilterConfig)
    chebyshev_filter: ChebyshevFilterConfig = field(default_factory=ChebyshevFilterConfig)
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    serving: ServingConfig = field(default_factory=ServingConfig)
    rank: RankConfig = field(default_factory=RankConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    outputs: OutputsConfig = field(default_factory=OutputsConfig)
    eval_protocol: EvalProtocol = "standard"
    model: ModelFamily = "ensemble"


@dataclass(frozen=True, slots=True)
class PublishConfig:
    """Where and how a snapshot is published (not part of its content)."""

    output_dir: str
    run_date: dt.date
    overwrite: bool = True
    keep_last: int = 14
    # The quality gate (recsys_core/publishing/quality_gate.py).
    max_metric_drop: float = 0.2
    force_publish: bool = False
    # When the run started: a date another run published after this is never replaced.
    started_at: dt.datetime | None = None
