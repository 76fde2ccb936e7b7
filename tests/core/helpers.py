"""Helpers shared by the core tests."""

import numpy as np


def block_scores(model, rows, block=2) -> np.ndarray:
    """Every item's score for model rows ``rows``, scored ``block`` rows at a time through
    the model's block scorer (as the shared top-k calls it)."""
    out = np.zeros((len(rows), model.n_items), dtype=np.float32)
    scorer = model.block_scorer(np.asarray(rows))
    for start in range(0, len(rows), block):
        stop = min(start + block, len(rows))
        scorer(start, stop, out[start:stop])
    return out
