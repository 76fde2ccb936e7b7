"""Training-free graph filters (GF-CF, Shen et al., CIKM 2021) as a model family.

With R the users × items training matrix as 0/1 (rows are users), d_u and d_i its row and
column sums and R̃ = D_U^-½ R D_I^-½, a user's scores over items are

- linear filter: r R̃ᵀ R̃, computed as two sparse products per block of users (the items ×
  items matrix R̃ᵀR̃ is never formed);
- ideal low-pass filter: r D_I^-½ V_k V_kᵀ D_I^½, V_k the top ``gf_rank`` right singular
  vectors of R̃ from a seeded randomized SVD;

score = linear + ``gf_ideal_weight`` · ideal. "Fitting" is the SVD: no training loop.

Sharpening (BSPM, Choi et al., ICML 2023), optional: with P = R̃ᵀR̃, the scores s are
multiplied by a truncated Taylor series of exp(−T·P),

    s ← s − T·sP + T²/2·sP² − … (``gf_sharpen_steps`` terms after s, T = ``gf_sharpen_t``),

each sP as two sparse products (sR̃ᵀ)R̃ of the dense block: about 2·nnz(R) multiply-adds
per user and term, so it costs far more than GF-CF itself and is off by default.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_core.config import GraphFilterConfig, RankConfig
from recsys_core.models.base import Arrays, MemberLoader, family_array
from recsys_core.models.contributions import Contributions, from_item_rows, low_rank
from recsys_core.models.graph_product import GraphProduct
from recsys_core.models.spectrum import randomized_svd
from recsys_core.ranking.scorer import BlockScorer

log = logging.getLogger(__name__)


def _inverse_sqrt(degrees: np.ndarray) -> np.ndarray:
    return (np.where(degrees > 0, degrees, 1.0) ** -0.5).astype(np.float32)


def normalised_matrix(user_items: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
    """R̃ = D_U^-½ R D_I^-½ of a 0/1 users × items matrix (float32 CSR) and D_I^-½ (an item
    nobody has counts degree 1: it has no entry R̃ could scale). The graph filters' shared
    normalisation."""
    d_u = _inverse_sqrt(np.asarray(user_items.sum(axis=1)).ravel())
    d_i = _inverse_sqrt(np.asarray(user_items.sum(axis=0)).ravel())
    normalised = sp.diags(d_u) @ user_items @ sp.diags(d_i)
    return normalised.tocsr().astype(np.float32), d_i


def binary_pattern(user_items: sp.csr_matrix) -> sp.csr_matrix:
    """A users × items matrix's non-zero pattern as 0/1 float32 (a copy): what a graph
    filter is fitted on."""
    binary = user_items.tocsr().astype(np.float32, copy=True)
    binary.data[:] = 1.0
    return binary


def stand_in_vectors(n_items: int, rank: int) -> np.ndarray:
    """Seeded random items × ``rank`` vectors: an SVD's shape, for a stand-in that must
    score as fast as the fitted filter, not as well."""
    return np.random.default_rng(0).standard_normal((n_items, rank), dtype=np.float32)


# A graph filter's response: ``apply(signals, out)`` writes the filter's output for 0/1
# signal rows (users' items, or one item each) into ``out[:, :n_items]``.
SignalFilter = Callable[[sp.csr_matrix, np.ndarray], None]


def filter_scorer(
    apply: SignalFilter, user_items: sp.csr_matrix, rows: np.ndarray, bias: np.ndarray | None
) -> BlockScorer:
    """A graph filter's block scorer: the response to model rows ``rows`` of
    ``user_items`` (+ ``bias`` per item), a block at a time, for the shared top-k."""
    n_items = user_items.shape[1]

    def score(start: int, stop: int, out: np.ndarray) -> None:
        apply(user_items[rows[start:stop]], out)
        if bias is not None:
            out[:, :n_items] += bias

    return score


def filter_similar_items(apply: SignalFilter, items: np.ndarray, n_items: int) -> np.ndarray:
    """A graph filter's item–item operator: row ``i`` is the response of a user who has
    only item ``i``."""
    one_hot = sp.csr_matrix(
        (np.ones(len(items), np.float32), (np.arange(len(items)), items)),
        shape=(len(items), n_items),
    )
    out = np.empty((len(items), n_items), dtype=np.float32)
    apply(one_hot, out)
    return out


def pattern_arrays(user_items: sp.csr_matrix) -> dict[str, np.ndarray]:
    """A 0/1 matrix's npz entries: its pattern (indptr, indices) and shape."""
    return {
        "indptr": user_items.indptr,
        "indices": user_items.indices,
        "shape": np.array(user_items.shape),
    }


def pattern_from_arrays(data: Arrays) -> sp.csr_matrix:
    """The 0/1 matrix :func:`pattern_arrays` describes."""
    indices = data["indices"]
    return sp.csr_matrix(
        (np.ones(len(indices), np.float32), indices, data["indptr"]), shape=tuple(data["shape"])
    )


@dataclass(frozen=True, slots=True)
class GraphFilter:
    """A fitted GF-CF: row ``r`` of ``user_items`` (0/1) is dense user ``model_users[r]``."""

    family: ClassVar[str] = "graph_filter"
    user_items: sp.csr_matrix
    right: np.ndarray  # items × gf_rank
    ideal_weight: float
    model_users: np.ndarray
    sharpen_steps: int = 0
    sharpen_t: float = 0.0
    # The filter for item signals, built on the first block of similar items and kept.
    _built: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def n_items(self) -> int:
        return self.user_items.shape[1]

    def _normalised(self) -> tuple[sp.csr_matrix, np.ndarray]:
        return normalised_matrix(self.user_items)

    def _filter(self, transposed: bool = False) -> SignalFilter:
        """``apply(signals, out)``: the filter's response to 0/1 signal rows (users' items,
        or one item each), written into ``out[:, :n_items]``. The operator is
        (P̃ + α D^-½ V Vᵀ D^½) S with P̃ and the sharpening S symmetric; ``transposed``
        applies its transpose, S (P̃ + α D^½ V Vᵀ D^-½) (a one-hot row then gives an
        item's column)."""
        normalised, d_i = self._normalised()
        linear = GraphProduct(normalised)
        ideal_items = (self.right / d_i[:, None]).T.copy()  # V_kᵀ D_I^½
        users_ideal = sp.diags(d_i) @ self.right  # D_I^-½ V_k
        if transposed:
            ideal_items, users_ideal = users_ideal.T.copy(), ideal_items.T.copy()
        n_items = self.n_items

        def apply(signals: sp.csr_matrix, out: np.ndarray) -> None:
            if transposed and self.sharpen_steps:
                dense = sharpen(signals.toarray(), normalised, self.sharpen_steps, self.sharpen_t)
                signals = sp.csr_matrix(dense)
            # Written by the GEMM itself: no temporary block to copy.
            projected = np.float32(self.ideal_weight) * (signals @ users_ideal)
            np.matmul(projected, ideal_items, out=out[: signals.shape[0], :n_items])
            linear.add(sp.csr_matrix(signals, dtype=np.float32), out[:, :n_items])
            if self.sharpen_steps and not transposed:
                out[:, :n_items] = sharpen(
                    out[:, :n_items], normalised, self.sharpen_steps, self.sharpen_t
                )

        return apply

    def block_scorer(self, rows: np.ndarray, bias: np.ndarray | None = None) -> BlockScorer:
        """Scores of model rows ``rows`` (+ ``bias`` per item), for the shared top-k."""
        return filter_scorer(self._filter(), self.user_items, rows, bias)

    def similar_items(self, items: np.ndarray) -> np.ndarray:
        """The filter's item–item operator (:func:`filter_similar_items`)."""
        if "items" not in self._built:
            self._built["items"] = self._filter()
        return filter_similar_items(self._built["items"], items, self.n_items)

    def contributions(self, seen: sp.csr_matrix, items: np.ndarray) -> Contributions:
        """Exact: a user's score of item ``i`` is the sum over their items ``j`` of the
        operator's entry M[j, i]. Unsharpened, M = P̃ + α A Bᵀ (A = D_I^-½ V_k,
        B = D_I^½ V_k): P̃'s columns of the listed items from two sparse products, the
        low-rank part per (seen, listed) pair. Sharpened, the operator's columns whole."""
        if self.sharpen_steps:
            columns = self._filter(transposed=True)
            return from_item_rows(
                lambda codes: filter_similar_items(columns, codes, self.n_items), seen, items
            )
        normalised, d_i = self._normalised()
        by_item = normalised.tocsc()
        linear = from_item_rows(
            lambda codes: (by_item[:, codes].T @ normalised).toarray(), seen, items
        )
        left = (self.ideal_weight * d_i[:, None] * self.right).astype(np.float32)
        right = (self.right / d_i[:, None]).astype(np.float32)
        ideal = low_rank(left, right, seen, items)
        # Catalogue mean of P̃[j, i] · left[j]·right[i] per slot: (P̃ left)[i] · right[i].
        through = normalised.T @ (normalised @ left)
        distinct, position = np.unique(np.maximum(items, 0), return_inverse=True)
        cross = np.einsum("ij,ij->i", through[distinct], right[distinct], dtype=np.float64)
        cross = cross[position].reshape(items.shape) / max(self.n_items, 1)
        return linear.plus(ideal, cross)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The npz entries (no pickle): the 0/1 matrix as indptr/indices, V_k, the ideal
        weight, the users and the sharpening."""
        return {
            "family": family_array(self.family),
            **pattern_arrays(self.user_items),
            "right": self.right,
            "ideal_weight": np.array(self.ideal_weight),
            "model_users": self.model_users,
            "sharpen": np.array([self.sharpen_steps, self.sharpen_t], dtype=np.float64),
        }


def sharpen(scores: np.ndarray, normalised: sp.csr_matrix, steps: int, t: float) -> np.ndarray:
    """``scores · Σ_{j≤steps} (−t·P)^j / j!`` with P = R̃ᵀR̃, never forming P: each term is
    the previous one times R̃ᵀ then R̃ (sparse × dense products, rows = items)."""
    total = np.array(scores, dtype=np.float32)
    term = total
    for j in range(1, steps + 1):
        projected = normalised @ term.T  # users × block
        term = (normalised.T @ projected).T * np.float32(-t / j)
        total += term
    return total


def fit_graph_filter(
    user_items: sp.csr_matrix, config: GraphFilterConfig, model_users: np.ndarray
) -> GraphFilter:
    """ "Fit" GF-CF on a users × items matrix (its non-zero pattern counts as 1)."""
    started = time.perf_counter()
    binary = binary_pattern(user_items)
    normalised, _ = normalised_matrix(binary)
    _, right = randomized_svd(normalised, config.gf_rank, seed=config.random_state)
    log.info(
        "graph filter: rank-%d SVD of %s in %.1fs",
        right.shape[1],
        binary.shape,
        time.perf_counter() - started,
    )
    return _graph_filter(binary, right, config, model_users)


def _graph_filter(
    binary: sp.csr_matrix, right: np.ndarray, config: GraphFilterConfig, model_users: np.ndarray
) -> GraphFilter:
    """The filter of a 0/1 matrix with singular vectors ``right`` and ``config``'s knobs."""
    return GraphFilter(
        binary,
        right,
        config.gf_ideal_weight,
        np.asarray(model_users),
        config.gf_sharpen_steps,
        config.gf_sharpen_t,
    )


def stand_in(
    user_items: sp.csr_matrix, config: GraphFilterConfig, model_users: np.ndarray
) -> GraphFilter:
    """The filter with random singular vectors in place of its SVD: it scores as fast as
    the fitted one, for the night's budget to time before anything is fitted."""
    binary = binary_pattern(user_items)
    right = stand_in_vectors(binary.shape[1], min(config.gf_rank, *binary.shape))
    return _graph_filter(binary, right, config, model_users)


def from_arrays(data: Arrays, _load: MemberLoader | None = None) -> GraphFilter:
    """The model :meth:`GraphFilter.to_arrays` describes."""
    matrix = pattern_from_arrays(data)
    steps, t = data["sharpen"] if "sharpen" in data else (0, 0.0)  # older files: none
    return GraphFilter(
        matrix,
        data["right"],
        float(data["ideal_weight"]),
        data["model_users"],
        int(steps),
        float(t),
    )


def fit(
    user_items: sp.csr_matrix,
    config: GraphFilterConfig,
    model_users: np.ndarray,
    warm_from: GraphFilter | None = None,
) -> GraphFilter:
    """The registry's fit (nothing to warm-start: the SVD is exact up to its seed)."""
    return fit_graph_filter(user_items, config, model_users)


def popularity_weight(config: GraphFilterConfig, _rank: RankConfig) -> float:
    """GF-CF blends popularity on its own score scale (ALS's weight would swamp it)."""
    return config.gf_popularity_weight


def fit_knobs(config: GraphFilterConfig) -> GraphFilterConfig:
    """What the SVD depends on (its rank and seed): trials that differ in anything else
    share one fit (:func:`with_knobs` applies the rest)."""
    return GraphFilterConfig(gf_rank=config.gf_rank, random_state=config.random_state)


def with_knobs(model: GraphFilter, config: GraphFilterConfig) -> GraphFilter:
    """A fitted filter with ``config``'s ideal weight and sharpening."""
    return replace(
        model,
        ideal_weight=config.gf_ideal_weight,
        sharpen_steps=config.gf_sharpen_steps,
        sharpen_t=config.gf_sharpen_t,
    )


def without_sharpening(model: GraphFilter) -> GraphFilter:
    """The filter with its sharpening off (itself when it has none)."""
    return replace(model, sharpen_steps=0) if model.sharpen_steps else model
