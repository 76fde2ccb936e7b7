"""The model families behind one small interface: fit on a users × items matrix, score a
block of users (``block_scorer``), save to and load from npz. This front picks the
implementation by config type or by the file's ``family``; a third family is one module
plus a line here. Exclusion of seen items, blending and top-k are shared (``ranking``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recsys_core.config import ALSConfig, GraphFilterConfig
from recsys_core.graph_filter import (
    GraphFilter,
    fit_graph_filter,
    graph_filter_from_npz,
    save_graph_filter,
)
from recsys_core.training import Factors, factors_from_npz, fit_als, save_factors

Model = Factors | GraphFilter
ModelConfig = ALSConfig | GraphFilterConfig


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


def save_model(path: str | Path, model: Model, config: ModelConfig) -> None:
    """npz with a ``family`` entry and the parameters as JSON text (no pickle)."""
    if isinstance(model, Factors):
        save_factors(path, model, config)
    else:
        save_graph_filter(path, model, json.dumps(asdict(config), sort_keys=True))


def load_model(path: str | Path) -> tuple[Model, dict]:
    """Read what :func:`save_model` wrote; files without ``family`` are ALS (older runs)."""
    with np.load(path, allow_pickle=False) as data:
        family = str(data["family"]) if "family" in data.files else "als"
        params = json.loads(str(data["params"]))
        if family == "als":
            model = factors_from_npz(data)
        elif family == "graph_filter":
            model = graph_filter_from_npz(data)
        else:
            raise ValueError(f"{path}: unknown model family {family!r}")
    return model, params
