"""BM25 weighting and confidence scaling of interaction matrices.

BM25 treats each *row* as a document and each column as a term, so the result depends on
the matrix direction: seed 000 weights users × items (``user_items``: idf over users, length
normalisation over a user's items); seed 001 weights items × users and transposes
(``item_users``). Inputs and outputs here are always users × items CSR.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys_core.config import WeightConfig


def bm25_rows(matrix: sp.csr_matrix, k1: float, b: float) -> sp.csr_matrix:
    """BM25 with rows as documents: ``x·(k1+1) / (k1·((1-b) + b·len/avg_len) + x) · idf``.

    ``idf_j = log(n_rows) - log1p(df_j)`` with ``df_j`` the column's non-zero count and
    ``len`` the row sum (implicit's ``bm25_weight`` definition). Computed in float64.

    Examples
    --------
    Row 0 has length 1 (average 1.4), column 0 is in 2 of 5 rows:
    ``2.2 / (1.2 · (0.25 + 0.75/1.4) + 1) · (log 5 - log 3) = 0.5784``.

    >>> m = sp.csr_matrix(np.array([[1.0, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1], [0, 0, 1]]))
    >>> np.round(bm25_rows(m, 1.2, 0.75).toarray()[0], 4)
    array([0.5784, 0.    , 0.    ])
    """
    coo = matrix.tocoo()
    n_rows = float(matrix.shape[0])
    df = np.bincount(coo.col, minlength=matrix.shape[1])
    idf = np.log(n_rows) - np.log1p(df)
    row_sums = np.asarray(matrix.sum(axis=1)).ravel()
    length_norm = (1.0 - b) + b * row_sums / row_sums.mean()
    data = coo.data.astype(np.float64)
    weighted = data * (k1 + 1.0) / (k1 * length_norm[coo.row] + data) * idf[coo.col]
    return sp.csr_matrix((weighted, (coo.row, coo.col)), shape=matrix.shape)


def confidence(user_items: sp.csr_matrix, config: WeightConfig) -> sp.csr_matrix:
    """BM25 in ``config.bm25_direction`` times ``alpha``, as float32 users × items CSR."""
    if config.bm25_direction == "user_items":
        weighted = bm25_rows(user_items, config.bm25_k1, config.bm25_b)
    elif config.bm25_direction == "item_users":
        weighted = bm25_rows(user_items.T.tocsr(), config.bm25_k1, config.bm25_b).T.tocsr()
    else:
        raise ValueError(f"unknown bm25_direction {config.bm25_direction!r}")
    weighted.data *= config.alpha
    weighted.sort_indices()
    return weighted.astype(np.float32)
