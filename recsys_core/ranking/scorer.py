"""What the shared top-k needs of a model: a scorer that fills a block of users' scores
into a buffer (:data:`BlockScorer`, what :meth:`recsys_core.models.base.Model.block_scorer`
returns), and the factor models' one: a GEMM."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from recsys_core.ranking.tiles import chunk_layout

# Fills the first n_items columns of ``out`` (rows × padded width, C-contiguous) with raw
# model scores for users ``start:stop``; the padding columns are overwritten afterwards.
BlockScorer = Callable[[int, int, np.ndarray], None]


def gemm_scorer(
    user_vectors: np.ndarray, item_factors: np.ndarray, bias: np.ndarray | None = None
) -> BlockScorer:
    """The factor models' scorer: one float32 GEMM per block, straight into the buffer
    (item factors zero-padded to the buffer's width, so BLAS writes contiguously).

    ``bias`` (per item) rides in the GEMM as one more factor (1 for every user), which
    saves a pass over each block.
    """
    n_items, n_factors = item_factors.shape
    width, chunks = chunk_layout(n_items)
    extra = 0 if bias is None else 1
    item_t = np.zeros((n_factors + extra, width * chunks), dtype=np.float32)
    item_t[:n_factors, :n_items] = item_factors.T
    vectors = np.asarray(user_vectors, dtype=np.float32)
    if bias is not None:
        item_t[n_factors, :n_items] = bias
        vectors = np.hstack([vectors, np.ones((len(vectors), 1), dtype=np.float32)])

    def score(start: int, stop: int, out: np.ndarray) -> None:
        np.matmul(vectors[start:stop], item_t, out=out)

    return score


def banning(scorer: BlockScorer, banned: np.ndarray) -> BlockScorer:
    """``scorer`` with the ``banned`` item columns at -inf: never in a list, and never in a
    seed pool (chosen on raw scores), so lists stay ``top_k`` long where the catalogue
    allows. No ban: ``scorer`` itself."""
    if len(banned) == 0:
        return scorer

    def score(start: int, stop: int, out: np.ndarray) -> None:
        scorer(start, stop, out)
        out[:, banned] = -np.inf

    return score
