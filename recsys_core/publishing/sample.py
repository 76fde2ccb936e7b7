"""A glance at what a published snapshot gives downstream: a few users' lists, a few items'
similar items and the fallback list (the run's artifact shows it)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recsys_core.columns import Columns
from recsys_core.io.storage import Store, as_store
from recsys_core.publishing.snapshot import (
    FALLBACK_FILE,
    RECOMMENDATIONS_FILE,
    SIMILAR_ITEMS_FILE,
    read_manifest,
)


def _first_keys(folder: Store, name: str, key: str, count: int) -> pa.Table:
    """The rows of the first ``count`` keys of a file sorted by ``key`` (its first row
    group holds them)."""
    with folder.fs.open_input_file(folder.path(name)) as handle:
        table = pq.ParquetFile(handle).read_row_group(0)
    keys = pc.unique(table.column(key)).slice(0, count)
    return table.filter(pc.is_in(table.column(key), value_set=keys))


def outputs_sample(
    snapshot: str, users: int = 3, items: int = 3, similar: int = 5
) -> dict[str, list[dict]]:
    """``users``' lists, ``items``' first ``similar`` similar items and the fallback list of
    the published snapshot at ``snapshot`` (what it lacks is left out), scores rounded."""
    folder = as_store(snapshot)
    manifest = read_manifest(folder) or {}
    sample = {"users": _first_keys(folder, RECOMMENDATIONS_FILE, Columns.USER_ID, users)}
    if folder.is_file(FALLBACK_FILE):
        with folder.fs.open_input_file(folder.path(FALLBACK_FILE)) as handle:
            sample["fallback"] = pq.read_table(handle)
    if manifest.get("similar_items"):
        dataset = as_store(manifest["similar_items"])
        table = _first_keys(dataset, SIMILAR_ITEMS_FILE, Columns.ITEM_ID, items)
        sample["similar items"] = table.filter(pc.less_equal(table[Columns.RANK], similar))
    return {
        name: [row | {Columns.SCORE: round(row[Columns.SCORE], 4)} for row in table.to_pylist()]
        for name, table in sample.items()
    }
