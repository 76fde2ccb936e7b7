"""The one interface every model family implements, at the bottom of the model layer.

A family is one module: a frozen model class satisfying :class:`Model` (fit elsewhere in
that module on a users × items matrix) and its entry in :mod:`recsys_core.models.registry`.
Rows of every matrix here are users, columns items (``user_items``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar, Protocol

import numpy as np
import scipy.sparse as sp

from recsys_core.models.contributions import Contributions
from recsys_core.ranking.scorer import BlockScorer

# A model file's entries (npz, no pickle): what ``to_arrays`` returns and a loader reads.
Arrays = Mapping[str, np.ndarray]


class Model(Protocol):
    """A fitted model of any family.

    - ``model_users``: row ``r`` of its scores is dense user ``model_users[r]`` (sorted);
    - ``block_scorer(rows, bias)``: fills a buffer with the scores of those model rows over
      every item (+ ``bias`` per item), for the shared top-k (:mod:`recsys_core.ranking`);
    - ``similar_items(items)``: the family's item–item similarity of a block of items
      (items × ``n_items``, higher is more similar);
    - ``contributions(seen, items)``: for users ``seen`` (CSR rows) and their lists
      ``items`` (users × k), how much each seen item adds to each listed item's score
      (what a "because you have j" explanation ranks by; :mod:`.contributions`);
    - ``to_arrays()``: its npz entries, ``family`` included.
    """

    family: ClassVar[str]

    @property
    def model_users(self) -> np.ndarray: ...

    @property
    def n_items(self) -> int: ...

    def block_scorer(self, rows: np.ndarray, bias: np.ndarray | None = None) -> BlockScorer: ...

    def similar_items(self, items: np.ndarray) -> np.ndarray: ...

    def contributions(self, seen: sp.csr_matrix, items: np.ndarray) -> Contributions: ...

    def to_arrays(self) -> dict[str, np.ndarray]: ...


# Reads a nested model's entries (an ensemble's members) back into a model.
MemberLoader = Callable[[Arrays], Model]


def family_array(name: str) -> np.ndarray:
    """The ``family`` entry of a model file."""
    return np.array(name)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` scaled to unit length per row (a zero row stays zero), float32."""
    norms = np.linalg.norm(vectors, axis=1)
    return (vectors / np.where(norms > 0, norms, 1.0)[:, None]).astype(np.float32)
