"""s·R̃ᵀR̃ for sparse signal rows s, into dense rows: the graph filters' linear term.

A user's items reach a few thousand neighbours through R̃ᵀ and those neighbours' items
through R̃, so the product is cheap per row but scipy's sparse × sparse × sparse builds
two sparse results on one core. Here each row is one compiled loop (Gustavson's, with a
dense accumulator over users and the output row as the other): the neighbours' weights,
then their rows of R̃ added into the output. Rows go to a thread pool in ranges of equal
signal non-zeros; each row is summed in one order whatever the split, so the result does
not depend on the number of threads or on which block a row is in.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit

from recsys_core.models.chebyshev_kernel import csr_arrays, row_ranges, run_in_ranges, thread_pool
from recsys_core.ranking.tiles import compute_threads


@njit(nogil=True, cache=True, boundscheck=False)
def _rows(
    signal_indptr,
    signal_indices,
    signal_data,
    items_indptr,
    items_users,
    items_data,
    users_indptr,
    users_items,
    users_data,
    scale,
    item_scale,
    out,
    start,
    stop,
):  # pragma: no cover - compiled
    """out[row] += scale · (s[row] R̃ᵀ) R̃ · diag(item_scale) for rows start..stop
    (``items_*`` is R̃ᵀ as CSR, ``users_*`` is R̃)."""
    n_users = users_indptr.shape[0] - 1
    through = np.zeros(n_users, np.float32)
    reached = np.zeros(n_users, np.bool_)
    order = np.empty(n_users, np.int32)
    accumulator = np.zeros(out.shape[1], np.float32)
    for row in range(start, stop):
        count = 0
        for p in range(signal_indptr[row], signal_indptr[row + 1]):
            item = signal_indices[p]
            value = signal_data[p]
            for q in range(items_indptr[item], items_indptr[item + 1]):
                user = items_users[q]
                if not reached[user]:
                    reached[user] = True
                    order[count] = user
                    count += 1
                through[user] += value * items_data[q]
        for k in range(count):
            user = order[k]
            weight = scale * through[user]
            through[user] = 0
            reached[user] = False
            for q in range(users_indptr[user], users_indptr[user + 1]):
                accumulator[users_items[q]] += weight * users_data[q]
        for item in range(accumulator.shape[0]):
            out[row, item] += accumulator[item] * item_scale[item]
            accumulator[item] = 0


class GraphProduct:
    """``add(signals, out, scale, item_scale)``: out[:, :items] += scale · s R̃ᵀR̃ ·
    diag(item_scale) for one R̃ (users × items), signals a float32 CSR of item rows (an
    output scaling folded in saves the caller a pass over the block)."""

    def __init__(self, normalised: sp.csr_matrix, threads: int | None = None) -> None:
        self.users = csr_arrays(normalised)
        self.items = csr_arrays(normalised.T.tocsr())
        self.n_items = normalised.shape[1]
        self.threads = threads or compute_threads()
        self.pool = thread_pool(self.threads) if self.threads > 1 else None
        self.ones = np.ones(self.n_items, np.float32)

    def add(
        self,
        signals: sp.csr_matrix,
        out: np.ndarray,
        scale: float = 1.0,
        item_scale: np.ndarray | None = None,
    ) -> None:
        per_item = self.ones if item_scale is None else item_scale.astype(np.float32, copy=False)
        arrays = (
            *csr_arrays(signals),
            *self.items,
            *self.users,
            np.float32(scale),
            per_item,
            out,
        )
        ranges = row_ranges(arrays[0], self.threads) if signals.nnz else []
        run_in_ranges(_rows, ranges, self.pool, *arrays)
