""" "Because you have …": for each recommended item, the user's seen item that contributes
most to it under the serving model (:meth:`~recsys_core.models.base.Model.contributions`).

Contributions are computed once per recommended item (in blocks of items), then gathered
for every (user, recommended item, seen item) triple, all vectorised: the cost is one
item–item pass over the recommended items plus a gather of ``seen × k`` values per user.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys_core.models.base import Model
from recsys_core.progress import Progress

# Recommended items whose contributions are computed at a time (items × catalogue floats).
ITEM_BLOCK = 256


def because_items(
    model: Model, seen: sp.csr_matrix, items: np.ndarray, block: int = ITEM_BLOCK
) -> np.ndarray:
    """For each slot of ``items`` (users × k, -1: empty), the seen item of that user
    (a column of ``seen``'s row) with the largest contribution; -1 where the slot is empty
    or the user has seen nothing. Ties go to the lower item code."""
    n_users, k = items.shape
    because = np.full((n_users, k), -1, dtype=np.int64)
    slots = np.flatnonzero(items.ravel() >= 0)
    owners = slots // k
    counts = np.diff(seen.indptr)[owners]
    slots, owners, counts = slots[counts > 0], owners[counts > 0], counts[counts > 0]
    recommended = items.ravel()[slots]
    order = np.argsort(recommended, kind="stable")
    slots, owners, counts, recommended = (a[order] for a in (slots, owners, counts, recommended))
    unique = np.unique(recommended)
    progress = Progress("explain", len(unique), "items")
    for start in range(0, len(unique), block):
        chunk = unique[start : start + block]
        rows = np.asarray(model.contributions(chunk), dtype=np.float32)
        lo, hi = np.searchsorted(recommended, [chunk[0], chunk[-1] + 1])
        # Every (slot, seen item) pair of the slots recommending this chunk's items.
        pair_slot = np.repeat(np.arange(lo, hi), counts[lo:hi])
        firsts = seen.indptr[owners[lo:hi]]
        offsets = np.arange(len(pair_slot)) - np.repeat(
            np.cumsum(counts[lo:hi]) - counts[lo:hi], counts[lo:hi]
        )
        seen_items = seen.indices[np.repeat(firsts, counts[lo:hi]) + offsets]
        values = rows[np.searchsorted(chunk, recommended[pair_slot]), seen_items]
        because.ravel()[slots[lo:hi]] = _segment_argmax(values, seen_items, counts[lo:hi])
        progress.update(min(start + block, len(unique)))
    return because


def _segment_argmax(values: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per consecutive segment (``counts`` long each, all > 0), the label of its largest
    value; ties go to the smallest label."""
    segment = np.repeat(np.arange(len(counts)), counts)
    # Sort by segment, then value descending, then label ascending: each segment's first.
    order = np.lexsort((labels, -values, segment))
    starts = np.cumsum(counts) - counts
    return labels[order[starts]]
