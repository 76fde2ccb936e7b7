"""Similar-items lists: for each item, the top-k other items by the serving model's
item–item similarity (:meth:`recsys_core.models.base.Model.similar_items`), through the
same blocked top-k as the user lists."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from recsys_core.columns import Columns
from recsys_core.models.base import Model
from recsys_core.ranking.scorer import banning
from recsys_core.ranking.topk import top_k_scored
from recsys_core.scoring.batch import NOTHING_BANNED, Lists, long_table

SIMILAR_ITEM_ID = "similar_item_id"
# Rows per similarity block: an ensemble builds each member's items × catalogue block.
SIMILAR_BLOCK = 256


def similar_lists(
    model: Model,
    queries: np.ndarray,
    k: int,
    banned: np.ndarray = NOTHING_BANNED,
    block_size: int = SIMILAR_BLOCK,
) -> Lists:
    """Top ``k`` items by similarity to each of ``queries`` (item codes): never the item
    itself, never a ``banned`` item."""
    n_items = model.n_items

    def score(start: int, stop: int, out: np.ndarray) -> None:
        out[:, :n_items] = model.similar_items(queries[start:stop])

    self_pairs = sp.csr_matrix(
        (np.ones(len(queries), dtype=np.float32), (np.arange(len(queries)), queries)),
        shape=(len(queries), n_items),
    )
    return top_k_scored(
        banning(score, banned),
        len(queries),
        n_items,
        np.zeros(n_items, dtype=np.float32),
        [self_pairs],
        k,
        block_size=block_size,
        label="similar items",
        unit="items",
    )[0]


def similar_items_table(lists: Lists, queries: np.ndarray, item_ids: pa.Array) -> pa.Table:
    """``item_id, similar_item_id, rank (1..k), score``, sorted by item then rank."""
    items, scores = lists
    keys = item_ids.take(pa.array(queries))
    return long_table(items, scores, keys, item_ids, Columns.ITEM_ID, SIMILAR_ITEM_ID)
