"""The ensemble family: a per-user z-score blend of fitted models of other families.

Each member's scores are standardised per user over the whole catalogue (mean 0, standard
deviation 1: ALS dot products and graph-filter scores live on unrelated scales), weighted,
summed, and a popularity term ``popularity_weight · log1p(train popularity)`` is added:

    s(u, i) = Σ_m w_m · z_m(u, i) + popularity_weight · log1p(pop_i)

The weights and popularity weight are chosen on validation
(:mod:`recsys_core.models.blend_choice`); the members are fitted by their own families.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_core.config import EnsembleConfig, RankConfig
from recsys_core.models.base import Arrays, MemberLoader, Model, family_array
from recsys_core.models.contributions import Contributions
from recsys_core.models.zscore import add_standardised, standardise_rows
from recsys_core.ranking.scorer import BlockScorer


@dataclass(frozen=True, slots=True)
class Ensemble:
    """Members (fitted on the same users) blended by ``weights``; ``popularity_term`` is
    the per-item term added to the blend (``popularity_weight · log1p(popularity)``)."""

    family: ClassVar[str] = "ensemble"
    members: tuple[Model, ...]
    weights: tuple[float, ...]
    popularity_term: np.ndarray

    def __post_init__(self) -> None:
        if len(self.members) != len(self.weights) or not self.members:
            raise ValueError("an ensemble needs one weight per member, and a member")
        users = self.members[0].model_users
        if any(not np.array_equal(m.model_users, users) for m in self.members[1:]):
            raise ValueError("ensemble members must be fitted on the same users")

    @property
    def model_users(self) -> np.ndarray:
        return self.members[0].model_users

    @property
    def n_items(self) -> int:
        return self.members[0].n_items

    def block_scorer(self, rows: np.ndarray, bias: np.ndarray | None = None) -> BlockScorer:
        """Blended scores of model rows ``rows`` (+ ``bias`` per item): each member scores
        the block, the first into the output buffer, the others into one reused scratch
        buffer."""
        scorers = [member.block_scorer(rows) for member in self.members]
        n_items = self.n_items
        term = self.popularity_term if bias is None else self.popularity_term + bias
        local = threading.local()  # one scratch buffer per scoring thread

        def score(start: int, stop: int, out: np.ndarray) -> None:
            blended = out[:, :n_items]
            for number, (scorer, weight) in enumerate(zip(scorers, self.weights, strict=True)):
                if number == 0:
                    scorer(start, stop, out)
                    standardise_rows(blended, weight)
                    continue
                if getattr(local, "scratch", None) is None or len(local.scratch) < len(out):
                    local.scratch = np.empty(out.shape, dtype=np.float32)
                part = local.scratch[: len(out)]
                scorer(start, stop, part)
                add_standardised(part[:, :n_items], blended, weight)
            blended += term

        return score

    def similar_items(self, items: np.ndarray) -> np.ndarray:
        """The members' item–item similarities blended like their scores (no popularity
        term)."""
        blended = None  # the first member's block, standardised in place: no extra block
        for member, weight in self._weighted():
            part = np.asarray(member.similar_items(items), dtype=np.float32)
            if blended is None:
                standardise_rows(part, weight)
                blended = part
            else:
                add_standardised(part, blended, weight)
        if blended is None:
            return np.zeros((len(items), self.n_items), dtype=np.float32)
        return blended

    def contributions(self, seen: sp.csr_matrix, items: np.ndarray) -> Contributions:
        """The members' contributions, each standardised over the catalogue per listed
        item, weighted and summed, like their scores. The blend is standardised already:
        reported with mean 0 and mean square 1 (an ensemble is never a member)."""
        values = np.zeros((seen.nnz, items.shape[1]), dtype=np.float32)
        for member, weight in self._weighted():
            values += member.contributions(seen, items).standardised(seen, weight)
        shape = items.shape
        return Contributions(values, np.zeros(shape), np.ones(shape))

    def _weighted(self) -> list[tuple[Model, float]]:
        """The members with a non-zero weight (a zero-weight member adds nothing: its rows
        are never computed), and their weights."""
        return [(m, w) for m, w in zip(self.members, self.weights, strict=True) if w != 0]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The npz entries: the weights, the popularity term and each member's entries
        prefixed ``m<number>.``."""
        arrays = {
            "family": family_array(self.family),
            "weights": np.array(self.weights, dtype=np.float64),
            "popularity_term": self.popularity_term,
        }
        for number, member in enumerate(self.members):
            arrays.update({f"m{number}.{k}": v for k, v in member.to_arrays().items()})
        return arrays


def from_arrays(data: Arrays, load: MemberLoader) -> Ensemble:
    """The model :meth:`Ensemble.to_arrays` describes; ``load`` reads each member."""
    weights = tuple(float(w) for w in data["weights"])
    members = tuple(
        load({k.split(".", 1)[1]: v for k, v in data.items() if k.startswith(f"m{number}.")})
        for number in range(len(weights))
    )
    return Ensemble(members, weights, data["popularity_term"])


def popularity_weight(_config: EnsembleConfig, _rank: RankConfig) -> float:
    """The model file carries its own popularity term: the ranking adds none."""
    return 0.0
