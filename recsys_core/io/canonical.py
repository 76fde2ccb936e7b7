"""Canonical interactions: dense user/item indices that follow sorted external ids.

Files written by :func:`write_canonical` into one folder:

- ``interactions.parquet``: ``user_index`` int32, ``item_index`` int32, ``weight`` float32,
  ``position`` int64 (file order) and ``timestamp`` when the input had one; rows sorted by
  interaction order (timestamp, then file order).
- ``users.parquet`` / ``items.parquet``: ``user_index``/``item_index`` ↔ ``user_id``/``item_id``
  (external ids, type as in the input), sorted by index.

Sorting ids makes dense indices match seed 000's (and so ALS's random start).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recsys_core.columns import Columns

INTERACTIONS_FILE = "interactions.parquet"
USERS_FILE = "users.parquet"
ITEMS_FILE = "items.parquet"


@dataclass(frozen=True, slots=True)
class Canonical:
    """Canonical interactions plus the two id maps."""

    interactions: pa.Table
    users: pa.Table
    items: pa.Table

    @property
    def n_users(self) -> int:
        return self.users.num_rows

    @property
    def n_items(self) -> int:
        return self.items.num_rows


def _dense_index(ids: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Sorted unique ids and each row's index into them."""
    uniques = pc.unique(ids)
    ordered = pc.take(uniques, pc.sort_indices(uniques))
    index = pc.index_in(ids, value_set=ordered).to_numpy(zero_copy_only=False)
    return ordered, index.astype(np.int32)


def build_canonical(rows: pa.Table) -> Canonical:
    """Index a reader's rows densely and order them by interaction time."""
    user_ids, user_index = _dense_index(rows.column(Columns.USER_ID).combine_chunks())
    item_ids, item_index = _dense_index(rows.column(Columns.ITEM_ID).combine_chunks())
    columns = {
        Columns.USER_INDEX: pa.array(user_index),
        Columns.ITEM_INDEX: pa.array(item_index),
        Columns.WEIGHT: rows.column(Columns.WEIGHT),
        Columns.POSITION: rows.column(Columns.POSITION),
    }
    if Columns.TIMESTAMP in rows.column_names:
        columns[Columns.TIMESTAMP] = rows.column(Columns.TIMESTAMP)
    interactions = pa.table(columns)
    if Columns.TIMESTAMP in rows.column_names:
        interactions = interactions.sort_by(
            [(Columns.TIMESTAMP, "ascending"), (Columns.POSITION, "ascending")]
        )
    users = pa.table(
        {
            Columns.USER_INDEX: pa.array(np.arange(len(user_ids), dtype=np.int32)),
            Columns.USER_ID: user_ids,
        }
    )
    items = pa.table(
        {
            Columns.ITEM_INDEX: pa.array(np.arange(len(item_ids), dtype=np.int32)),
            Columns.ITEM_ID: item_ids,
        }
    )
    return Canonical(interactions=interactions, users=users, items=items)


def write_canonical(canonical: Canonical, folder: str | Path) -> None:
    """Write the three canonical files into ``folder`` (created if missing)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(canonical.interactions, folder / INTERACTIONS_FILE)
    pq.write_table(canonical.users, folder / USERS_FILE)
    pq.write_table(canonical.items, folder / ITEMS_FILE)


def read_canonical(folder: str | Path) -> Canonical:
    """Read what :func:`write_canonical` wrote."""
    folder = Path(folder)
    return Canonical(
        interactions=pq.read_table(folder / INTERACTIONS_FILE),
        users=pq.read_table(folder / USERS_FILE),
        items=pq.read_table(folder / ITEMS_FILE),
    )
