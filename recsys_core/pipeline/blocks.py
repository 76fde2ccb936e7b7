"""Evaluation and scoring split into user blocks: one step per block, then a merge.

Each block step ranks a contiguous range of users and writes its own part (``lists.npz``
for evaluation, ``part.parquet`` for serving) in its own step folder, so a block that
finished survives a killed run and blocks can run on different machines (a Dask cluster:
every worker must see the work folder). The merge steps write exactly what the one-block
steps ``evaluate`` and ``score`` write, to the bit: every user's list depends only on
that user's row, and blocks start on the ranking's tiles (:func:`user_blocks`), so each
GEMM is the very call the one-block run makes.

A process that runs many blocks reads the model, the split and the id maps once (the
``once_per_process`` loaders): a Dask worker loads the model once, not with every block.
"""

from __future__ import annotations

import functools
import math
import os
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from recsys_core.columns import Columns
from recsys_core.config import EvalProtocol, RankConfig
from recsys_core.data.matrices import read_split
from recsys_core.errors import InputError
from recsys_core.evaluation.protocol import (
    EvaluatedView,
    check_model_users,
    evaluated_view,
    metric_tables,
    model_lists,
    part_exclusions,
)
from recsys_core.io.atomic import sha256_file
from recsys_core.io.canonical import ITEMS_FILE, USERS_FILE
from recsys_core.io.exclusions import NO_EXCLUSIONS, Exclusions, match_items, read_excluded_ids
from recsys_core.io.workdir import (
    FULL_MATRIX_FILE,
    MODEL_FILE,
    RECOMMENDATIONS_FILE,
    SPLIT_FILE,
    read_summary,
)
from recsys_core.models.base import Model
from recsys_core.models.registry import load_model
from recsys_core.publishing.snapshot import write_recommendations
from recsys_core.ranking.tiles import tile_alignment
from recsys_core.scoring.batch import NOTHING_BANNED, recommendations_table, score_all_users
from recsys_core.scoring.explain import because_items

# Dask's automatic block count: one block per this many users (and at least two), so a
# block's lists and buffers stay small next to the model each worker holds.
USERS_PER_BLOCK = 50_000
EVAL_PARTS = ("validation", "test")
LISTS_FILE = "lists.npz"
PART_FILE = "part.parquet"

T = TypeVar("T")


def user_blocks(n_users: int, count: int, align: int = 1) -> list[tuple[int, int]]:
    """``count`` contiguous, near-equal ``(start, stop)`` ranges covering ``n_users`` rows,
    every start a multiple of ``align`` (some are empty when there are fewer aligned
    pieces than blocks).

    The block steps align to the ranking's tiles (:func:`block_range`).

    Examples
    --------
    >>> user_blocks(10, 3), user_blocks(2500, 3, align=1024)
    ([(0, 3), (3, 7), (7, 10)], [(0, 1024), (1024, 2048), (2048, 2500)])
    """
    count = max(1, count)
    edges = np.round(np.linspace(0, n_users / max(1, align), count + 1)).astype(np.int64) * align
    edges = np.minimum(edges, n_users)
    edges[-1] = n_users
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def block_range(n_users: int, block: tuple[int, int], config: RankConfig) -> tuple[int, int]:
    """Users ``(start, stop)`` of block ``block = (index, count)``, starting on
    :func:`~recsys_core.ranking.topk.tile_alignment`: the block then scores in the whole run's
    tiles, so its scores are the one-block run's to the bit."""
    index, count = block
    return user_blocks(n_users, count, tile_alignment(config.block_size))[index]


def worker_name() -> str:
    """``host/pid`` of the process running a block (a block's summary says where it ran)."""
    return f"{socket.gethostname()}/{os.getpid()}"


def block_count(n_users: int, requested: int) -> int:
    """``requested`` blocks, or for 0 one per :data:`USERS_PER_BLOCK` users (at least 2)."""
    if requested < 0:
        raise ValueError(f"user_blocks must be >= 0, got {requested}")
    return requested or max(2, math.ceil(n_users / USERS_PER_BLOCK))


def once_per_process(load: Callable[..., T]) -> Callable[..., T]:
    """``load(path, *args)`` remembered for the file as it is now (path, size, mtime)."""

    @functools.lru_cache(maxsize=2)
    def cached(path: str, stamp: tuple[int, int], *args: object) -> T:
        return load(path, *args)

    @functools.wraps(load)
    def get(path: str | Path, *args: object) -> T:
        info = Path(path).stat()
        return cached(str(Path(path).resolve()), (info.st_size, info.st_mtime_ns), *args)

    get.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return get


@once_per_process
def _model(path: str) -> Model:
    return load_model(path)[0]


@once_per_process
def _view(path: str, protocol: EvalProtocol, max_users: int) -> tuple[EvaluatedView, tuple]:
    """The evaluated view and its exclusions (:func:`part_exclusions`), built once: the
    standard protocol's test exclusion is a sum over every evaluated user."""
    view = evaluated_view(read_split(path), protocol, max_users)
    return view, part_exclusions(view, protocol, EVAL_PARTS)


@once_per_process
def _seen(path: str) -> sp.csr_matrix:
    return sp.load_npz(path).tocsr()


@once_per_process
def _column(path: str, name: str) -> pa.Array:
    return pq.read_table(path, columns=[name]).column(name).combine_chunks()


def id_maps(ingest_dir: str | Path) -> tuple[pa.Array, pa.Array]:
    """External user and item ids by row (the ingest's id maps)."""
    users = _column(Path(ingest_dir) / USERS_FILE, Columns.USER_ID)
    return users, _column(Path(ingest_dir) / ITEMS_FILE, Columns.ITEM_ID)


def load_exclusions(exclusions: Mapping[str, str] | None, ingest_dir: str | Path) -> Exclusions:
    """The run's banned items (``exclusions``: the plan's ``path`` and ``sha256`` of the
    exclusion file) as catalogue codes; None: nothing excluded. The file must still hold
    what the run was keyed on."""
    if not exclusions:
        return NO_EXCLUSIONS
    path = exclusions["path"]
    if sha256_file(Path(path)) != exclusions["sha256"]:
        raise InputError(
            exclusions.get("source", path),
            "an exclusion file that does not change while the run reads it",
            got="different content than when the run started",
            hint="write it elsewhere and rename it into place",
        )
    return match_items(path, read_excluded_ids(path), id_maps(ingest_dir)[1])


def evaluate_block_step(
    staging: Path,
    *,
    split_dir: str,
    train_dir: str,
    config: RankConfig,
    protocol: EvalProtocol,
    block: tuple[int, int],
    evaluate_users: int = 0,
) -> dict:
    """Block ``block = (index, count)`` of the evaluated users → the model's lists.npz."""
    view, (excludes, _) = _view(Path(split_dir) / SPLIT_FILE, protocol, evaluate_users)
    model = _model(Path(train_dir) / MODEL_FILE)
    check_model_users(view, model)
    start, stop = block_range(len(view.rows), block, config)
    lists = model_lists(view, model, config, excludes, (start, stop))
    np.savez(staging / LISTS_FILE, **{f"lists_{i}": items for i, items in enumerate(lists)})
    return {"start": start, "stop": stop, "worker": worker_name()}


def evaluate_merge_step(
    staging: Path,
    *,
    split_dir: str,
    block_dirs: list[str],
    config: RankConfig,
    protocol: EvalProtocol,
    evaluate_users: int = 0,
) -> dict:
    """The blocks' lists, in order → the metrics the one-block ``evaluate`` step reports."""
    view, exclusions = _view(Path(split_dir) / SPLIT_FILE, protocol, evaluate_users)
    parts = []
    for folder in block_dirs:
        with np.load(Path(folder) / LISTS_FILE, allow_pickle=False) as data:
            parts.append([data[f"lists_{i}"] for i in range(len(data.files))])
    lists = [np.concatenate(block) for block in zip(*parts, strict=True)]
    if len(lists[0]) != len(view.rows):
        raise ValueError(f"the blocks hold {len(lists[0])} users, the split {len(view.rows)}")
    return {"metrics": metric_tables(view, protocol, exclusions, lists, config.top_k)}


def scored_table(
    seen: sp.csr_matrix,
    model: Model,
    config: RankConfig,
    ids: tuple[pa.Array, pa.Array],
    span: tuple[int, int] | None = None,
    banned: np.ndarray = NOTHING_BANNED,
    explain: bool = False,
) -> pa.Table:
    """The recommendations table of the users in ``span`` (``(start, stop)``; all: None),
    without the ``banned`` items; ``explain`` adds each row's ``because_item_id``."""
    items, scores = score_all_users(seen, model, config, span, banned)
    user_ids, item_ids = ids
    start, stop = span or (0, seen.shape[0])
    because = because_items(model, seen[start:stop], items) if explain else None
    users = user_ids.slice(start, stop - start)
    return recommendations_table(items, scores, users, item_ids, because)


def score_block_step(
    staging: Path,
    *,
    split_dir: str,
    ingest_dir: str,
    train_dir: str,
    config: RankConfig,
    block: tuple[int, int],
    exclusions: Mapping[str, str] | None = None,
    explain: bool = False,
) -> dict:
    """Block ``block = (index, count)`` of every user → its recommendations, part.parquet
    (never an item of the ``exclusions`` file)."""
    seen = _seen(Path(split_dir) / FULL_MATRIX_FILE)
    start, stop = block_range(seen.shape[0], block, config)
    table = scored_table(
        seen,
        _model(Path(train_dir) / MODEL_FILE),
        config,
        id_maps(ingest_dir),
        (start, stop),
        load_exclusions(exclusions, ingest_dir).items,
        explain,
    )
    write_recommendations(table, staging / PART_FILE)
    return {"rows": table.num_rows, "start": start, "stop": stop, "worker": worker_name()}


def score_merge_step(staging: Path, *, block_dirs: list[str]) -> dict:
    """The blocks' parts, in order → recommendations.parquet, as the ``score`` step writes."""
    table = pa.concat_tables(pq.read_table(Path(folder) / PART_FILE) for folder in block_dirs)
    write_recommendations(table, staging / RECOMMENDATIONS_FILE)
    users = read_summary(block_dirs[-1])["stop"]
    return {"rows": table.num_rows, "users": users, "blocks": len(block_dirs)}
