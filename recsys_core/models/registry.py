"""Every model family by name, and the one save/load path of model files.

A family is one module (its model class, fit and file entries) plus one
:class:`Family` entry in :data:`FAMILIES`; the pipeline, the evaluation, the ranking and
the tuning ask this table, never a family module by name. The families' names are also
the ``model`` parameter's type (:data:`recsys_core.config.ModelFamily`); a test holds the
two equal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys_core.config import EnsembleConfig, PipelineConfig, RankConfig
from recsys_core.models import als, chebyshev_filter, ensemble, graph_filter, popularity
from recsys_core.models.base import Arrays, MemberLoader, Model

# fit(user_items, config, model_users, warm_from): rows of user_items are model_users.
Fit = Callable[[sp.csr_matrix, Any, np.ndarray, Any], Model]


def _cold(_configs: PipelineConfig) -> bool:
    return False


def _same(model: Model) -> Model:
    return model


@dataclass(frozen=True, slots=True)
class Family:
    """What the rest of the core may know of a model family.

    - ``fit`` on a users × items matrix (None: the family is built from other families'
      fits, as the ensemble is) and ``load`` from a model file's entries;
    - ``config``/``serving``: the evaluation fit's and the serving fit's settings (the
      serving schedule; a training-free family has none: it serves with ``config``), and
      ``warm_start``: whether the serving fit continues the evaluation model;
    - the ranking rule: ``popularity_weight(config, rank)``, added as ``w·log1p(pop)`` to
      the model's scores; or ``global_scores(model)``, one score per item that every list
      follows (popularity: lists come from that order, nothing is scored per user);
    - ``config_fields``: the :class:`PipelineConfig` fields its lists depend on (the run's
      fingerprint leaves the others' out);
    - ``knobs``: the parameters a tuning search may vary, and ``tuning``: how trials share
      work (``sweeps``: one ``fit_sweeps`` per chain of trials that differ only in
      ``sweeps_knob``, the model saved at every count asked for; ``shared_fit``: one fit
      per :attr:`fit_knobs`, the rest applied by :attr:`with_knobs`);
    - ``ranking_knobs``: the knobs of its own ranking rule (its popularity weight), which
      a blend's own popularity term replaces;
    - ``simplified``: the model without optional costly extras (a graph filter's
      sharpening), which the blend choice also tries;
    - ``stand_in(user_items, config, model_users)``: a model of the fitted one's shapes,
      built without fitting, that scores as fast (the night's budget times it before
      anything is fitted; a blend member must have one);
    - ``unset_knobs``: the value each of its knobs takes when a run leaves it unset (None);
    - ``summary``: its row in the README's family table.
    """

    name: str
    summary: str
    load: Callable[[Arrays, MemberLoader], Model]
    popularity_weight: Callable[[Any, RankConfig], float]
    config: Callable[[PipelineConfig], Any]
    fit: Fit | None = None
    serving: Callable[[PipelineConfig], Any] | None = None
    warm_start: Callable[[PipelineConfig], bool] = _cold
    global_scores: Callable[[Model], np.ndarray] | None = None
    config_fields: tuple[str, ...] = ()
    knobs: tuple[str, ...] = ()
    tuning: str | None = None
    fit_sweeps: Callable[..., Model] | None = None
    sweeps_knob: str | None = None
    fit_knobs: Callable[[Any], Any] | None = None
    with_knobs: Callable[[Model, Any], Model] | None = None
    ranking_knobs: tuple[str, ...] = ()
    simplified: Callable[[Model], Model] = _same
    stand_in: Callable[[sp.csr_matrix, Any, np.ndarray], Model] | None = None
    unset_knobs: Mapping[str, Any] = field(default_factory=dict)

    def serving_config(self, configs: PipelineConfig) -> Any:
        """The serving fit's settings (the evaluation fit's when the family has no
        schedule of its own)."""
        return (self.serving or self.config)(configs)


# Knobs a tuning search may vary, by the config that takes them.
WEIGHT_KNOBS = ("bm25_k1", "bm25_b", "bm25_direction", "alpha")
RANK_KNOBS = ("popularity_weight",)

FAMILIES: Mapping[str, Family] = {
    family.name: family
    for family in (
        Family(
            name=als.ALSModel.family,
            summary="implicit's ALS on BM25 + confidence weights; one GEMM per block",
            load=als.from_arrays,
            fit=als.fit,
            config=lambda configs: configs.als,
            serving=als.serving_config,
            warm_start=als.warm_start,
            popularity_weight=als.popularity_weight,
            config_fields=("als", "serving"),
            knobs=WEIGHT_KNOBS + ("factors", "regularization", "iterations") + RANK_KNOBS,
            tuning="sweeps",
            fit_sweeps=als.fit_sweeps,
            sweeps_knob="iterations",
            ranking_knobs=RANK_KNOBS,
            stand_in=als.stand_in,
            unset_knobs=als.UNSET_KNOBS,
        ),
        Family(
            name=graph_filter.GraphFilter.family,
            summary="GF-CF graph filter (linear + ideal low-pass), training-free: one SVD",
            load=graph_filter.from_arrays,
            fit=graph_filter.fit,
            config=lambda configs: configs.graph_filter,
            popularity_weight=graph_filter.popularity_weight,
            config_fields=("graph_filter",),
            knobs=(
                "gf_rank",
                "gf_ideal_weight",
                "gf_popularity_weight",
                "gf_sharpen_steps",
                "gf_sharpen_t",
            ),
            tuning="shared_fit",
            fit_knobs=graph_filter.fit_knobs,
            with_knobs=graph_filter.with_knobs,
            simplified=graph_filter.without_sharpening,
            ranking_knobs=("gf_popularity_weight",),
            stand_in=graph_filter.stand_in,
        ),
        Family(
            name=ensemble.Ensemble.family,
            summary="per-user z-score blend of ALS and the graph filters, chosen nightly "
            "within the night's budget",
            load=ensemble.from_arrays,
            config=lambda configs: configs.ensemble,
            popularity_weight=ensemble.popularity_weight,
            config_fields=("als", "serving", "graph_filter", "ensemble"),
        ),
        Family(
            name=chebyshev_filter.ChebyshevFilter.family,
            summary="ChebyCF: Chebyshev interpolation of a plateau low-pass graph filter, "
            "plus an ideal low-pass, degree-scaled; training-free",
            load=chebyshev_filter.from_arrays,
            fit=chebyshev_filter.fit,
            config=lambda configs: configs.chebyshev_filter,
            popularity_weight=chebyshev_filter.popularity_weight,
            config_fields=("chebyshev_filter",),
            knobs=(
                "cheby_order",
                "cheby_flatness",
                "cheby_ideal_rank",
                "cheby_ideal_weight",
                "cheby_degree_power",
                "cheby_popularity_weight",
                "cheby_form",
            ),
            tuning="shared_fit",
            fit_knobs=chebyshev_filter.fit_knobs,
            with_knobs=chebyshev_filter.with_knobs,
            ranking_knobs=("cheby_popularity_weight",),
            stand_in=chebyshev_filter.stand_in,
        ),
        Family(
            name=popularity.Popularity.family,
            summary="most popular unseen items; the evaluation's baseline",
            load=popularity.from_arrays,
            fit=popularity.fit,
            config=lambda configs: None,  # no settings
            popularity_weight=popularity.popularity_weight,
            global_scores=popularity.item_scores,
        ),
    )
}
# The families a chosen blend chooses from, in order.
BLEND_MEMBERS = (
    als.ALSModel.family,
    graph_filter.GraphFilter.family,
    chebyshev_filter.ChebyshevFilter.family,
)
# A fixed blend's (``ensemble_choose: false``): ``ensemble_als_weight`` is the first's, the
# second gets the rest, as before the Chebyshev filter joined the choice.
FIXED_BLEND_MEMBERS = BLEND_MEMBERS[:2]
# The family of model files and manifests from before families were recorded.
LEGACY_FAMILY = als.ALSModel.family
# The family the evaluation's baseline (and a snapshot's fallback list) comes from.
BASELINE = popularity.Popularity.family
# PipelineConfig fields that belong to some family (the fingerprint's concern).
FAMILY_CONFIG_FIELDS = frozenset(f for family in FAMILIES.values() for f in family.config_fields)


def blend_members(config: EnsembleConfig) -> tuple[str, ...]:
    """The families an ensemble fits for evaluation: a chosen blend's candidates
    (``ensemble_members``, in :data:`BLEND_MEMBERS` order), or a fixed blend's two."""
    if not config.ensemble_choose:
        return FIXED_BLEND_MEMBERS
    return tuple(name for name in BLEND_MEMBERS if name in config.ensemble_members)


def knobs_in_effect(name: str, ensemble: EnsembleConfig | None = None) -> frozenset[str]:
    """The knobs that change family ``name``'s lists: its own, or for the ensemble each
    of its members' (:func:`blend_members` of ``ensemble``, default every candidate) except
    their ranking rule's (the blend's popularity term replaces those)."""
    entry = family(name)
    if entry.fit is not None:
        return frozenset(entry.knobs)
    return frozenset(
        knob
        for member in blend_members(ensemble or EnsembleConfig())
        for knob in family(member).knobs
        if knob not in family(member).ranking_knobs
    )


def unset_knob_values() -> dict[str, Any]:
    """The value each knob takes when a run leaves it unset (None), from every family's
    ``unset_knobs`` (ALS's are seed 000's, in every role)."""
    return {name: value for entry in FAMILIES.values() for name, value in entry.unset_knobs.items()}


def family(name: str) -> Family:
    """The family called ``name``."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r} (expected one of {', '.join(FAMILIES)})")
    return FAMILIES[name]


def family_of(model: Model) -> Family:
    """The family a fitted model belongs to."""
    return family(model.family)


def fit_model(
    name: str,
    user_items: sp.csr_matrix,
    config: Any,
    model_users: np.ndarray,
    warm_from: Model | None = None,
) -> Model:
    """Fit family ``name`` on a users × items matrix (``warm_from``: where a family with a
    warm start continues from)."""
    entry = family(name)
    if entry.fit is None:
        raise ValueError(f"model family {name!r} is built from its members, not fitted")
    return entry.fit(user_items, config, model_users, warm_from)


def model_from_arrays(data: Arrays) -> Model:
    """The model a file's entries describe; entries without ``family`` are ALS (the oldest
    model files)."""
    name = str(data["family"]) if "family" in data else LEGACY_FAMILY
    return family(name).load(data, model_from_arrays)


def save_model(path: str | Path, model: Model, params: Mapping[str, Any]) -> None:
    """npz of the model's arrays and its parameters as JSON text (no pickle)."""
    np.savez(path, **model.to_arrays(), params=np.array(json.dumps(params, sort_keys=True)))


def load_model(path: str | Path) -> tuple[Model, dict]:
    """Read what :func:`save_model` wrote (``allow_pickle`` stays off)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    try:
        model = model_from_arrays(arrays)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    return model, json.loads(str(arrays["params"]))
