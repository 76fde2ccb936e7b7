"""The Chebyshev graph filter family (ChebyCF: Kim et al., SIGIR 2025), training-free.

With R the users × items training matrix as 0/1 (rows are users), d_i its column sums,
R̃ = D_U^-½ R D_I^-½ and P = R̃ᵀR̃ (spectrum in [0, 1]), a user's signal s over items is

- pre-scaled by d_i^-β and filtered by h(L̃), L̃ = I − 2P (spectrum in [−1, 1]; low
  frequencies, P's large eigenvalues, near −1), h a degree-K Chebyshev interpolation of a
  "plateau" low-pass response of flatness φ: h(L̃)s = Σ_k c_k T_k(L̃)s through the
  recurrence T_k = 2 L̃ T_{k−1} − T_{k−2}, each L̃ applied as two sparse products (the
  items × items P is never formed);
- plus α × an ideal low-pass s V Vᵀ on the top-η right singular vectors V of R̃;
- post-scaled by d_i^β.

``cheby_order`` K, ``cheby_flatness`` φ, ``cheby_ideal_rank`` η, ``cheby_ideal_weight`` α
and ``cheby_degree_power`` β default to the authors' Gowalla settings (8, 1.5, 512, 0.2,
0.4). "Fitting" is the SVD and K + 1 coefficients.

``cheby_form`` says how h(L̃) is applied. ``recurrence`` is the authors' form above: K pairs
of sparse products over a dense items-wide block, about 10x GF-CF's scoring. ``spectral``
(the default) uses the SVD it already has: h exactly on the top-η singular vectors, where
the plateau is, and h's tangent at λ = 0 on P's spectrum below them, where eigenvalues are
small, so one sparse pair on the signal itself and one GEMM. With η = every item the two
forms are one operator; on Gowalla's ordered validation split the spectral form scored
higher than the recurrence (README, "Models").
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_core.config import ChebyshevFilterConfig, RankConfig
from recsys_core.models.base import Arrays, MemberLoader, family_array
from recsys_core.models.chebyshev_kernel import Recurrence, sparse_times_dense
from recsys_core.models.contributions import Contributions, from_item_rows
from recsys_core.models.graph_filter import (
    SignalFilter,
    binary_pattern,
    filter_scorer,
    filter_similar_items,
    normalised_matrix,
    pattern_arrays,
    pattern_from_arrays,
    stand_in_vectors,
)
from recsys_core.models.graph_product import GraphProduct
from recsys_core.models.spectrum import randomized_svd
from recsys_core.ranking.scorer import BlockScorer

log = logging.getLogger(__name__)

# Signals filtered at a time inside a block: the recurrence keeps four items × this-many
# float32 arrays. Measured on Gowalla (benchmarks/chebyshev_kernel.py): 64 to 256 are within
# a few per cent of each other; 16 and 32 are slower (each step re-reads R̃'s indices).
SIGNAL_CHUNK = 128
# Item signals take the user-space form (:func:`gram_response`) when a model has at most
# this many users, and no more users than items: its users × users Gram matrix (float64)
# and eigendecomposition stay under a few seconds and 200 MB. The embedded sample (3,000
# users, 32,894 items): every item's similar items 33.8 s → 9.2 s.
GRAM_MAX_USERS = 4096
# Signals the user-space form filters at a time (one dense items-wide float32 row each),
# and the items its output is transposed in at a time.
GRAM_CHUNK = 1024
GRAM_TILE = 512


def plateau_response(order: int, flatness: float) -> np.ndarray:
    """The target response at x_j = cos((K − j)π/K), j = 0..K (x rounded to 3 decimals,
    the response too, as the authors do): 1 at x = −1 falling to 0.5 at x = 0 and 0 at
    x = 1, flatter the larger ``flatness``.

    Examples
    --------
    >>> plateau_response(2, 1.5).tolist()
    [1.0, 0.5, 0.0]
    """
    x = np.round(np.cos((order - np.arange(order + 1)) / order * np.pi), 3)
    response = np.where(x < 0, 0.5 + 0.5 * np.abs(x) ** flatness, 0.5 - 0.5 * np.abs(x) ** flatness)
    return np.round(response, 3)


def chebyshev_basis(x: np.ndarray, order: int) -> np.ndarray:
    """T_0(x) … T_K(x) as rows (the three-term recurrence)."""
    basis = [np.ones_like(x), x]
    for _ in range(2, order + 1):
        basis.append(2 * x * basis[-1] - basis[-2])
    return np.stack(basis[: order + 1])


def chebyshev_coefficients(order: int, flatness: float) -> np.ndarray:
    """c_0 … c_K interpolating :func:`plateau_response` at the K + 1 Chebyshev nodes
    cos((K + 1.5 − m)π/(K + 1)), m = 1..K+1 (ascending; the j-th response value is taken
    at the j-th node, as in the authors' construction).

    Examples
    --------
    >>> chebyshev_coefficients(1, 1.5).round(5).tolist()
    [0.5, -0.70711]
    >>> chebyshev_coefficients(2, 1.5).round(5).tolist()
    [0.5, -0.57735, 0.0]
    """
    if order < 1:
        raise ValueError(f"cheby_order must be >= 1, got {order}")
    nodes = np.cos((order + 1.5 - np.arange(1, order + 2)) / (order + 1) * np.pi)
    coefficients = chebyshev_basis(nodes, order) @ plateau_response(order, flatness)
    coefficients *= 2 / (order + 1)
    coefficients[0] /= 2
    return coefficients.astype(np.float64)


def polynomial_response(coefficients: np.ndarray, eigenvalues: np.ndarray) -> np.ndarray:
    """p(λ) = Σ_k c_k T_k(1 − 2λ): the filter's response to an eigenvalue λ of P = R̃ᵀR̃."""
    return chebyshev_basis(1 - 2 * eigenvalues, len(coefficients) - 1).T @ coefficients


def tail_tangent(coefficients: np.ndarray) -> tuple[float, float]:
    """(p(0), p'(0)): the response's tangent at λ = 0, which the spectral form applies to
    the spectrum below its top η eigenvalues (T_k'(1) = k², dx/dλ = −2).

    Examples
    --------
    >>> tail_tangent(np.array([0.5, -0.5]))  # p(λ) = λ
    (0.0, 1.0)
    """
    at_zero = float(polynomial_response(coefficients, np.zeros(1))[0])
    return at_zero, -2.0 * float(np.sum(coefficients * np.arange(len(coefficients)) ** 2))


def polynomial_quotient(coefficients: np.ndarray, eigenvalues: np.ndarray) -> np.ndarray:
    """q(λ) = (p(λ) − p(0)) / λ, so that p(R̃ᵀR̃) = p(0)·I + R̃ᵀ q(R̃R̃ᵀ) R̃ (each power
    (R̃ᵀR̃)^j, j ≥ 1, is R̃ᵀ (R̃R̃ᵀ)^(j−1) R̃); near λ = 0 its limit p'(0) = −2 Σ_k c_k k²
    (T_k'(1) = k²).

    Examples
    --------
    >>> c = np.array([0.5, -0.5])  # p(λ) = 0.5 − 0.5(1 − 2λ) = λ, so q = 1
    >>> polynomial_quotient(c, np.array([0.0, 0.25, 1.0])).tolist()
    [1.0, 1.0, 1.0]
    """
    eigenvalues = np.asarray(eigenvalues, dtype=np.float64)
    at_zero, derivative = tail_tangent(coefficients)
    small = np.abs(eigenvalues) < 1e-7
    safe = np.where(small, 1.0, eigenvalues)
    quotient = (polynomial_response(coefficients, eigenvalues) - at_zero) / safe
    return np.where(small, derivative, quotient)


def gram_response(
    normalised: sp.csr_matrix,
    coefficients: np.ndarray,
    right: np.ndarray,
    ideal_weight: float,
    post: np.ndarray,
):
    """``apply(signals, out)``: (Σ_k c_k T_k(L̃) + α V Vᵀ) applied to signal rows (float32
    CSR, b × items), each output column scaled by ``post``, written into ``out`` (b ×
    items). Computed in user space as p(0)·s + ((s R̃ᵀ) M) R̃ with G = R̃R̃ᵀ and

        M = q(G) + α Y Yᵀ,  Y = G⁺ R̃ V  (so R̃ᵀY is V: the SVD's vectors lie in R̃'s row space)

    One pair of sparse products per block, no items-wide recurrence and no items × η GEMM.
    Exact up to rounding; worth it when users are few (:data:`GRAM_MAX_USERS`)."""
    gram = (normalised @ normalised.T).toarray().astype(np.float64)
    eigenvalues, vectors = np.linalg.eigh(gram)
    inner = (vectors * polynomial_quotient(coefficients, eigenvalues)) @ vectors.T
    if ideal_weight and right.shape[1]:
        keep = eigenvalues > eigenvalues.max(initial=0.0) * 1e-9  # G's range: R̃'s row space
        basis = vectors[:, keep]
        in_users = basis.T @ (normalised @ right.astype(np.float64))
        lifted = (basis / eigenvalues[keep]) @ in_users
        inner += ideal_weight * lifted @ lifted.T
    inner = inner.astype(np.float32)
    constant = np.float32(polynomial_response(coefficients, np.zeros(1))[0])
    forward = normalised.T.tocsr()  # items × users: s R̃ᵀ
    backward = (sp.diags(post) @ normalised.T).tocsr()  # R̃ᵀ with ``post`` folded in
    # The product comes out items × signals: transposed into ``out`` a tile of items at a
    # time, in cache (measured on the sample's shape: 80 ms → 20 ms a block of 256).
    tiles = [
        (start, backward[start : start + GRAM_TILE])
        for start in range(0, backward.shape[0], GRAM_TILE)
    ]

    def apply(signals: sp.csr_matrix, out: np.ndarray) -> None:
        # s R̃ᵀ stays sparse (an item's few users): a sparse × dense product, never a GEMM.
        in_users = np.asarray((signals @ forward) @ inner, dtype=np.float32)
        columns = np.ascontiguousarray(in_users.T)
        for start, tile in tiles:
            out[:, start : start + tile.shape[0]] = (tile @ columns).T
        entries = signals.tocoo()
        out[entries.row, entries.col] += constant * entries.data * post[entries.col]

    return apply


def low_rank_into(
    signals: sp.csr_matrix,
    left: np.ndarray,
    right_t: np.ndarray,
    out: np.ndarray,
    scale: float = 1.0,
    add: bool = True,
) -> None:
    """out[r] += (scale · signals[r] @ left) @ right_t, :data:`SIGNAL_CHUNK` rows at a time
    (``add`` False: out[r] = …, written by the GEMM itself, with no pass to zero ``out``
    or to add a product into it).

    Each GEMM is always SIGNAL_CHUNK rows (zero-padded): a GEMM of another shape may round
    differently (FMA), and a user's figures must not depend on the rows scored beside it.
    ``left`` must be in C order: scipy's sparse × dense product copies any other layout
    (the SVD's vectors may load in Fortran order) on every call."""
    projected = np.zeros((SIGNAL_CHUNK, left.shape[1]), np.float32)
    for start in range(0, signals.shape[0], SIGNAL_CHUNK):
        stop = min(start + SIGNAL_CHUNK, signals.shape[0])
        projected[:] = 0
        projected[: stop - start] = signals[start:stop] @ left
        if scale != 1.0:
            projected *= np.float32(scale)
        if add:
            out[start:stop] += (projected @ right_t)[: stop - start]
        elif stop - start == SIGNAL_CHUNK:
            np.matmul(projected, right_t, out=out[start:stop])
        else:
            out[start:stop] = (projected @ right_t)[: stop - start]


def _degree_scales(degrees: np.ndarray, power: float) -> tuple[np.ndarray, np.ndarray]:
    """(d^-power, d^+power) per item, 0 for an item nobody has."""
    safe = np.where(degrees > 0, degrees, 1.0)
    present = degrees > 0
    return (
        np.where(present, safe**-power, 0.0).astype(np.float32),
        np.where(present, safe**power, 0.0).astype(np.float32),
    )


@dataclass(frozen=True, slots=True)
class ChebyshevFilter:
    """A fitted ChebyCF: row ``r`` of ``user_items`` (0/1) is dense user ``model_users[r]``."""

    family: ClassVar[str] = "chebyshev_filter"
    user_items: sp.csr_matrix
    coefficients: np.ndarray  # c_0 … c_K
    right: np.ndarray  # items × η
    ideal_weight: float
    degree_power: float
    model_users: np.ndarray
    form: str = "spectral"  # ChebyshevForm
    # The filter for item signals, built on the first block and kept (not saved; a
    # replace() starts without it, so a model with other knobs never reuses it).
    _built: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def n_items(self) -> int:
        return self.user_items.shape[1]

    def _scales(self, transposed: bool) -> tuple[np.ndarray, np.ndarray]:
        """(pre, post): the item scalings around the filter, d^-β before and d^β after;
        swapped for the transpose."""
        degrees = np.asarray(self.user_items.sum(axis=0)).ravel()
        pre, post = _degree_scales(degrees, self.degree_power)
        return (post, pre) if transposed else (pre, post)

    def _filter(self, transposed: bool = False) -> SignalFilter:
        """``apply(signals, out)``: the filter's response to 0/1 signal rows, written into
        ``out[:, :n_items]``, in the model's form. The operator is D^-β M D^β with M
        symmetric; ``transposed`` applies its transpose, D^β M D^-β (a one-hot row then
        gives an item's column)."""
        if self.form == "spectral":
            return self._spectral_filter(transposed)
        return self._recurrence_filter(transposed)

    def _recurrence_filter(self, transposed: bool = False) -> SignalFilter:
        """M = Σ_k c_k T_k(L̃) + α V Vᵀ through the recurrence, a dense block of signals at
        a time."""
        normalised, _ = normalised_matrix(self.user_items)
        recurrence = Recurrence(normalised)
        pre, post = self._scales(transposed)
        n_items = self.n_items
        ideal = self.ideal_weight and self.right.shape[1]
        right = np.ascontiguousarray(self.right)  # see low_rank_into

        def apply(signals: sp.csr_matrix, out: np.ndarray) -> None:
            scaled = signals.multiply(pre[None, :]).tocsr().astype(np.float32)
            block = np.zeros((n_items, SIGNAL_CHUNK), np.float32)
            for start in range(0, scaled.shape[0], SIGNAL_CHUNK):
                stop = min(start + SIGNAL_CHUNK, scaled.shape[0])
                # Always SIGNAL_CHUNK wide (zero-padded), so every user goes through the
                # kernels' vector body and the same GEMM: a compiled loop's scalar remainder
                # or a GEMM of another shape may round differently (FMA), and a user's
                # figures must not depend on its block.
                block[:] = 0
                block[:, : stop - start] = scaled[start:stop].toarray().T
                total = recurrence.filter(block, self.coefficients)
                out[start:stop, :n_items] = total[:, : stop - start].T
            if ideal:
                low_rank_into(scaled, right, right.T, out[:, :n_items], self.ideal_weight)
            out[: scaled.shape[0], :n_items] *= post

        return apply

    def _spectral_filter(self, transposed: bool = False) -> SignalFilter:
        """M = a·I + b·P + V diag(α + p(λ) − a − bλ) Vᵀ: the polynomial exact on the top-η
        singular vectors V, its tangent a + bλ at 0 (:func:`tail_tangent`) on the spectrum
        below them, where P's eigenvalues are small. One pair of sparse products on the
        signal itself (:class:`GraphProduct`, never a dense block) and one GEMM of rank η.
        λ_j = ‖R̃ v_j‖², the Rayleigh quotient of each (approximate) singular vector; with
        η = every item the tail is empty and M is the recurrence's operator exactly."""
        normalised, _ = normalised_matrix(self.user_items)
        pre, post = self._scales(transposed)
        right = self.right.astype(np.float64)
        projected = sparse_times_dense(normalised, self.right)
        eigenvalues = np.square(projected).sum(axis=0, dtype=np.float64)
        a, b = tail_tangent(self.coefficients)
        response = polynomial_response(self.coefficients, eigenvalues)
        diagonal = self.ideal_weight + response - a - b * eigenvalues
        weighted = np.ascontiguousarray(right * diagonal, dtype=np.float32)  # see low_rank_into
        # The output scaling d^β folded into each term, so nothing passes over the block
        # again: into the GEMM's right factor, the sparse pair's output and the identity's.
        right_t = np.ascontiguousarray(self.right.T * post[None, :], dtype=np.float32)
        linear = GraphProduct(normalised)
        n_items = self.n_items

        def apply(signals: sp.csr_matrix, out: np.ndarray) -> None:
            scaled = signals.multiply(pre[None, :]).tocsr().astype(np.float32)
            rows = scaled.shape[0]
            low_rank_into(scaled, weighted, right_t, out[:rows, :n_items], add=False)
            linear.add(scaled, out[:rows, :n_items], b, post)
            entries = scaled.tocoo()
            out[entries.row, entries.col] += np.float32(a) * entries.data * post[entries.col]

        return apply

    def _gram_filter(self, transposed: bool = False) -> SignalFilter:
        """:meth:`_filter`'s response computed in user space (:func:`gram_response`)."""
        normalised, _ = normalised_matrix(self.user_items)
        pre, post = self._scales(transposed)
        response = gram_response(normalised, self.coefficients, self.right, self.ideal_weight, post)
        n_items = self.n_items

        def apply(signals: sp.csr_matrix, out: np.ndarray) -> None:
            scaled = signals.multiply(pre[None, :]).tocsr().astype(np.float32)
            for start in range(0, scaled.shape[0], GRAM_CHUNK):
                part = scaled[start : start + GRAM_CHUNK]
                response(part, out[start : start + part.shape[0], :n_items])

        return apply

    def _item_filter(self, transposed: bool = False) -> SignalFilter:
        """The filter for one-hot item signals (similar items, contributions), which come
        a block at a time: built on the first block and kept, since building it (R̃, the
        eigenvalues, the kernels' arrays) costs more than filtering a block. With few users
        (:data:`GRAM_MAX_USERS`, no more than items) the recurrence takes its user-space
        form (the spectral form is already one sparse pair per signal)."""
        if transposed not in self._built:
            users, items = self.user_items.shape
            few_users = users <= GRAM_MAX_USERS and users <= items
            gram = self.form == "recurrence" and few_users
            build = self._gram_filter if gram else self._filter
            self._built[transposed] = build(transposed)
        return self._built[transposed]

    def block_scorer(self, rows: np.ndarray, bias: np.ndarray | None = None) -> BlockScorer:
        """Scores of model rows ``rows`` (+ ``bias`` per item), for the shared top-k."""
        return filter_scorer(self._filter(), self.user_items, rows, bias)

    def similar_items(self, items: np.ndarray) -> np.ndarray:
        """The filter's item–item operator: row ``i`` is the scores of a user who has only
        item ``i``."""
        return filter_similar_items(self._item_filter(), items, self.n_items)

    def contributions(self, seen: sp.csr_matrix, items: np.ndarray) -> Contributions:
        """Exact: a user's score of item ``i`` is the sum over their items ``j`` of the
        operator's entry (j, i): the operator's column ``i``, one listed item at a time
        (a polynomial of the operator has no cheaper per-pair form)."""
        columns = self._item_filter(transposed=True)
        return from_item_rows(
            lambda codes: filter_similar_items(columns, codes, self.n_items), seen, items
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The npz entries (no pickle)."""
        return {
            "family": family_array(self.family),
            **pattern_arrays(self.user_items),
            "coefficients": self.coefficients,
            "right": self.right,
            "ideal_weight": np.array(self.ideal_weight),
            "degree_power": np.array(self.degree_power),
            "model_users": self.model_users,
            "form": np.array(self.form),
        }


def from_arrays(data: Arrays, _load: MemberLoader | None = None) -> ChebyshevFilter:
    """The model :meth:`ChebyshevFilter.to_arrays` describes."""
    return ChebyshevFilter(
        pattern_from_arrays(data),
        data["coefficients"],
        data["right"],
        float(data["ideal_weight"]),
        float(data["degree_power"]),
        data["model_users"],
        # A model saved before the spectral form existed was scored by the recurrence.
        str(data["form"]) if "form" in data else "recurrence",
    )


def fit(
    user_items: sp.csr_matrix,
    config: ChebyshevFilterConfig,
    model_users: np.ndarray,
    warm_from: ChebyshevFilter | None = None,
) -> ChebyshevFilter:
    """ "Fit" on a users × items matrix (its non-zero pattern counts as 1): the SVD of R̃
    (skipped when neither the ideal low-pass nor the spectral form needs it) and the K + 1
    coefficients."""
    started = time.perf_counter()
    binary = binary_pattern(user_items)
    right = np.zeros((binary.shape[1], 0), np.float32)
    if _needs_svd(config) and config.cheby_ideal_rank:
        normalised, _ = normalised_matrix(binary)
        _, right = randomized_svd(normalised, config.cheby_ideal_rank, seed=config.random_state)
    model = _chebyshev_filter(binary, right, config, model_users)
    log.info(
        "chebyshev filter: order %d, rank-%d ideal pass of %s in %.1fs",
        config.cheby_order,
        right.shape[1],
        binary.shape,
        time.perf_counter() - started,
    )
    return model


def stand_in(
    user_items: sp.csr_matrix, config: ChebyshevFilterConfig, model_users: np.ndarray
) -> ChebyshevFilter:
    """The filter with random singular vectors in place of its SVD: it scores as fast as
    the fitted one, for the night's budget to time before anything is fitted."""
    binary = binary_pattern(user_items)
    rank = min(config.cheby_ideal_rank, *binary.shape) if _needs_svd(config) else 0
    return _chebyshev_filter(binary, stand_in_vectors(binary.shape[1], rank), config, model_users)


def _needs_svd(config: ChebyshevFilterConfig) -> bool:
    """The ideal low-pass and the spectral form are the SVD's two users."""
    return bool(config.cheby_ideal_weight) or config.cheby_form == "spectral"


def _chebyshev_filter(
    binary: sp.csr_matrix,
    right: np.ndarray,
    config: ChebyshevFilterConfig,
    model_users: np.ndarray,
) -> ChebyshevFilter:
    """The filter of a 0/1 matrix with singular vectors ``right`` and ``config``'s knobs."""
    return ChebyshevFilter(
        binary,
        chebyshev_coefficients(config.cheby_order, config.cheby_flatness),
        right,
        config.cheby_ideal_weight,
        config.cheby_degree_power,
        np.asarray(model_users),
        config.cheby_form,
    )


def popularity_weight(config: ChebyshevFilterConfig, _rank: RankConfig) -> float:
    """Popularity blended on the filter's own score scale."""
    return config.cheby_popularity_weight


def fit_knobs(config: ChebyshevFilterConfig) -> ChebyshevFilterConfig:
    """What the SVD depends on (its rank and seed, and whether it is needed): trials that
    differ in anything else share one fit (:func:`with_knobs` applies the rest)."""
    return ChebyshevFilterConfig(
        cheby_ideal_rank=config.cheby_ideal_rank,
        cheby_ideal_weight=1.0 if _needs_svd(config) else 0.0,
        cheby_form="spectral" if _needs_svd(config) else "recurrence",
        random_state=config.random_state,
    )


def with_knobs(model: ChebyshevFilter, config: ChebyshevFilterConfig) -> ChebyshevFilter:
    """A fitted filter with ``config``'s order, flatness, ideal weight, degree power and form."""
    return replace(
        model,
        coefficients=chebyshev_coefficients(config.cheby_order, config.cheby_flatness),
        ideal_weight=config.cheby_ideal_weight,
        degree_power=config.cheby_degree_power,
        form=config.cheby_form,
    )
