"""Frozen configuration objects the core takes. Flows build them from validated parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

InputFormat = Literal["adjacency", "events", "parquet", "auto"]
BadRowPolicy = Literal["fail", "quarantine"]
SplitStrategy = Literal["ordered", "leave_k_out", "time_cutoff"]
Bm25Direction = Literal["user_items", "item_users"]
EvalMode = Literal["standard", "seed"]

# Seed 001's event strengths.
DEFAULT_EVENT_STRENGTHS = MappingProxyType(
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
    event_strengths: MappingProxyType | dict = field(
        default_factory=lambda: DEFAULT_EVENT_STRENGTHS
    )
    bad_rows: BadRowPolicy = "fail"
    max_bad_fraction: float = 0.01


@dataclass(frozen=True, slots=True)
class SplitConfig:
    """Per-user split; ``ordered`` is seed 000's cut at int(0.7n) and int(0.8n)."""

    strategy: SplitStrategy = "ordered"
    train_cut: float = 0.7
    validation_cut: float = 0.8
    min_user_items: int = 5
    leave_k: int = 1
    random_state: int = 42
    validation_cutoff: str | None = None
    test_cutoff: str | None = None


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
class RankConfig:
    """How scores become top-k lists: ``user·item + popularity_weight·log1p(popularity)``."""

    top_k: int = 20
    popularity_weight: float = 0.15
    eval_mode: EvalMode = "standard"
    block_size: int = 1024
    # Seed 000 re-ranks ALS's top ``k + |seen| + seed_pool_extra`` items only.
    seed_pool_extra: int = 100
