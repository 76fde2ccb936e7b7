"""The split as arrays, and the users × items matrices cut from it (rows are users).

One home for the rule of which split parts a model is trained on
(:func:`training_parts`), used by the weight step and by evaluation alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from recsys_core.columns import Columns, Parts
from recsys_core.config import EvalProtocol, TrainMatrix
from recsys_core.io.workdir import EVAL_CONFIDENCE_FILE, EVAL_USERS_FILE, FULL_CONFIDENCE_FILE

# Parquet schema metadata key holding the split's shape.
_SHAPE_KEY = b"recsys.shape"


@dataclass(frozen=True, slots=True)
class SplitArrays:
    """One row per distinct (user, item) pair with its part; dense indices < the shape."""

    users: np.ndarray
    items: np.ndarray
    weights: np.ndarray
    parts: np.ndarray
    n_users: int
    n_items: int

    @classmethod
    def from_table(cls, split: pa.Table, n_users: int, n_items: int) -> SplitArrays:
        return cls(
            users=split.column(Columns.USER_INDEX).to_numpy(),
            items=split.column(Columns.ITEM_INDEX).to_numpy(),
            weights=split.column(Columns.WEIGHT).to_numpy(),
            parts=split.column(Columns.PART).to_numpy(),
            n_users=n_users,
            n_items=n_items,
        )

    def evaluated_users(self) -> np.ndarray:
        """Sorted dense indices of the users that have a validation/test assignment."""
        return np.unique(self.users[self.parts != Parts.NOT_EVALUATED])


def write_split(table: pa.Table, n_users: int, n_items: int, path: str | Path) -> None:
    """The split table, with its (n_users, n_items) in the schema metadata."""
    shape = json.dumps({"n_users": n_users, "n_items": n_items}).encode()
    pq.write_table(table.replace_schema_metadata({_SHAPE_KEY: shape}), path)


def read_split(path: str | Path) -> SplitArrays:
    """What :func:`write_split` wrote."""
    table = pq.read_table(path)
    shape = json.loads(table.schema.metadata[_SHAPE_KEY])
    return SplitArrays.from_table(table, shape["n_users"], shape["n_items"])


_CONFIDENCE_FILES: Mapping[TrainMatrix, str] = {
    "eval": EVAL_CONFIDENCE_FILE,
    "full": FULL_CONFIDENCE_FILE,
}


def read_confidence(
    weight_dir: str | Path, matrix: TrainMatrix
) -> tuple[np.ndarray, sp.csr_matrix]:
    """The weight step's ``eval`` or ``full`` users × items confidence matrix and the users
    its rows are (the evaluation model's users; every user for ``full``)."""
    if matrix not in _CONFIDENCE_FILES:
        raise ValueError(f"matrix must be one of {', '.join(_CONFIDENCE_FILES)}, got {matrix!r}")
    user_items = sp.load_npz(Path(weight_dir) / _CONFIDENCE_FILES[matrix]).tocsr()
    if matrix == "eval":
        return np.load(Path(weight_dir) / EVAL_USERS_FILE, allow_pickle=False), user_items
    return np.arange(user_items.shape[0]), user_items


def rows_matrix(arrays: SplitArrays, mask: np.ndarray, row_users: np.ndarray) -> sp.csr_matrix:
    """CSR of the ``mask`` pairs whose user is in sorted ``row_users``; row r is row_users[r]."""
    users, items, weights = arrays.users[mask], arrays.items[mask], arrays.weights[mask]
    rows = np.searchsorted(row_users, users)
    inside = (rows < len(row_users)) & (row_users[np.minimum(rows, len(row_users) - 1)] == users)
    matrix = sp.csr_matrix(
        (weights[inside].astype(np.float64), (rows[inside], items[inside])),
        shape=(len(row_users), arrays.n_items),
    )
    matrix.sum_duplicates()
    return matrix


def training_parts(protocol: EvalProtocol) -> tuple[int, ...]:
    """Split parts the evaluation model is trained on.

    ``seed``: train only (seed 000 leaves short users out entirely); ``standard``: train
    plus the short users' items (they are trained on, never evaluated).
    """
    return (Parts.TRAIN,) if protocol == "seed" else (Parts.TRAIN, Parts.NOT_EVALUATED)


def model_users(arrays: SplitArrays, protocol: EvalProtocol) -> np.ndarray:
    """Sorted users the evaluation model has a row for (``seed``: evaluated users only)."""
    return arrays.evaluated_users() if protocol == "seed" else np.arange(arrays.n_users)


def eval_training_matrix(
    arrays: SplitArrays, protocol: EvalProtocol
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Users the evaluation model is trained on, and their train matrix (raw weights)."""
    users = model_users(arrays, protocol)
    parts = np.isin(arrays.parts, training_parts(protocol))
    return users, rows_matrix(arrays, parts, users)


def full_matrix(arrays: SplitArrays) -> sp.csr_matrix:
    """Every distinct (user, item) pair, all users (the serving model's input)."""
    return rows_matrix(arrays, np.ones(len(arrays.users), dtype=bool), np.arange(arrays.n_users))
