"""Ranking metrics over a hit matrix, one value per user, no per-user loop.

``hits[u, r]`` is True when the item at rank ``r + 1`` of user ``u``'s list is relevant;
``n_relevant[u]`` is the size of the user's relevant set; ``k`` is the list length.
Definitions (seed 000's, which are also the common textbook ones):

- recall@k    = hits / |relevant|
- precision@k = hits / k                   (k, not the list length)
- AP@k        = Σ_r hit_r · precision@r / min(|relevant|, k)
- NDCG@k      = Σ_r hit_r / log2(r + 1)  /  Σ_{r ≤ min(|relevant|, k)} 1 / log2(r + 1)

Users with no relevant item score 0 on every metric; whether they count in the mean is
the caller's choice (:func:`mean_over`).
"""

from __future__ import annotations

import numpy as np

# The metrics every table carries, keyed ``metric_key(name, k)``.
METRIC_NAMES = ("recall", "precision", "map", "ndcg", "coverage")


def metric_key(name: str, k: int) -> str:
    """The one spelling of a metric's key.

    Examples
    --------
    >>> metric_key("ndcg", 20)
    'ndcg@20'
    """
    if name not in METRIC_NAMES:
        raise ValueError(f"unknown metric {name!r} (expected one of {', '.join(METRIC_NAMES)})")
    return f"{name}@{k}"


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.zeros(len(numerator), dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def recall_at_k(hits: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """Per-user recall.

    Examples
    --------
    >>> recall_at_k(np.array([[True, False], [False, False]]), np.array([2, 0])).tolist()
    [0.5, 0.0]
    """
    return _safe_divide(hits.sum(axis=1), n_relevant)


def precision_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    """Per-user precision, dividing by k.

    Examples
    --------
    >>> precision_at_k(np.array([[True, False, True, False]]), 4).tolist()
    [0.5]
    """
    return hits.sum(axis=1) / float(k) if k else np.zeros(len(hits))


def average_precision_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-user AP, dividing by min(|relevant|, k).

    Hits at ranks 1 and 3 of 3 relevant: (1/1 + 2/3) / 3.

    Examples
    --------
    >>> ap = average_precision_at_k(np.array([[True, False, True]]), np.array([3]), 3)
    >>> round(float(ap[0]), 4)
    0.5556
    """
    ranks = np.arange(1, hits.shape[1] + 1)
    precision_at_rank = np.cumsum(hits, axis=1) / ranks
    return _safe_divide((precision_at_rank * hits).sum(axis=1), np.minimum(n_relevant, k))


def ndcg_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Per-user binary NDCG with the ideal list of min(|relevant|, k) hits.

    One relevant item found at rank 2: (1/log2 3) / 1.

    Examples
    --------
    >>> round(float(ndcg_at_k(np.array([[False, True]]), np.array([1]), 2)[0]), 4)
    0.6309
    """
    discounts = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))
    dcg = hits @ discounts if hits.shape[1] else np.zeros(len(hits))
    ideal_cumulative = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
    idcg = ideal_cumulative[np.minimum(n_relevant, k)]
    return _safe_divide(dcg, idcg)


def mean_over(values: np.ndarray, include: np.ndarray | None = None) -> float:
    """Mean of ``values`` over the users ``include`` marks (all when None); 0 when none."""
    chosen = values if include is None else values[include]
    return float(chosen.mean()) if len(chosen) else 0.0


def item_coverage(items: np.ndarray, n_items: int) -> float:
    """Share of the catalogue that appears in at least one list (-1 padding ignored).

    Examples
    --------
    >>> item_coverage(np.array([[0, 1], [1, -1]]), 4)
    0.5
    """
    recommended = np.unique(items[items >= 0])
    return len(recommended) / n_items if n_items else 0.0


def seed001_precision_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Seed 001's "precision": hits / min(|relevant|, k) (a recall-like ratio, not hits / k).

    Kept to reproduce the seed's figures; the product reports :func:`precision_at_k`.

    Examples
    --------
    >>> seed001_precision_at_k(np.array([[True, False, True, False]]), np.array([3]), 4)
    array([0.66666667])
    """
    return _safe_divide(hits.sum(axis=1), np.minimum(n_relevant, k))


def seed001_average_precision_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Seed 001's AP: adds the running precision at *every* rank, hit or not, over
    min(|relevant|, k). Kept to reproduce the seed's figures; the product reports
    :func:`average_precision_at_k`.
    """
    ranks = np.arange(1, hits.shape[1] + 1)
    running_precision = np.cumsum(hits, axis=1) / ranks
    return _safe_divide(running_precision.sum(axis=1), np.minimum(n_relevant, k))
