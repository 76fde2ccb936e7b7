"""Users × items matrices cut from a split table (rows are users, columns are items)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from recsys_core.columns import Columns, Parts
from recsys_core.config import EvalMode


@dataclass(frozen=True, slots=True)
class SplitArrays:
    """The split table's columns as numpy arrays."""

    users: np.ndarray
    items: np.ndarray
    weights: np.ndarray
    parts: np.ndarray

    @classmethod
    def from_table(cls, split: pa.Table) -> SplitArrays:
        return cls(
            users=split.column(Columns.USER_INDEX).to_numpy(),
            items=split.column(Columns.ITEM_INDEX).to_numpy(),
            weights=split.column(Columns.WEIGHT).to_numpy(),
            parts=split.column(Columns.PART).to_numpy(),
        )

    def evaluated_users(self) -> np.ndarray:
        """Sorted dense indices of the users that have a validation/test assignment."""
        return np.unique(self.users[self.parts != Parts.NOT_EVALUATED])


def rows_matrix(
    arrays: SplitArrays, mask: np.ndarray, row_users: np.ndarray, n_items: int
) -> sp.csr_matrix:
    """CSR of the ``mask`` pairs whose user is in sorted ``row_users``; row r is row_users[r]."""
    users, items, weights = arrays.users[mask], arrays.items[mask], arrays.weights[mask]
    rows = np.searchsorted(row_users, users)
    inside = (rows < len(row_users)) & (row_users[np.minimum(rows, len(row_users) - 1)] == users)
    matrix = sp.csr_matrix(
        (weights[inside].astype(np.float64), (rows[inside], items[inside])),
        shape=(len(row_users), n_items),
    )
    matrix.sum_duplicates()
    return matrix


def eval_training_matrix(
    arrays: SplitArrays, n_users: int, n_items: int, mode: EvalMode
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Users the evaluation model is trained on, and their train matrix.

    ``seed``: only evaluated users, their train part (seed 000 drops short users entirely).
    ``standard``: every user; short users contribute all their items to train.
    """
    if mode == "seed":
        model_users = arrays.evaluated_users()
        train = arrays.parts == Parts.TRAIN
    else:
        model_users = np.arange(n_users)
        train = (arrays.parts == Parts.TRAIN) | (arrays.parts == Parts.NOT_EVALUATED)
    return model_users, rows_matrix(arrays, train, model_users, n_items)


def full_matrix(arrays: SplitArrays, n_users: int, n_items: int) -> sp.csr_matrix:
    """Every distinct (user, item) pair, all users (the serving model's input)."""
    return rows_matrix(arrays, np.ones(len(arrays.users), dtype=bool), np.arange(n_users), n_items)
