"""User blocks: ranges, the automatic count, and lists equal to the one-block steps'."""

from dataclasses import replace

import numpy as np
import pyarrow.parquet as pq
import pytest

from recsys_core.blocks import USERS_PER_BLOCK, block_count, once_per_process, user_blocks
from recsys_core.config import ALSConfig, PipelineConfig, RankConfig
from recsys_core.pipeline import LocalRunner, run_nightly
from recsys_core.workdir import RECOMMENDATIONS_FILE

SMALL = PipelineConfig(als=ALSConfig(factors=8, iterations=3), rank=RankConfig(top_k=5))


def test_user_blocks_cover_every_row_once_in_near_equal_ranges():
    assert user_blocks(10, 3) == [(0, 3), (3, 7), (7, 10)]
    assert user_blocks(2, 5) == [(0, 1), (1, 2)]
    assert user_blocks(7, 1) == [(0, 7)]


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
    results = run_nightly(LocalRunner(work), configs, source, user_blocks=blocks)
    return results, pq.read_table(f"{results['score']['dir']}/{RECOMMENDATIONS_FILE}")


@pytest.mark.parametrize(
    "configs",
    [
        replace(SMALL, model="als"),
        replace(SMALL, model="ensemble", eval_protocol="seed"),
        replace(SMALL, model="graph_filter", rank=RankConfig(top_k=5, candidate_pool="seed_pool")),
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
    for column in ("user_id", "rank", "item_id"):
        assert many_table.column(column).equals(one_table.column(column)), column
    np.testing.assert_allclose(
        many_table.column("score").to_numpy(), one_table.column("score").to_numpy(), rtol=1e-6
    )
    assert many["score"]["users"] == one["score"]["users"]
