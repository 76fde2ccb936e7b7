"""The Chebyshev filter's recurrence as compiled kernels on every core.

Σ_k c_k T_k(L̃) x for a dense items × signals block x, L̃ = I − 2R̃ᵀR̃, costs K pairs of
sparse × dense products: memory-bound, and scipy's product runs on one core and leaves the
recurrence's vector updates to numpy as extra passes over the block. Here each pair is two
numba kernels that release the GIL and run on row ranges of equal non-zero count in a
thread pool; the second fuses the recurrence's update (next = 2L̃·current − previous, total
+= c·next) into its row loop, so the block is read and written once per step.

Measured side by side with the scipy recurrence by ``python -m benchmarks.chebyshev_kernel``
(results in ``benchmarks/results/``). Each row's sum runs in one order whatever the thread
split, so the result does not depend on the number of threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np
import scipy.sparse as sp
from numba import njit

from recsys_core.ranking.tiles import compute_threads


@njit(nogil=True, fastmath=True, cache=True, boundscheck=False, inline="always")
def _row_product(indptr, indices, data, x, row, accumulator):  # pragma: no cover - compiled
    """accumulator = Σ_p data[p]·x[indices[p]] over CSR row ``row`` (inlined by numba)."""
    accumulator[:] = 0
    for p in range(indptr[row], indptr[row + 1]):
        value = data[p]
        source = x[indices[p]]
        for j in range(x.shape[1]):
            accumulator[j] += value * source[j]


@njit(nogil=True, fastmath=True, cache=True, boundscheck=False)
def _product_rows(indptr, indices, data, x, out, start, stop):  # pragma: no cover - compiled
    """out[i] = Σ_p data[p]·x[indices[p]] for rows start..stop of a CSR matrix."""
    accumulator = np.zeros(x.shape[1], np.float32)
    for row in range(start, stop):
        _row_product(indptr, indices, data, x, row, accumulator)
        out[row, :] = accumulator


@njit(nogil=True, fastmath=True, cache=True, boundscheck=False)
def _step_rows(
    indptr, indices, data, z, current, previous, total, coefficient, first, start, stop
):  # pragma: no cover - compiled
    """For rows start..stop: L̃·current = current − 2(Az)[row]; next = that (the first step)
    or 2·that − previous; next overwrites previous and total += coefficient·next."""
    width = z.shape[1]
    accumulator = np.zeros(width, np.float32)
    for row in range(start, stop):
        _row_product(indptr, indices, data, z, row, accumulator)
        for j in range(width):
            laplacian = current[row, j] - 2 * accumulator[j]
            following = laplacian if first else 2 * laplacian - previous[row, j]
            previous[row, j] = following
            total[row, j] += coefficient * following


@cache
def thread_pool(threads: int) -> ThreadPoolExecutor:
    """One pool per thread count for the compiled graph kernels (they release the GIL)."""
    return ThreadPoolExecutor(threads, thread_name_prefix="graph-kernel")


def run_in_ranges(kernel, ranges: list[tuple[int, int]], pool, *args) -> None:
    """``kernel(*args, start, stop)`` for each row range: on ``pool``'s threads, or here
    when there is no pool (one thread) or a single range."""
    if pool is None or len(ranges) < 2:
        for start, stop in ranges:
            kernel(*args, start, stop)
        return
    for future in [pool.submit(kernel, *args, a, b) for a, b in ranges]:
        future.result()


def row_ranges(indptr: np.ndarray, parts: int) -> list[tuple[int, int]]:
    """``parts`` consecutive row ranges holding about equal numbers of non-zeros.

    Examples
    --------
    >>> row_ranges(np.array([0, 1, 2, 10, 11]), 2)
    [(0, 2), (2, 4)]
    """
    rows = len(indptr) - 1
    targets = np.linspace(0, indptr[-1], parts + 1)[1:-1]
    after = np.clip(np.searchsorted(indptr, targets, side="left"), 1, rows)
    # The row boundary whose non-zero count is nearest each target.
    nearer_before = targets - indptr[after - 1] <= indptr[after] - targets
    cuts = np.where(nearer_before, after - 1, after)
    bounds = np.unique(np.concatenate([[0], cuts, [rows]]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


class Recurrence:
    """The Chebyshev recurrence of L̃ = I − 2R̃ᵀR̃ for one R̃ (float32 CSR, users × items)."""

    def __init__(self, normalised: sp.csr_matrix, threads: int | None = None) -> None:
        self.forward = csr_arrays(normalised)
        self.backward = csr_arrays(normalised.T.tocsr())
        self.n_users, self.n_items = normalised.shape
        threads = threads or compute_threads()
        self.forward_ranges = row_ranges(self.forward[0], threads)
        self.backward_ranges = row_ranges(self.backward[0], threads)
        self.pool = thread_pool(threads) if threads > 1 else None

    def _run(self, kernel, arrays, ranges, *args) -> None:
        run_in_ranges(kernel, ranges, self.pool, *arrays, *args)

    def filter(self, signals: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
        """Σ_k c_k T_k(L̃)·signals for ``signals`` items × b (float32, C order)."""
        current = np.array(signals, dtype=np.float32, order="C")  # the steps overwrite it
        coefficients = np.asarray(coefficients, dtype=np.float32)
        total = coefficients[0] * current
        previous = np.empty_like(current)
        z = np.empty((self.n_users, current.shape[1]), np.float32)
        for k in range(1, len(coefficients)):
            self._run(_product_rows, self.forward, self.forward_ranges, current, z)
            self._run(
                _step_rows,
                self.backward,
                self.backward_ranges,
                z,
                current,
                previous,
                total,
                coefficients[k],
                k == 1,
            )
            # previous now holds T_k; T_{k−1} (current) becomes the next step's previous.
            current, previous = previous, current
        return total


class RowProduct:
    """``product(dense)`` = matrix @ dense (float32) on every core, for one CSR matrix whose
    kernel arrays and row ranges are prepared once (the randomized SVD multiplies by the
    same two matrices eight times). Row ranges of equal non-zero count, each row summed in
    one order, so the result does not depend on the thread count."""

    def __init__(self, matrix: sp.csr_matrix, threads: int | None = None) -> None:
        self.arrays = csr_arrays(matrix)
        self.n_rows = matrix.shape[0]
        threads = threads or compute_threads()
        self.ranges = row_ranges(self.arrays[0], threads)
        self.pool = thread_pool(threads) if threads > 1 else None

    def __call__(self, dense: np.ndarray) -> np.ndarray:
        dense = np.ascontiguousarray(dense, dtype=np.float32)
        out = np.empty((self.n_rows, dense.shape[1]), np.float32)
        run_in_ranges(_product_rows, self.ranges, self.pool, *self.arrays, dense, out)
        return out


def sparse_times_dense(
    matrix: sp.csr_matrix, dense: np.ndarray, threads: int | None = None
) -> np.ndarray:
    """matrix @ dense (float32) on every core (:class:`RowProduct`): scipy's product runs
    on one (a third of the randomized SVD's time at rank 512 on Gowalla)."""
    return RowProduct(matrix, threads)(dense)


def csr_arrays(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A CSR matrix's (indptr int64, indices int32, data float32), as the kernels take them."""
    matrix = matrix.tocsr()
    return (
        matrix.indptr.astype(np.int64),
        matrix.indices.astype(np.int32),
        matrix.data.astype(np.float32),
    )
