"""Nightly flow parameters: the one declaration of every knob, and the views derived from it.

:class:`NightlyParams` is the source: name, type (the core's own ``Literal`` types),
default and bounds. The flow keeps its parameters *flat* so a deployment run can override
one key at a time (``--param top_k=50``); its signature must equal this model field for
field (:func:`signature_drift`, checked when ``flows.nightly`` is imported and by a test).
The core's frozen configs are built from it by field name (:func:`core_config`); a test
holds their names, types and defaults equal to the model's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import typing
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from recsys_core.config import (
    DEFAULT_EVENT_STRENGTHS,
    EVAL_MODES,
    ALSConfig,
    BadRowPolicy,
    Bm25Direction,
    EvalMode,
    FullSchedule,
    IngestConfig,
    InputFormat,
    PipelineConfig,
    PublishConfig,
    RankConfig,
    ServingConfig,
    SplitConfig,
    SplitStrategy,
    WeightConfig,
)

SAMPLE_INPUT = "data/gowalla_sample.txt"


class NightlyParams(BaseModel):
    """Every knob of the nightly run, with seed 000's hyper-parameters as defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_path: str = SAMPLE_INPUT
    input_format: InputFormat = "auto"
    output_dir: str = "out"
    run_date: dt.date | None = None
    factors: int = Field(256, ge=1, le=4096)
    regularization: float = Field(0.02, ge=0)
    iterations: int = Field(40, ge=1, le=1000)
    alpha: float = Field(30.0, gt=0)
    bm25_k1: float = Field(100.0, ge=0)
    bm25_b: float = Field(0.8, ge=0, le=1)
    bm25_direction: Bm25Direction = "user_items"
    popularity_weight: float = Field(0.15, ge=0)
    top_k: int = Field(20, ge=1, le=1000)
    min_user_items: int = Field(5, ge=1)
    random_state: int = 42
    eval_mode: EvalMode = "standard"
    full_schedule: FullSchedule = "warm"
    warm_iterations: int = Field(5, ge=1, le=1000)
    split_strategy: SplitStrategy = "ordered"
    leave_k: int = Field(1, ge=1)
    validation_cutoff: str | None = None
    test_cutoff: str | None = None
    user_col: str = "UserID"
    item_col: str = "ProductCode"
    event_col: str = "Event"
    timestamp_col: str = "Timestamp"
    event_strengths: Mapping[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_EVENT_STRENGTHS)
    )
    bad_rows: BadRowPolicy = "fail"
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

    def pipeline_config(self) -> PipelineConfig:
        """The core configs that decide a snapshot's content."""
        return PipelineConfig(
            ingest=core_config(IngestConfig, self),
            split=core_config(SplitConfig, self),
            weight=core_config(WeightConfig, self),
            als=core_config(ALSConfig, self),
            serving=core_config(ServingConfig, self),
            rank=core_config(RankConfig, self),
            eval_protocol=DERIVED["eval_protocol"](self),
        )

    def publish_config(self, output_dir: str, run_date: dt.date) -> PublishConfig:
        """Where the snapshot goes, with the resolved folder and date."""
        return core_config(PublishConfig, self, output_dir=output_dir, run_date=run_date)


DEFAULTS = NightlyParams()

# Config fields computed from a parameter rather than named after one: ``eval_mode`` sets
# the evaluation protocol and the candidate pool (recsys_core.config.EVAL_MODES).
DERIVED: Mapping[str, Callable[[NightlyParams], Any]] = {
    "eval_protocol": lambda p: EVAL_MODES[p.eval_mode][0],
    "candidate_pool": lambda p: EVAL_MODES[p.eval_mode][1],
}
# Parameters the flow itself consumes (where and when), not a core config.
FLOW_ONLY = frozenset({"input_path", "run_date", "work_dir", "timezone", "eval_mode"})
# Every core config a parameter can reach.
PARAMETER_CONFIGS = (
    IngestConfig,
    SplitConfig,
    WeightConfig,
    ALSConfig,
    ServingConfig,
    RankConfig,
    PublishConfig,
)

C = TypeVar("C")


def core_config(cls: type[C], params: NightlyParams, **resolved: Any) -> C:
    """Build a core config by field name: a parameter of that name, a :data:`DERIVED`
    value, a ``resolved`` value, else the config's own default (an internal constant)."""
    values = {}
    for item in dataclasses.fields(cls):
        if item.name in resolved:
            values[item.name] = resolved[item.name]
        elif item.name in DERIVED:
            values[item.name] = DERIVED[item.name](params)
        elif item.name in NightlyParams.model_fields:
            values[item.name] = getattr(params, item.name)
    return cls(**values)


def signature_drift(fn: Callable) -> list[str]:
    """Differences between ``fn``'s parameters and :class:`NightlyParams` (names in order,
    types, defaults); empty when they agree."""
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn)
    names, fields = list(signature.parameters), NightlyParams.model_fields
    if names != list(fields):
        return [f"parameters {names} != NightlyParams fields {list(fields)}"]
    problems = []
    for name, spec in fields.items():
        default = spec.get_default(call_default_factory=True)
        if hints.get(name) != spec.annotation:
            problems.append(f"{name}: type {hints.get(name)} != {spec.annotation}")
        if signature.parameters[name].default != default:
            problems.append(
                f"{name}: default {signature.parameters[name].default!r} != {default!r}"
            )
    return problems


def ensure_signature_matches(fn: Callable) -> None:
    """Raise ``TypeError`` listing every :func:`signature_drift` difference."""
    problems = signature_drift(fn)
    if problems:
        raise TypeError(f"{fn.__name__} and NightlyParams disagree: " + "; ".join(problems))
