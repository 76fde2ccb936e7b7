"""What each seen item adds to each recommended item's score: the layout of
:meth:`~recsys_core.models.base.Model.contributions` and the two ways a family computes it.

For users ``seen`` (CSR, one row per user) and their lists ``items`` (users × k item
codes, -1: empty) a :class:`Contributions` holds one value per (stored entry of ``seen``,
list slot): ``values[p, c]`` is what item ``seen.indices[p]`` adds to the score of
``items[u, c]``, ``u`` the row holding entry ``p``. Only these ``nnz × k`` pairs are ever
computed, never a recommended item against the whole catalogue, except by families
without a cheaper form (:func:`from_item_rows`). Beside them, per slot, the mean and mean
square of the item's contributions over the whole catalogue: what an ensemble
standardises each member's contributions by.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recsys_core.ranking.tiles import on_cores

# Recommended items whose catalogue rows :func:`from_item_rows` holds at a time.
ITEM_BLOCK = 256
# Floats of gathered vectors one thread of :func:`low_rank` holds at a time (64 MiB).
GATHER_FLOATS = 1 << 24


@dataclass(frozen=True, slots=True)
class Contributions:
    """``values``: seen entries × list slots (float32); ``mean``, ``square_mean``: users × k
    (float64), the moments of the slot item's contributions over the catalogue."""

    values: np.ndarray
    mean: np.ndarray
    square_mean: np.ndarray

    def standardised(self, seen: sp.csr_matrix, weight: float) -> np.ndarray:
        """``weight · (value − mean) / standard deviation`` per slot (a slot whose
        contributions are constant over the catalogue: 0), the scale an ensemble blends."""
        variance = self.square_mean - self.mean**2
        scale = np.where(variance > 0, weight / np.sqrt(np.maximum(variance, 1e-300)), 0.0)
        rows = entry_rows(seen)
        centred = self.values - self.mean[rows].astype(np.float32)
        return centred * scale[rows].astype(np.float32)

    def plus(self, other: Contributions, cross_mean: np.ndarray) -> Contributions:
        """The contributions of a sum of two operators; ``cross_mean`` (users × k): the
        catalogue mean of the product of the two parts, which the sum's mean square needs."""
        return Contributions(
            self.values + other.values,
            self.mean + other.mean,
            self.square_mean + other.square_mean + 2 * cross_mean,
        )


def entry_rows(seen: sp.csr_matrix) -> np.ndarray:
    """The row of each stored entry of ``seen``."""
    return np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))


def constant_per_item(term: np.ndarray, seen: sp.csr_matrix, k: int) -> Contributions:
    """Item ``j`` adds ``term[j]`` to every item's score (a score that ignores the list)."""
    term = np.asarray(term, dtype=np.float64)
    shape = (seen.shape[0], k)
    return Contributions(
        np.repeat(term[seen.indices].astype(np.float32)[:, None], k, axis=1),
        np.full(shape, term.mean()),
        np.full(shape, (term**2).mean()),
    )


def from_item_rows(
    rows_of: Callable[[np.ndarray], np.ndarray],
    seen: sp.csr_matrix,
    items: np.ndarray,
    block: int = ITEM_BLOCK,
) -> Contributions:
    """Contributions from ``rows_of(codes)`` (codes × catalogue: row ``r`` is what every
    item adds to item ``codes[r]``), a block of the distinct listed items at a time: the
    general way, costing one catalogue row per distinct listed item."""
    n_users, k = items.shape
    values = np.zeros((seen.nnz, k), dtype=np.float32)
    mean, square_mean = np.zeros((n_users, k)), np.zeros((n_users, k))
    slots = np.flatnonzero(items.ravel() >= 0)
    listed = items.ravel()[slots]
    order = np.argsort(listed, kind="stable")
    slots, listed = slots[order], listed[order]
    owners = slots // k
    counts = np.diff(seen.indptr)[owners]
    distinct = np.unique(listed)

    def fill(chunk: np.ndarray) -> None:  # writes only the slots listing ``chunk``'s items
        rows = np.asarray(rows_of(chunk), dtype=np.float32)
        lo, hi = np.searchsorted(listed, [chunk[0], chunk[-1] + 1])
        position = np.searchsorted(chunk, listed[lo:hi])
        mean.ravel()[slots[lo:hi]] = rows.mean(axis=1, dtype=np.float64)[position]
        squares = np.einsum("ij,ij->i", rows, rows, dtype=np.float64)
        square_mean.ravel()[slots[lo:hi]] = squares[position] / max(rows.shape[1], 1)
        # Every (slot, seen entry) pair of the slots listing this chunk's items.
        n_pairs = counts[lo:hi]
        pair_slot = np.repeat(np.arange(lo, hi), n_pairs)
        offsets = np.arange(len(pair_slot)) - np.repeat(np.cumsum(n_pairs) - n_pairs, n_pairs)
        entries = np.repeat(seen.indptr[owners[lo:hi]], n_pairs) + offsets
        values.ravel()[entries * k + slots[pair_slot] % k] = rows[
            np.repeat(position, n_pairs), seen.indices[entries]
        ]

    list(on_cores(fill, [distinct[i : i + block] for i in range(0, len(distinct), block)]))
    return Contributions(values, mean, square_mean)


def padded_widths(counts: np.ndarray) -> np.ndarray:
    """Each count rounded up to a quarter of its power of two (at most 25 % padding; 0 stays
    0): users of one width go through one batched product.

    Examples
    --------
    >>> padded_widths(np.array([0, 1, 5, 9, 100])).tolist()
    [0, 1, 5, 10, 112]
    """
    octave = np.floor(np.log2(np.maximum(counts, 1))).astype(np.int64)
    step = np.maximum(1 << np.maximum(octave - 2, 0), 1)
    return -(-counts // step) * step


def low_rank(
    left: np.ndarray, right: np.ndarray, seen: sp.csr_matrix, items: np.ndarray
) -> Contributions:
    """Item ``j`` adds ``left[j] · right[i]`` to item ``i``: a batched product per group of
    users with about as many seen items (:func:`padded_widths`), ``nnz × k × rank``
    multiply-adds in all."""
    n_users, k = items.shape
    listed = np.maximum(items, 0)
    values = np.zeros((seen.nnz, k), dtype=np.float32)
    counts = np.diff(seen.indptr)
    widths = padded_widths(counts)
    rank = left.shape[1]

    def fill(group: np.ndarray) -> None:  # writes only the entries of ``group``'s users
        width = int(widths[group[0]])
        entries = seen.indptr[group][:, None] + np.arange(width)[None, :]
        present = np.arange(width)[None, :] < counts[group][:, None]
        # np.take: a row gather about twice as fast as fancy indexing here.
        gathered = np.take(left, seen.indices[np.where(present, entries, 0)], axis=0)
        gathered[~present] = 0
        targets = np.take(right, listed[group], axis=0)
        products = np.einsum("uwr,ukr->uwk", gathered, targets, optimize=True)
        values[entries[present]] = products[present]

    groups = []
    for width in np.unique(widths[widths > 0]):
        users = np.flatnonzero(widths == width)
        step = max(1, GATHER_FLOATS // (int(width) * rank))
        groups += [users[i : i + step] for i in range(0, len(users), step)]
    list(on_cores(fill, groups))
    left64 = left.astype(np.float64)
    centre = left64.mean(axis=0)
    gram = left64.T @ left64 / max(len(left), 1)
    distinct, position = np.unique(listed, return_inverse=True)
    vectors = right[distinct].astype(np.float64)
    mean = (vectors @ centre)[position].reshape(n_users, k)
    square_mean = ((vectors @ gram) * vectors).sum(axis=1)[position].reshape(n_users, k)
    return Contributions(values, mean, square_mean)
