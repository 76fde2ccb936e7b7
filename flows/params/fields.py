"""Every flow parameter, declared once: name, type (the core's own ``Literal`` types),
default, bounds and meaning (:class:`NightlyParams`, :class:`TuneParams`).

The flow keeps its parameters *flat* so a deployment run can override one key at a time
(``--param top_k=50``); its signature must equal this model field for field
(:mod:`flows.params.signature`). The core's frozen configs are built from it by field name
(:mod:`flows.params.to_core`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import typing
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flows.params.text import unknown_parameters_message
from flows.params.to_core import core_config
from recsys_core.config import (
    DEFAULT_EVENT_STRENGTHS,
    BadRowPolicy,
    BlendFamily,
    Bm25Direction,
    ChebyshevForm,
    EvalMode,
    FullSchedule,
    IngestConfig,
    InputFormat,
    ModelFamily,
    PipelineConfig,
    PublishConfig,
    SplitStrategy,
)
from recsys_core.io.storage import is_uri
from recsys_core.io.window import as_of_window
from recsys_core.metrics import METRIC_NAMES, metric_key
from recsys_core.models.registry import unset_knob_values
from recsys_core.tuning.trials import SearchMethod, searched_family

SAMPLE_INPUT = "data/gowalla_sample.txt"
# Where the nightly's model knobs come from: their defaults (explicit values always win),
# or the last tuning run's best_params.json (explicit values still win).
ParamsFrom = Literal["defaults", "best"]
AsOf = Literal["run_date", "none"]
TaskRunnerKind = Literal["local", "dask"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_names(cls, values: Any) -> Any:
        if isinstance(values, Mapping):
            unknown = [name for name in values if name not in cls.model_fields]
            if unknown:
                raise ValueError(unknown_parameters_message(unknown, list(cls.model_fields)))
        return values


class DataParams(_Strict):
    """Where the log is and how it is read, split and evaluated (nightly and tuning)."""

    input_path: str = Field(
        SAMPLE_INPUT,
        description=(
            "the raw log: a file, a folder of files or a glob read as one log, or a URI "
            "(`s3://bucket/key`); `{run_date}` is replaced by the run's date"
        ),
    )
    input_format: InputFormat = Field(
        "auto",
        description=(
            "`adjacency` | `events` | `parquet` | `auto` (`.csv`/`.tsv` → events; `.parquet` with"
            " the event column → events, else interactions; anything else → adjacency)"
        ),
    )
    output_dir: str = Field(
        "out",
        description="where `dt=…/` snapshots and `_LATEST` go: a path, or a URI (`s3://bucket/prefix`)",
    )
    run_date: dt.date | None = Field(
        None,
        description=(
            "date of the snapshot, `YYYY-MM-DD`; default: the flow run's scheduled time as a date"
            " in `timezone`"
        ),
    )
    top_k: int = Field(20, ge=1, le=1000, description="list length, also the metrics' k")
    min_user_items: int = Field(
        5, ge=1, description="users with fewer distinct items are not evaluated"
    )
    random_state: int = Field(42, description="ALS start and the random splits' draw")
    eval_mode: EvalMode = Field(
        "standard",
        description=(
            "`standard` or `seed` (see Evaluation: the evaluation protocol and the candidate "
            "pool)"
        ),
    )
    split_strategy: SplitStrategy = Field(
        "ordered",
        description=(
            "`ordered` (70/10/20 per user in interaction order), `leave_k_out` (`leave_k` "
            "random items to test and `leave_k` more to validation), `time_cutoff`"
            " (`validation_cutoff`, `test_cutoff`, ISO times), `random_ratio` (a seeded random "
            "70/10/20 of each user's distinct items, as public benchmark splits are made)"
        ),
    )
    leave_k: int = Field(
        1,
        ge=1,
        description="items per user held out for test, and as many for validation (`leave_k_out`)",
    )
    validation_cutoff: str | None = Field(
        None, description="ISO time: interactions from here on are validation (`time_cutoff`)"
    )
    test_cutoff: str | None = Field(
        None, description="ISO time: interactions from here on are test (`time_cutoff`)"
    )
    user_col: str = Field("UserID", description="event-log user column")
    item_col: str = Field("ProductCode", description="event-log item column")
    event_col: str = Field("Event", description="event-log event-type column")
    timestamp_col: str = Field(
        "Timestamp", description="event-log time column, optional in the file"
    )
    event_strengths: Mapping[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_EVENT_STRENGTHS),
        description="event type → interaction weight",
    )
    bad_rows: BadRowPolicy = Field(
        "fail",
        description=(
            "`fail`: the first bad row fails the run; `quarantine`: bad rows (line, column, "
            "reason, raw) go to `quarantine.parquet` in the ingest folder and the run fails "
            "only above `max_bad_fraction`, leaving them in "
            "`<work_dir>/ingest/rejected-<input sha>.parquet` (the error names the file)"
        ),
    )
    max_bad_fraction: float = Field(
        0.01, ge=0, le=1, description="share of bad lines/rows `quarantine` tolerates"
    )
    work_dir: str | None = Field(
        None,
        description=(
            "step outputs, a local folder (content-addressed; default `<output_dir>/_work`, or "
            "`~/.cache/recsys-nightly/work/<scheme>/<path>` for an object-store output). After "
            "each publish, step folders that no kept snapshot was built from and that have been "
            "idle for 24 h are removed"
        ),
    )
    timezone: str = Field("UTC", description="IANA timezone of the scheduled date")

    @field_validator("run_date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}")
        return value

    @field_validator("event_strengths")
    @classmethod
    def _positive_strengths(cls, value: Mapping[str, float]) -> Mapping[str, float]:
        bad = {event: w for event, w in value.items() if not (math.isfinite(w) and w > 0)}
        if bad or not value:
            raise ValueError(
                f"expected a finite weight > 0 for every event type, got {bad or 'no events'}"
            )
        return value

    @field_validator("work_dir")
    @classmethod
    def _local_work_dir(cls, value: str | None) -> str | None:
        if value and is_uri(value):
            raise ValueError(
                f"work_dir must be a local folder, got {value!r}: step folders are made "
                "whole by rename, which object stores lack (leave it unset for the default)"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (expected an IANA name)") from exc
        return value

    @model_validator(mode="after")
    def _cutoffs_for_time_split(self) -> DataParams:
        if self.split_strategy == "time_cutoff" and not (
            self.validation_cutoff and self.test_cutoff
        ):
            raise ValueError("split_strategy 'time_cutoff' needs validation_cutoff and test_cutoff")
        return self

    @model_validator(mode="after")
    def _output_apart_from_input(self) -> DataParams:
        # Snapshots, _work and retention must never mix with (or sweep up) the input files.
        if is_uri(self.input_path) or is_uri(self.output_dir):
            return self
        source, output = Path(self.input_path).resolve(), Path(self.output_dir).resolve()
        # A folder or glob input reads what is under its folder: the output stays out of it.
        folder_input = source.is_dir() or any(char in self.input_path for char in "*?[")
        base = source if source.is_dir() else source.parent
        if (
            output in (source, base)
            or output in source.parents
            or (folder_input and base in output.parents)
        ):
            raise ValueError(
                f"output_dir {self.output_dir!r} must not be input_path's folder, contain "
                f"input_path ({self.input_path!r}) or lie inside a folder input: use a "
                "folder of its own, e.g. 'recs'"
            )
        return self

    def pipeline_config(self, run_date: dt.date | None = None) -> PipelineConfig:
        """The core configs that decide a snapshot's content, each built by field name; with
        ``run_date``, ingest reads only the as-of window of that date (``as_of``)."""
        hints = typing.get_type_hints(PipelineConfig)
        extra = {IngestConfig: {"time_window": self.time_window(run_date)}}
        unset = self.unset_knob_values()
        nested = {
            item.name: core_config(
                hints[item.name], self, **unset, **extra.get(hints[item.name], {})
            )
            for item in dataclasses.fields(PipelineConfig)
            if dataclasses.is_dataclass(hints[item.name])
        }
        return core_config(PipelineConfig, self, **nested)

    def unset_knob_values(self) -> dict[str, Any]:
        """The knobs left unset (None) with the values this run gives them (none here: the
        model knobs' class says)."""
        return {}

    def blocks_requested(self) -> int:
        """``user_blocks`` for ``nightly_plan``: an explicit count, else one block in process
        and 0 (one per 50,000 users) on Dask."""
        return self.user_blocks or (1 if self.task_runner == "local" else 0)

    def time_window(self, run_date: dt.date | None) -> tuple[str | None, str] | None:
        """The as-of window for ``run_date``: None, every event (tuning reads them all)."""
        return None

    def input_for(self, run_date: dt.date) -> str:
        """``input_path`` with ``{run_date}`` replaced by the date (YYYY-MM-DD)."""
        return self.input_path.replace("{run_date}", run_date.isoformat())


class ModelParams(_Strict):
    """The models' knobs (what tuning searches and ``params_from: best`` applies): ALS's
    with seed 000's values as defaults, then the graph filter's."""

    factors: int = Field(256, ge=1, le=4096, description="implicit ALS factors (latent dimensions)")
    regularization: float = Field(0.02, ge=0, description="implicit ALS regularization (L2 weight)")
    iterations: int | None = Field(
        None,
        ge=1,
        le=1000,
        description=(
            "ALS sweeps of the evaluation model (and of a `cold` serving model); unset: 40 "
            "(seed 000's)"
        ),
    )
    alpha: float | None = Field(
        None,
        gt=0,
        description=(
            "confidence = `alpha` × BM25 weight (implicit's own alpha stays 1); unset: 30 "
            "(seed 000's)"
        ),
    )
    bm25_k1: float = Field(100.0, ge=0, description="BM25 K1")
    bm25_b: float = Field(0.8, ge=0, le=1, description="BM25 B")
    bm25_direction: Bm25Direction = Field(
        "user_items",
        description=(
            "rows BM25 treats as documents: `user_items` (a user's items weighed against each "
            "other) or `item_users` (an item's users)"
        ),
    )
    popularity_weight: float = Field(
        0.15, ge=0, description="score = `user·item + popularity_weight · log1p(train popularity)`"
    )
    gf_rank: int = Field(
        256, ge=1, le=4096, description="rank of the graph filter's ideal low-pass (its SVD)"
    )
    gf_ideal_weight: float = Field(
        0.3, ge=0, description="weight of the ideal low-pass beside the linear filter"
    )
    gf_popularity_weight: float = Field(
        0.0,
        ge=0,
        description=(
            "the graph filter's popularity blend (its scores are on another scale than ALS's,"
            " so `popularity_weight` does not apply to it)"
        ),
    )
    gf_sharpen_steps: int = Field(
        0,
        ge=0,
        le=8,
        description=(
            "BSPM-style sharpening of the graph filter's scores: this many Taylor terms of "
            "exp(−`gf_sharpen_t`·P) (0: off; each term costs about two GF-CF scorings; with "
            "`ensemble_choose`, each run also tries the filter without it)"
        ),
    )
    gf_sharpen_t: float = Field(0.5, gt=0, description="the sharpening time T")
    cheby_order: int = Field(
        8, ge=1, le=32, description="`chebyshev_filter`: the Chebyshev order K (sparse passes)"
    )
    cheby_flatness: float = Field(
        1.5, gt=0, description="`chebyshev_filter`: flatness φ of the plateau low-pass response"
    )
    cheby_ideal_rank: int = Field(
        512, ge=1, le=4096, description="`chebyshev_filter`: rank η of its ideal low-pass (SVD)"
    )
    cheby_ideal_weight: float = Field(
        0.2, ge=0, description="`chebyshev_filter`: weight α of the ideal low-pass (0: no SVD)"
    )
    cheby_degree_power: float = Field(
        0.4,
        ge=0,
        description="`chebyshev_filter`: β, signals scaled by degree^-β before, degree^β after",
    )
    cheby_popularity_weight: float = Field(
        0.0, ge=0, description="`chebyshev_filter`: popularity blend on the filter's own scale"
    )
    cheby_form: ChebyshevForm = Field(
        "spectral",
        description=(
            "`chebyshev_filter`: `spectral` (the polynomial exact on the top `cheby_ideal_rank` "
            "singular vectors, its tangent at 0 below them; fast) or `recurrence` (the "
            "authors' K sparse passes over every item; about 10x slower)"
        ),
    )

    def unset_knob_values(self) -> dict[str, Any]:
        """The knobs left unset (None) with the values this run gives them."""
        defaults = unset_knob_values()
        return {name: value for name, value in defaults.items() if getattr(self, name) is None}


MODEL_KNOBS = tuple(ModelParams.model_fields)


class NightlyParams(ModelParams, DataParams):
    """Every knob of the nightly run."""

    model: ModelFamily = Field(
        "ensemble",
        description=(
            "`ensemble` (per-user z-score blend of the `ensemble_members` families, weights "
            "chosen each run on validation, see Models), `als` (BM25 + ALS + a popularity term), "
            "`graph_filter` (GF-CF: linear filter + `gf_ideal_weight` × rank-`gf_rank` ideal "
            "low-pass, plus the popularity term; training-free), `chebyshev_filter` (ChebyCF: "
            "a Chebyshev graph filter, training-free) or `popularity` (the most popular unseen "
            "items, the evaluation's baseline). `eval_mode: seed` is ALS-only"
        ),
    )
    ensemble_choose: bool = Field(
        True,
        description=(
            "`ensemble`: choose the members' weights and the popularity weight each run on a "
            "sample of the validation users (a single family wins when no blend beats it); "
            "`false` uses `ensemble_als_weight` and `ensemble_popularity_weight`"
        ),
    )
    ensemble_members: tuple[BlendFamily, ...] = Field(
        ("als", "graph_filter", "chebyshev_filter"),
        min_length=1,
        description=(
            "`ensemble` with `ensemble_choose`: the families the blend is chosen from (each "
            "is fitted for evaluation unless `night_budget_s` leaves it out; a single one "
            "makes the ensemble that family plus the chosen popularity term)"
        ),
    )
    ensemble_als_weight: float = Field(
        0.7, ge=0, le=1, description="ALS's weight in a fixed blend (the graph filter: the rest)"
    )
    ensemble_popularity_weight: float = Field(
        0.0,
        ge=0,
        description="a fixed blend's popularity weight, in z-score units per log1p(popularity)",
    )
    ensemble_sample_users: int = Field(
        5000, ge=100, description="validation users the blend is chosen on"
    )
    evaluate_users: int = Field(
        50_000,
        ge=0,
        description=(
            "evaluate every evaluated user up to this many, a seeded sample of this many "
            "beyond (0: always every one; `eval_mode: seed` always evaluates every user); "
            "_metrics.json's `uncertainty` gives each figure's user count and 95 % confidence "
            "half-width"
        ),
    )
    night_budget_s: float = Field(
        120.0,
        gt=0,
        description=(
            "`ensemble`: a candidate family whose evaluate + score time, predicted before any "
            "fit by timing a stand-in of it on 256 users, exceeds this many seconds is neither "
            "fitted nor chosen (the reason is logged and kept in the manifest); the cheapest "
            "family always stays"
        ),
    )
    similar_items_k: int = Field(
        20,
        ge=0,
        le=1000,
        description=(
            "similar items per item, published as their own dated dataset (`_similar_items/` "
            "under `output_dir`, named in the manifest's `similar_items`); 0: none"
        ),
    )
    explain: bool = Field(
        False,
        description=(
            "add `because_item_id` to each user row: the user's seen item that contributes "
            "most to that recommendation under the serving model (exact for the graph "
            "filters; ALS: the seen item whose factors agree most; the ensemble: the members' "
            "contributions blended like their scores)"
        ),
    )
    exclude_items_path: str | None = Field(
        None,
        description=(
            "items never to recommend (in no user list, similar-items list or fallback): a "
            "file or URI, text with one id per line, or CSV / Parquet with an `item_id` "
            "column; `{run_date}` is replaced by the run's date. Changing it refits nothing"
        ),
    )
    full_schedule: FullSchedule = Field(
        "warm",
        description=(
            "serving model: `warm` starts from the evaluation model's item factors and runs "
            "`warm_iterations` sweeps on all data; `cold` runs `iterations` sweeps from a random "
            "start"
        ),
    )
    warm_iterations: int = Field(
        15,
        ge=1,
        le=1000,
        description=(
            "sweeps of a `warm` serving fit (15: within 1 % of `cold`'s validation recall on "
            "Gowalla and a dense log, see Serving schedule)"
        ),
    )
    overwrite: bool = Field(
        True,
        description=(
            "republish a date whose input/parameters/code changed; identical reruns are a no-op "
            "either way"
        ),
    )
    keep_last: int = Field(
        14,
        ge=1,
        description="snapshots kept after each publish (the one `_LATEST` names is never removed)",
    )
    max_metric_drop: float = Field(
        0.2,
        ge=0,
        le=1,
        description=(
            "quality gate: refuse to publish when validation NDCG@k falls more than this "
            "fraction below the `_LATEST` snapshot's (or is not above popularity); the "
            "candidate is kept in `_rejected/`"
        ),
    )
    force_publish: bool = Field(
        False, description="publish even when the quality gate refuses (the manifest says so)"
    )
    as_of: AsOf = Field(
        "run_date",
        description=(
            "`run_date`: a timestamped log is read only up to the end of the run date in "
            "`timezone`, so a backfilled date sees what that night saw; `none`: every event"
        ),
    )
    lookback_days: int | None = Field(
        None, ge=1, description="with `as_of: run_date`, read only this many days up to it"
    )
    lock_timeout_s: float = Field(
        6 * 3600,
        ge=0,
        description=(
            "seconds a run waits for another run on the same `output_dir` (the output lock) "
            "before failing"
        ),
    )
    task_runner: TaskRunnerKind = Field(
        "local",
        description=(
            "where evaluate and score rank their user blocks: `local` in this process; "
            "`dask` on a Dask cluster (prefect-dask): `dask_address`, else Dask's "
            "`scheduler-address` config (`DASK_SCHEDULER_ADDRESS`), else a local cluster of "
            "one single-threaded worker process per core (see Scale-out)"
        ),
    )
    dask_address: str | None = Field(
        None, description="scheduler of an existing Dask cluster (`tcp://host:8786`)"
    )
    user_blocks: int = Field(
        0,
        ge=0,
        description=(
            "user blocks evaluate and score are split into (each a task writing its own part"
            "); 0: one in process, one per 50,000 users (at least 2) on Dask"
        ),
    )
    params_from: ParamsFrom = Field(
        "defaults",
        description=(
            "`best`: take the model knobs from `<output_dir>/_tuning/best_params.json` (see "
            "Tuning) where no explicit value was given (a value different from its default counts"
            " as explicit); the manifest's `param_sources` says where each knob came from"
        ),
    )

    @field_validator("ensemble_members")
    @classmethod
    def _distinct_members(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"expected each family once, got {list(value)}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _seed_mode_defaults_to_als(cls, values: Any) -> Any:
        # Seed 000 is an ALS model: under eval_mode 'seed' the default model is ALS (a
        # model given explicitly is kept, and refused below unless it is 'als').
        default = cls.model_fields["model"].default
        if isinstance(values, Mapping) and values.get("eval_mode") == "seed":
            if values.get("model", default) == default:
                return {**values, "model": "als"}
        return values

    @model_validator(mode="after")
    def _seed_mode_is_als(self) -> NightlyParams:
        if self.eval_mode == "seed" and self.model != "als":
            raise ValueError("eval_mode 'seed' reproduces seed 000, an ALS model: use model 'als'")
        return self

    def time_window(self, run_date: dt.date | None) -> tuple[str | None, str] | None:
        """The as-of window for ``run_date`` (``as_of``, ``lookback_days``, ``timezone``)."""
        if run_date is None or self.as_of == "none":
            return None
        return as_of_window(run_date, self.timezone, self.lookback_days)

    def exclusions_for(self, run_date: dt.date) -> str | None:
        """``exclude_items_path`` with ``{run_date}`` replaced by the date (YYYY-MM-DD)."""
        if self.exclude_items_path is None:
            return None
        return self.exclude_items_path.replace("{run_date}", run_date.isoformat())

    def publish_config(
        self, output_dir: str, run_date: dt.date, started_at: dt.datetime | None = None
    ) -> PublishConfig:
        """Where the snapshot goes, with the resolved folder and date, and when the run began."""
        return core_config(
            PublishConfig, self, output_dir=output_dir, run_date=run_date, started_at=started_at
        )


class TuneParams(ModelParams, DataParams):
    """Every knob of a tuning run: the data, the base model and the search."""

    # split_strategy: the nightly's own (the knobs are tuned on the split they serve on);
    # `random_ratio` is how public benchmark splits are made, when asked for.
    search_space: Mapping[str, list[Any]] = Field(default_factory=lambda: dict(DEFAULT_SPACE))
    search: SearchMethod = "grid"
    n_trials: int | None = Field(None, ge=1)
    search_seed: int = 0
    metric: str = "ndcg@20"

    @model_validator(mode="after")
    def _metric_and_space(self) -> TuneParams:
        allowed = [metric_key(name, self.top_k) for name in METRIC_NAMES]
        if self.metric not in allowed:
            raise ValueError(f"metric {self.metric!r}: expected one of {', '.join(allowed)}")
        unknown = sorted(set(self.search_space) - set(MODEL_KNOBS))
        if unknown:
            raise ValueError(
                f"search_space keys {unknown} are not model knobs "
                f"(expected some of {', '.join(MODEL_KNOBS)})"
            )
        searched_family(self.search_space)  # one family per search
        return self

    def trial_params(self, trial: Mapping[str, Any]) -> TuneParams:
        """This run's parameters with one trial's values, validated (bounds included)."""
        return type(self)(**{**self.model_dump(), **trial})


# Tuning's default grid (48 trials, 6 ALS runs): fewer sweeps and lower confidence than
# seed 000, which the measurements and the README's tuning results point at.
DEFAULT_SPACE: Mapping[str, list[Any]] = {
    "factors": [128, 256],
    "alpha": [1.0, 3.0, 10.0],
    "iterations": [4, 6, 10, 15],
    "popularity_weight": [0.05, 0.15],
}


DEFAULTS = NightlyParams()
