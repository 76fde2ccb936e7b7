"""User blocks: ranges, the automatic count, and lists equal to the one-block steps'."""

import json
from dataclasses import replace

import numpy as np
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from recsys_core.config import ALSConfig, PipelineConfig, RankConfig
from recsys_core.io.workdir import RECOMMENDATIONS_FILE
from recsys_core.pipeline.blocks import USERS_PER_BLOCK, block_count, once_per_process, user_blocks
from recsys_core.pipeline.execute import LocalRunner
from recsys_core.pipeline.nightly import nightly_plan
from recsys_core.ranking.scorer import gemm_scorer
from recsys_core.ranking.tiles import tile_alignment
from recsys_core.ranking.topk import top_k_scored

# 32-user tiles: 300 users make three real blocks (blocks start on tile multiples).
SMALL = PipelineConfig(
    als=ALSConfig(factors=8, iterations=3), rank=RankConfig(top_k=5, block_size=32)
)


def test_user_blocks_cover_every_row_once_in_near_equal_ranges():
    assert user_blocks(10, 3) == [(0, 3), (3, 7), (7, 10)]
    assert user_blocks(7, 1) == [(0, 7)]
    # Always ``count`` blocks (each block task indexes its own); extra ones are empty.
    assert user_blocks(2, 5) == [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2)]


def test_user_blocks_start_on_the_alignment():
    assert user_blocks(2500, 3, align=1024) == [(0, 1024), (1024, 2048), (2048, 2500)]
    assert user_blocks(300, 3, align=32) == [(0, 96), (96, 192), (192, 300)]
    assert user_blocks(100, 3, align=1024) == [(0, 0), (0, 0), (0, 100)]


def test_aligned_blocks_score_to_the_bit_whatever_the_threads(monkeypatch):
    """A GEMM's rounding depends on its row count and thread split (here about 1 cell in 30
    differed in its last bits before scoring used fixed single-threaded tiles), so blocks
    on single-threaded Dask workers must score in the tiles the in-process run uses."""
    rng = np.random.default_rng(0)
    n_users, n_items, k = 2500, 3000, 20
    users = rng.standard_normal((n_users, 64), dtype=np.float32)
    items = rng.standard_normal((n_items, 64), dtype=np.float32)
    bias = np.zeros(n_items, dtype=np.float32)
    seen = sp.random(n_users, n_items, density=0.01, format="csr", random_state=1)

    def ranked(start, stop):
        scorer = gemm_scorer(users[start:stop], items, bias)
        return top_k_scored(
            scorer, stop - start, n_items, bias, [seen[start:stop]], k, bias_in_scores=True
        )[0]

    monkeypatch.setenv("RECSYS_THREADS", "2")
    whole_items, whole_scores = ranked(0, n_users)
    monkeypatch.setenv("RECSYS_THREADS", "1")
    parts = [ranked(a, b) for a, b in user_blocks(n_users, 3, tile_alignment(1024))]
    assert np.array_equal(np.concatenate([p[0] for p in parts]), whole_items)
    assert np.array_equal(np.concatenate([p[1] for p in parts]), whole_scores)


def test_block_count_automatic_and_explicit():
    assert block_count(10, 0) == 2
    assert block_count(3 * USERS_PER_BLOCK + 1, 0) == 4
    assert block_count(10, 5) == 5
    with pytest.raises(ValueError, match="user_blocks"):
        block_count(10, -1)


def test_once_per_process_reads_a_file_again_only_when_it_changed(tmp_path):
    reads = []

    @once_per_process
    def load(path):
        reads.append(path)
        return open(path).read()

    path = tmp_path / "f.txt"
    path.write_text("a")
    assert load(path) == load(path) == "a"
    path.write_text("bb")
    assert load(path) == "bb"
    assert len(reads) == 2


def _lists(source, work, configs, blocks):
    results = LocalRunner(work).run_plan(nightly_plan(configs, source, work, user_blocks=blocks))
    return results, pq.read_table(f"{results['score']['dir']}/{RECOMMENDATIONS_FILE}")


@pytest.mark.parametrize(
    "configs",
    [
        replace(SMALL, model="als"),
        replace(SMALL, model="ensemble", eval_protocol="seed"),
        replace(SMALL, model="graph_filter", rank=replace(SMALL.rank, candidate_pool="seed_pool")),
    ],
    ids=["als", "ensemble-seed-protocol", "graph-filter-seed-pool"],
)
def test_many_blocks_give_the_one_block_lists_and_metrics(synthetic_adjacency, tmp_path, configs):
    one, one_table = _lists(synthetic_adjacency, tmp_path / "w", configs, 1)
    many, many_table = _lists(synthetic_adjacency, tmp_path / "w", configs, 3)
    assert (
        "score-merge" in str(many["score"]["dir"]) and "evaluate-merge" in many["evaluate"]["dir"]
    )
    assert many["evaluate"]["metrics"] == one["evaluate"]["metrics"]
    assert many_table.schema == one_table.schema
    assert many_table.equals(one_table)  # scores too, to the bit
    scored = sorted(
        (
            json.loads(path.read_text())
            for path in (tmp_path / "w").glob("score-block/*/summary.json")
        ),
        key=lambda block: block["start"],
    )
    assert [block["stop"] - block["start"] for block in scored] == [96, 96, 108]
    assert many["score"]["users"] == one["score"]["users"]
