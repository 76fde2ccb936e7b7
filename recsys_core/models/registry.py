"""The model families behind one small interface: fit on a users × items matrix, score a
block of users (``block_scorer``), save to and load from npz. This front picks the
implementation by config type or by the file's ``family``; a third family is one module
plus a line in each table here. Exclusion of seen items and top-k are shared
(``ranking``); an ensemble (``ensemble``) blends fitted members of any family.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys_core.config import ALSConfig, GraphFilterConfig
from recsys_core.models.als import Factors, factors_arrays, factors_from_npz, fit_als
from recsys_core.models.ensemble import Ensemble
from recsys_core.models.graph_filter import (
    GraphFilter,
    fit_graph_filter,
    graph_filter_arrays,
    graph_filter_from_npz,
)

Model = Factors | GraphFilter | Ensemble
ModelConfig = ALSConfig | GraphFilterConfig
Arrays = Mapping[str, np.ndarray]


def fit_model(
    user_items: sp.csr_matrix,
    config: ModelConfig,
    model_users: np.ndarray,
    initial_item_factors: np.ndarray | None = None,
) -> Model:
    """Fit the family ``config`` belongs to (``initial_item_factors``: ALS warm start)."""
    if isinstance(config, ALSConfig):
        return fit_als(user_items, config, model_users, initial_item_factors=initial_item_factors)
    if isinstance(config, GraphFilterConfig):
        return fit_graph_filter(user_items, config, model_users)
    raise TypeError(f"no model family takes a {type(config).__name__}")


def family_name(model: Model) -> str:
    """The ``family`` entry of the model's file."""
    return str(model_arrays(model)["family"])


def _ensemble_arrays(model: Ensemble) -> dict[str, np.ndarray]:
    arrays = {
        "family": np.array("ensemble"),
        "weights": np.array(model.weights, dtype=np.float64),
        "popularity_term": model.popularity_term,
    }
    for number, member in enumerate(model.members):
        arrays.update({f"m{number}.{k}": v for k, v in model_arrays(member).items()})
    return arrays


def _ensemble_from_arrays(data: Arrays) -> Ensemble:
    weights = tuple(float(w) for w in data["weights"])
    members = tuple(
        model_from_arrays(
            {k.split(".", 1)[1]: v for k, v in data.items() if k.startswith(f"m{number}.")}
        )
        for number in range(len(weights))
    )
    return Ensemble(members, weights, data["popularity_term"])


_TO_ARRAYS: Mapping[type, Callable[[Any], dict[str, np.ndarray]]] = {
    Factors: factors_arrays,
    GraphFilter: graph_filter_arrays,
    Ensemble: _ensemble_arrays,
}
_FROM_ARRAYS: Mapping[str, Callable[[Arrays], Model]] = {
    "als": factors_from_npz,
    "graph_filter": graph_filter_from_npz,
    "ensemble": _ensemble_from_arrays,
}


def model_arrays(model: Model) -> dict[str, np.ndarray]:
    """The model's npz entries, ``family`` included (no pickle)."""
    return _TO_ARRAYS[type(model)](model)


def model_from_arrays(data: Arrays) -> Model:
    """The model :func:`model_arrays` describes; entries without ``family`` are ALS (the
    oldest model files)."""
    family = str(data["family"]) if "family" in data else "als"
    if family not in _FROM_ARRAYS:
        raise ValueError(f"unknown model family {family!r}")
    return _FROM_ARRAYS[family](data)


def save_model(path: str | Path, model: Model, params: Mapping[str, Any]) -> None:
    """npz of the model's arrays and its parameters as JSON text."""
    np.savez(path, **model_arrays(model), params=np.array(json.dumps(params, sort_keys=True)))


def load_model(path: str | Path) -> tuple[Model, dict]:
    """Read what :func:`save_model` wrote (``allow_pickle`` stays off)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    try:
        model = model_from_arrays(arrays)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    return model, json.loads(str(arrays["params"]))
