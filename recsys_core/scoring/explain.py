""" "Because you have …": for each recommended item, the user's seen item that contributes
most to it under the serving model (:meth:`~recsys_core.models.base.Model.contributions`).

The model gives one value per (seen item, list slot) pair of each user; the largest per
slot is a segment argmax over each user's seen entries, vectorised. Users go a block at a
time so that the pairs stay within a memory budget at any ``top_k``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys_core.models.base import Model
from recsys_core.progress import Progress

# Contribution values (seen entries × list slots) held at a time: 256 MiB of float32.
PAIR_BUDGET = 1 << 26


def because_items(
    model: Model, seen: sp.csr_matrix, items: np.ndarray, budget: int = PAIR_BUDGET
) -> np.ndarray:
    """For each slot of ``items`` (users × k, -1: empty), the seen item of that user
    (a column of ``seen``'s row) with the largest contribution; -1 where the slot is empty
    or the user has seen nothing. Ties go to the lower item code."""
    seen = seen.tocsr()
    if not seen.has_sorted_indices:  # ties go to the first entry: the lowest code
        seen = seen.sorted_indices()
    n_users, k = items.shape
    because = np.full((n_users, k), -1, dtype=np.int64)
    progress = Progress("explain", n_users, "users")
    ends = np.searchsorted(seen.indptr, seen.indptr[:-1] + max(1, budget // max(k, 1)), "right")
    start = 0
    while start < n_users:
        stop = int(min(max(ends[start] - 1, start + 1), n_users))
        block = seen[start:stop]
        values = model.contributions(block, items[start:stop]).values
        because[start:stop] = _segment_argmax(block, values)
        start = stop
        progress.update(start)
    because[items < 0] = -1
    return because


def _segment_argmax(seen: sp.csr_matrix, values: np.ndarray) -> np.ndarray:
    """Per row of ``seen`` and column of ``values`` (seen entries × slots), the item of the
    row's entry with the largest value (the first on ties; -1 for an empty row)."""
    counts = np.diff(seen.indptr)
    filled = np.flatnonzero(counts > 0)
    best = np.full((seen.shape[0], values.shape[1]), -1, dtype=np.int64)
    if not len(filled):
        return best
    starts = seen.indptr[filled]
    values = np.nan_to_num(values, nan=-np.inf)
    top = np.repeat(np.maximum.reduceat(values, starts, axis=0), counts[filled], axis=0)
    entry = np.arange(seen.nnz)[:, None]
    first = np.minimum.reduceat(np.where(values == top, entry, seen.nnz), starts, axis=0)
    best[filled] = seen.indices[first]
    return best
