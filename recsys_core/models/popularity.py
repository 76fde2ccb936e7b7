"""The popularity family: every user gets the items most users have, minus their own.

The score of item ``i`` is ``log1p(popularity_i)``, popularity being the number of distinct
users with the item in the matrix it is fitted on. Its lists need no scoring of the
catalogue: :func:`~recsys_core.ranking.popular.top_k_popular` walks the popularity order.
It is the evaluation's baseline, and serves as a model of its own (``model: popularity``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recsys_core.config import RankConfig
from recsys_core.models.base import Arrays, MemberLoader, family_array
from recsys_core.models.contributions import Contributions, constant_per_item
from recsys_core.ranking.popular import item_popularity, popularity_bias
from recsys_core.ranking.scorer import BlockScorer


@dataclass(frozen=True, slots=True)
class Popularity:
    """Item popularity counted over ``model_users`` (every row scores alike)."""

    family: ClassVar[str] = "popularity"
    popularity: np.ndarray  # distinct users per item
    model_users: np.ndarray

    @property
    def n_items(self) -> int:
        return len(self.popularity)

    def block_scorer(self, rows: np.ndarray, bias: np.ndarray | None = None) -> BlockScorer:
        """The same row for every user (+ ``bias``)."""
        row = item_scores(self) if bias is None else item_scores(self) + bias
        n_items = self.n_items

        def score(start: int, stop: int, out: np.ndarray) -> None:
            out[:, :n_items] = row

        return score

    def similar_items(self, items: np.ndarray) -> np.ndarray:
        """Popularity knows no item–item relation: every item's similar items are the most
        popular ones."""
        return np.broadcast_to(item_scores(self), (len(items), self.n_items)).copy()

    def contributions(self, seen: sp.csr_matrix, items: np.ndarray) -> Contributions:
        """No seen item changes a popularity score: the user's most popular seen item is
        the one named."""
        return constant_per_item(item_scores(self), seen, items.shape[1])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The npz entries (``family`` included)."""
        return {
            "family": family_array(self.family),
            "popularity": self.popularity,
            "model_users": self.model_users,
        }


def item_scores(model: Popularity) -> np.ndarray:
    """``log1p(popularity)`` per item, float32: every user's scores."""
    return popularity_bias(model.popularity, 1.0)


def from_arrays(data: Arrays, _load: MemberLoader | None = None) -> Popularity:
    """The model :meth:`Popularity.to_arrays` describes."""
    return Popularity(data["popularity"], data["model_users"])


def fit(
    user_items: sp.csr_matrix,
    _config: None,
    model_users: np.ndarray,
    warm_from: Popularity | None = None,
) -> Popularity:
    """Count each item's distinct users (the matrix's non-zero pattern)."""
    return Popularity(item_popularity(user_items.tocsr()), np.asarray(model_users))


def popularity_weight(_config: None, _rank: RankConfig) -> float:
    """Its score is popularity already: no second popularity term."""
    return 0.0
