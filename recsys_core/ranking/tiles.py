"""How scoring is laid out: item chunks (the top-k's candidate bound), user tiles (the
unit one GEMM scores, single-threaded, so any user range starting on a tile scores to the
bit what the whole run scores) and the threads that score them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from threadpoolctl import threadpool_limits

Part = TypeVar("Part")
Result = TypeVar("Result")


def compute_threads() -> int:
    """Threads scoring may use: ``RECSYS_THREADS`` when set (a Dask worker process that is
    one core of a shared machine sets 1), else every core."""
    value = os.environ.get("RECSYS_THREADS", "")
    return max(1, int(value)) if value.strip() else os.cpu_count() or 1


def block_workers(
    run_block: Callable[[int], Result], n_rows: int, block_size: int
) -> Iterator[Result]:
    """``run_block(start)`` for every block of ``block_size`` rows, results in order: one
    worker per core (:func:`on_cores`), each scoring *and* ranking whole blocks, so while
    one worker ranks the other's GEMM runs. (BLAS on every core with the ranking in a
    helper thread stalled one of BLAS's statically scheduled threads whenever the helper
    ran: the GEMM took 1.45x its bound.) BLAS stays on one thread even for a lone block: a
    GEMM split across threads rounds differently (see :func:`tile_rows`)."""
    return on_cores(run_block, range(0, n_rows, block_size))


def on_cores(work: Callable[[Part], Result], parts: Sequence[Part]) -> Iterator[Result]:
    """``work(part)`` for every part, results in order, on one thread per core
    (:func:`compute_threads`; numpy, BLAS and scipy's sparse products release the GIL) with
    BLAS on one thread each, so that the threads do not oversubscribe the cores."""
    workers = max(1, min(compute_threads(), len(parts)))
    with ThreadPoolExecutor(workers) as executor, threadpool_limits(1, "blas"):
        yield from executor.map(work, parts)


# Items are split into ``chunks`` strided groups (item j is in group j % chunks) so the
# group maxima are one contiguous max-reduction of the score block seen as
# (rows, width, chunks). About 4096 groups keep the candidate bound tight for pools of a
# few hundred items while the reduction stays a single cheap pass.
TARGET_CHUNKS = 4096


def chunk_layout(n_items: int) -> tuple[int, int]:
    """``(width, chunks)`` with ``width · chunks >= n_items`` and little padding."""
    width = -(-n_items // TARGET_CHUNKS)
    return width, -(-n_items // width)


# A worker's score buffer: at most about this many cells (64M: 256 MB of float32, plus a
# 64 MB mask) unless that leaves fewer than MIN_BLOCK_ROWS rows per block.
BLOCK_CELLS = 64 * 2**20
MIN_BLOCK_ROWS = 64


def tile_rows(block_size: int, n_items: int) -> int:
    """Users per scoring call (a *tile*): ``block_size``, capped so a worker's buffer stays
    near :data:`BLOCK_CELLS` (never below :data:`MIN_BLOCK_ROWS`), rounded down to a power
    of two.

    Tiles start at multiples of their size and BLAS runs single-threaded on each, because a
    GEMM's rounding depends on its row count and thread split: only the same calls give the
    same bits. A user range that starts at a multiple of :func:`tile_alignment` is scored in
    exactly the tiles the whole run uses, so its scores equal the whole run's to the bit.

    Examples
    --------
    >>> tile_rows(1024, 40_981), tile_rows(1024, 409_781), tile_rows(1000, 10)
    (1024, 128, 512)
    """
    width, chunks = chunk_layout(n_items)
    return _power_of_two_at_most(
        min(block_size, max(MIN_BLOCK_ROWS, BLOCK_CELLS // (width * chunks)))
    )


def tile_alignment(block_size: int) -> int:
    """Where a user block may start so its tiles are the whole run's: ``block_size``
    rounded down to a power of two, which every :func:`tile_rows` divides."""
    return _power_of_two_at_most(block_size)


def _power_of_two_at_most(n: int) -> int:
    """The largest power of two ``<= max(n, 1)``: tiles and block starts share it."""
    return 1 << (max(1, n).bit_length() - 1)
