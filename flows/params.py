"""Nightly flow parameters: one validated model, turned into the core's frozen configs.

The flow keeps these as *flat* parameters so a deployment run can override one key at a
time (``--param top_k=50``); the names are a contract other tools rely on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zoneinfo
from dataclasses import replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from recsys_core.config import ALSConfig, IngestConfig, RankConfig, SplitConfig, WeightConfig

SAMPLE_INPUT = "data/gowalla_sample.txt"


class NightlyParams(BaseModel):
    """Every knob of the nightly run, with seed 000's hyper-parameters as defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_path: str = SAMPLE_INPUT
    input_format: Literal["adjacency", "events", "parquet", "auto"] = "auto"
    output_dir: str = "out"
    run_date: dt.date | None = None
    factors: int = Field(256, ge=1, le=4096)
    regularization: float = Field(0.02, ge=0)
    iterations: int = Field(40, ge=1, le=1000)
    alpha: float = Field(30.0, gt=0)
    bm25_k1: float = Field(100.0, ge=0)
    bm25_b: float = Field(0.8, ge=0, le=1)
    bm25_direction: Literal["user_items", "item_users"] = "user_items"
    popularity_weight: float = Field(0.15, ge=0)
    top_k: int = Field(20, ge=1, le=1000)
    min_user_items: int = Field(5, ge=1)
    random_state: int = 42
    eval_mode: Literal["standard", "seed"] = "standard"
    full_schedule: Literal["cold", "warm"] = "warm"
    warm_iterations: int = Field(5, ge=1, le=1000)
    split_strategy: Literal["ordered", "leave_k_out", "time_cutoff"] = "ordered"
    leave_k: int = Field(1, ge=1)
    validation_cutoff: str | None = None
    test_cutoff: str | None = None
    user_col: str = "UserID"
    item_col: str = "ProductCode"
    event_col: str = "Event"
    timestamp_col: str = "Timestamp"
    event_strengths: dict[str, float] | None = None
    bad_rows: Literal["fail", "quarantine"] = "fail"
    max_bad_fraction: float = Field(0.01, ge=0, le=1)
    work_dir: str | None = None
    overwrite: bool = True
    keep_last: int = Field(14, ge=1)
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (expected an IANA name)") from exc
        return value

    @model_validator(mode="after")
    def _cutoffs_for_time_split(self) -> NightlyParams:
        if self.split_strategy == "time_cutoff" and not (
            self.validation_cutoff and self.test_cutoff
        ):
            raise ValueError("split_strategy 'time_cutoff' needs validation_cutoff and test_cutoff")
        return self

    def ingest_config(self) -> IngestConfig:
        extra = {"event_strengths": self.event_strengths} if self.event_strengths else {}
        return IngestConfig(
            input_format=self.input_format,
            user_col=self.user_col,
            item_col=self.item_col,
            event_col=self.event_col,
            timestamp_col=self.timestamp_col,
            bad_rows=self.bad_rows,
            max_bad_fraction=self.max_bad_fraction,
            **extra,
        )

    def split_config(self) -> SplitConfig:
        return SplitConfig(
            strategy=self.split_strategy,
            min_user_items=self.min_user_items,
            leave_k=self.leave_k,
            random_state=self.random_state,
            validation_cutoff=self.validation_cutoff,
            test_cutoff=self.test_cutoff,
        )

    def weight_config(self) -> WeightConfig:
        return WeightConfig(
            bm25_k1=self.bm25_k1,
            bm25_b=self.bm25_b,
            bm25_direction=self.bm25_direction,
            alpha=self.alpha,
        )

    def als_config(self) -> ALSConfig:
        return ALSConfig(
            factors=self.factors,
            regularization=self.regularization,
            iterations=self.iterations,
            random_state=self.random_state,
        )

    def full_als_config(self) -> ALSConfig:
        """The serving model's schedule: seed 000's cold start, or warm from the eval model."""
        if self.full_schedule == "warm":
            return replace(self.als_config(), iterations=self.warm_iterations)
        return self.als_config()

    def rank_config(self) -> RankConfig:
        return RankConfig(
            top_k=self.top_k, popularity_weight=self.popularity_weight, eval_mode=self.eval_mode
        )

    def fingerprint(self, input_sha256: str, code_version: str) -> str:
        """What makes two runs "the same": input content, model parameters and code."""
        where = {
            "input_path",
            "output_dir",
            "run_date",
            "work_dir",
            "overwrite",
            "keep_last",
            "timezone",
        }
        payload = json.dumps(self.model_dump(mode="json", exclude=where), sort_keys=True)
        return hashlib.sha256(f"{input_sha256}|{payload}|{code_version}".encode()).hexdigest()


DEFAULTS = NightlyParams()
