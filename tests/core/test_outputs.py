"""What a snapshot gives downstream besides the user lists: item exclusions, the fallback
list and the similar-items dataset (run in-process through the plan, every family)."""

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from recsys_core.config import (
    ALSConfig,
    ChebyshevFilterConfig,
    GraphFilterConfig,
    OutputsConfig,
    PipelineConfig,
    PublishConfig,
    RankConfig,
)
from recsys_core.data.matrices import SplitArrays, full_matrix, read_split
from recsys_core.data.synthetic import synthetic_pairs
from recsys_core.errors import InputError
from recsys_core.evaluation.similar_check import (
    last_train_items,
    similar_items_check,
    similar_weights,
)
from recsys_core.io.exclusions import match_items, read_excluded_ids
from recsys_core.io.workdir import SPLIT_FILE
from recsys_core.models.ensemble import Ensemble
from recsys_core.models.registry import FAMILIES, fit_model
from recsys_core.pipeline.execute import LocalRunner
from recsys_core.pipeline.nightly import nightly_plan
from recsys_core.publishing.manifest_keys import FLOW_ONLY_KEYS, MANIFEST_KEYS
from recsys_core.publishing.snapshot import (
    SIMILAR_ITEMS_DIR,
    read_fallback,
    read_recommendations,
    read_similar_items,
    verify_snapshot,
)
from recsys_core.scoring.explain import because_items
from tests.core.helpers import block_scores

SMALL = PipelineConfig(
    als=ALSConfig(factors=8, iterations=3),
    rank=RankConfig(top_k=5),
    outputs=OutputsConfig(similar_items_k=6),
)
DAY = dt.date(2026, 11, 20)


def _logged_items(adjacency) -> list[int]:
    return [int(item) for line in adjacency.read_text().split("\n") for item in line.split()[1:]]


@pytest.fixture(scope="module")
def banned(synthetic_adjacency) -> tuple[int, ...]:
    """The log's 8 most popular items: what every family would list, unbanned."""
    return tuple(
        int(i) for i in pd.Series(_logged_items(synthetic_adjacency)).value_counts().index[:8]
    )


def _run(source, tmp_path, configs=SMALL, exclude=None, publish=True):
    # force_publish: the popularity family is never above its own baseline (the gate).
    target = PublishConfig(str(tmp_path / "out"), DAY, force_publish=True) if publish else None
    plan = nightly_plan(configs, source, tmp_path / "work", publish=target, exclude_path=exclude)
    return LocalRunner(tmp_path / "work").run_plan(plan)


def _ban_file(tmp_path, ids, name="ban.txt"):
    path = tmp_path / name
    path.write_text("".join(f"{i}\n" for i in ids))
    return str(path)


# -- the exclusion file ---------------------------------------------------------------


@pytest.mark.parametrize("form", ["txt", "csv", "parquet", "txt.gz"])
def test_every_exclusion_form_reads_the_same_ids(tmp_path, form):
    path = tmp_path / f"ban.{form}"
    if form == "csv":
        path.write_text("item_id,reason\n1001,stock\n1002,banned\n")
    elif form == "parquet":
        pq.write_table(pa.table({"item_id": [1001, 1002]}), path)
    elif form == "txt.gz":
        import gzip

        path.write_bytes(gzip.compress(b"1001\n\n 1002 \n"))
    else:
        path.write_text("1001\n1002\n")
    matched = match_items(str(path), read_excluded_ids(path), pa.array([1000, 1001, 1002, 7]))
    assert matched.items.tolist() == [1, 2]
    assert (matched.ids_in_file, matched.matched) == (2, 2)


def test_an_empty_exclusion_file_excludes_nothing(tmp_path):
    for name in ("empty.txt", "empty.csv"):
        (tmp_path / name).write_text("")
        ids = read_excluded_ids(tmp_path / name)
        assert len(match_items(name, ids, pa.array([1, 2])).items) == 0


def test_exclusion_file_errors_name_the_file_and_what_was_expected(tmp_path):
    with pytest.raises(InputError, match=r"nope\.txt: expected an item exclusion file"):
        read_excluded_ids(tmp_path / "nope.txt")
    (tmp_path / "bad.csv").write_text("sku\n1\n")
    with pytest.raises(InputError, match=r"bad\.csv, column 'item_id': expected"):
        read_excluded_ids(tmp_path / "bad.csv")
    (tmp_path / "hole.csv").write_text("item_id,x\n1,a\n,b\n")
    with pytest.raises(InputError, match=r"hole\.csv, line 3, column 'item_id'"):
        read_excluded_ids(tmp_path / "hole.csv")
    (tmp_path / "words.txt").write_text("1\nabc\n")
    with pytest.raises(InputError, match=r"words\.txt: expected integer item ids.*'abc'"):
        match_items("words.txt", read_excluded_ids(tmp_path / "words.txt"), pa.array([1]))
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match=r"broken\.parquet: expected an item exclusion file"):
        read_excluded_ids(tmp_path / "broken.parquet")


def test_a_missing_exclusion_file_fails_the_run_before_any_step(synthetic_adjacency, tmp_path):
    with pytest.raises(InputError, match=r"gone\.txt: expected an item exclusion file"):
        _run(synthetic_adjacency, tmp_path, exclude=str(tmp_path / "gone.txt"))
    assert not (tmp_path / "out").exists()


# -- exclusions reach every output, on every family --------------------------------------


@pytest.mark.parametrize("model", sorted(FAMILIES))
def test_excluded_items_are_in_no_output_and_lists_stay_full(
    synthetic_adjacency, tmp_path, model, banned
):
    configs = replace(SMALL, model=model)
    done = _run(synthetic_adjacency, tmp_path, configs, _ban_file(tmp_path, banned))
    out = tmp_path / "out"
    lists = pd.read_parquet(out)
    similar = read_similar_items(out).to_pandas()
    fallback = read_fallback(out).to_pandas()
    assert not set(banned) & set(lists.item_id)
    assert not set(banned) & set(similar.similar_item_id)
    assert not set(banned) & set(fallback.item_id)
    assert (lists.groupby("user_id").size() == SMALL.rank.top_k).all()
    assert len(fallback) == SMALL.rank.top_k
    assert (similar.groupby("item_id").size() == SMALL.outputs.similar_items_k).all()
    manifest = json.loads((out / "dt=2026-11-20" / "_manifest.json").read_text())
    assert manifest["exclusions"]["matched"] == len(banned)
    assert done["fallback"]["exclusions"]["ids"] == len(banned)
    # The documented keys (docs: the manifest reference), but the flow's own.
    assert sorted(manifest) == sorted(set(MANIFEST_KEYS) - FLOW_ONLY_KEYS)


def test_without_exclusions_the_banned_items_are_listed(synthetic_adjacency, tmp_path, banned):
    """The test above can fail: unbanned, those items are in every output."""
    _run(synthetic_adjacency, tmp_path)
    out = tmp_path / "out"
    assert set(read_fallback(out).to_pandas().item_id) <= set(banned)
    assert set(banned) & set(pd.read_parquet(out).item_id)
    assert set(banned) & set(read_similar_items(out).to_pandas().similar_item_id)


def test_changing_only_the_exclusions_refits_nothing(synthetic_adjacency, tmp_path, banned):
    _run(synthetic_adjacency, tmp_path, exclude=_ban_file(tmp_path, banned[:2], "a.txt"))
    again = _run(synthetic_adjacency, tmp_path, exclude=_ban_file(tmp_path, banned[2:], "b.txt"))
    rerun = [step for step, result in again.items() if result.get("reused") is False]
    assert sorted(rerun) == ["fallback", "score", "similar-items"]
    assert again["publish"]["status"] == "replaced"


# -- similar items and the fallback ------------------------------------------------------


@pytest.mark.parametrize("model", sorted(FAMILIES))
def test_similar_items_are_ranked_other_items(synthetic_adjacency, tmp_path, model):
    _run(synthetic_adjacency, tmp_path, replace(SMALL, model=model))
    table = read_similar_items(tmp_path / "out").to_pandas()
    k = SMALL.outputs.similar_items_k
    assert (table.item_id != table.similar_item_id).all()
    assert (table.groupby("item_id").size() <= k).all()
    assert (
        table.groupby("item_id")["rank"]
        .apply(lambda r: list(r) == list(range(1, len(r) + 1)))
        .all()
    )
    assert (table.groupby("item_id")["score"].diff().dropna() <= 0).all()
    logged = set(_logged_items(synthetic_adjacency))
    assert set(table.item_id) == logged  # every item with an interaction, ids as logged
    assert set(table.similar_item_id) <= logged


def test_the_similar_items_dataset_is_a_snapshot_of_its_own(synthetic_adjacency, tmp_path):
    _run(synthetic_adjacency, tmp_path)
    out = tmp_path / "out"
    manifest = json.loads((out / "dt=2026-11-20" / "_manifest.json").read_text())
    assert manifest["similar_items"] == str(out / SIMILAR_ITEMS_DIR / "dt=2026-11-20")
    assert verify_snapshot(manifest["similar_items"])["rows"]["similar_items"] > 0
    assert (out / SIMILAR_ITEMS_DIR / "_LATEST").read_text().strip() == "dt=2026-11-20"
    # The bare readers: the output is the user lists, the similar items their own dataset.
    assert set(pd.read_parquet(out).columns) == {"user_id", "rank", "item_id", "score", "dt"}
    similar = pd.read_parquet(manifest["similar_items"])
    assert list(similar.columns) == ["item_id", "similar_item_id", "rank", "score"]
    assert len(pd.read_parquet(out / SIMILAR_ITEMS_DIR)) == len(similar)
    assert len(pd.read_parquet(manifest["fallback"])) == SMALL.rank.top_k


def test_similar_items_k_zero_publishes_none(synthetic_adjacency, tmp_path):
    done = _run(synthetic_adjacency, tmp_path, replace(SMALL, outputs=OutputsConfig(0)))
    assert "similar-items" not in done
    manifest = json.loads((tmp_path / "out" / "dt=2026-11-20" / "_manifest.json").read_text())
    assert manifest["similar_items"] is None
    assert not (tmp_path / "out" / SIMILAR_ITEMS_DIR).exists()


def test_an_unknown_user_gets_the_fallback_marked(synthetic_adjacency, tmp_path, banned):
    _run(synthetic_adjacency, tmp_path, exclude=_ban_file(tmp_path, banned))
    out = tmp_path / "out"
    got = read_recommendations(out, user_ids=[1000, 42, 42]).to_pandas()
    known, unknown = got[~got.fallback], got[got.fallback]
    assert set(known.user_id) == {1000} and len(known) == SMALL.rank.top_k
    assert set(unknown.user_id) == {42}
    assert unknown.item_id.tolist() == read_fallback(out).to_pandas().item_id.tolist()
    assert not set(banned) & set(unknown.item_id)


def test_the_similar_items_check_beats_popularity_and_can_fail(synthetic_adjacency, tmp_path):
    # k = 20: on 150 report-half users a hit rate's 95 % half-width is about 0.07 at k = 20
    # (0.05 at k = 6, where both rates are near 0.1): the margin below is beyond noise.
    k = 20
    done = _run(synthetic_adjacency, tmp_path, replace(SMALL, outputs=OutputsConfig(k)))
    figures = done["similar-check"]["figures"]
    assert figures["users"] > 120 and figures["k"] == k  # the report half
    assert figures[f"model_hit_rate@{k}"] > figures[f"popularity_hit_rate@{k}"] + 0.05
    manifest = json.loads((tmp_path / "out" / "dt=2026-11-20" / "_manifest.json").read_text())
    assert manifest["similar_items_check"] == figures
    # The popularity family's similar items are popularity's: the check cannot favour it.
    arrays = read_split(Path(done["split"]["dir"]) / SPLIT_FILE)
    popular = fit_model("popularity", full_matrix(arrays), None, np.arange(arrays.n_users))
    same = similar_items_check(arrays, popular, k)
    assert same[f"model_hit_rate@{k}"] <= same[f"popularity_hit_rate@{k}"] + 0.02


def test_the_check_s_anchor_is_each_user_s_last_train_item():
    arrays = SplitArrays(
        users=np.array([0, 0, 0, 1, 1]),
        items=np.array([5, 3, 4, 2, 6]),
        weights=np.ones(5),
        parts=np.array([0, 0, 1, 0, 2]),
        n_users=2,
        n_items=7,
    )
    assert last_train_items(arrays, np.array([0, 1])).tolist() == [3, 2]


def test_the_readers_globs_match_the_user_lists_only(synthetic_adjacency, tmp_path):
    """The README's DuckDB and Polars globs: the fallback file sits a folder deeper."""
    duckdb = pytest.importorskip("duckdb")
    _run(synthetic_adjacency, tmp_path)
    out = tmp_path / "out"
    rows = duckdb.sql(f"SELECT * FROM read_parquet('{out}/*/*.parquet', hive_partitioning=1)")
    assert rows.columns == ["user_id", "rank", "item_id", "score", "dt"]
    assert len(rows.fetchall()) == len(pd.read_parquet(out))


# -- explanations ------------------------------------------------------------------------


def _seen_by_user(adjacency) -> dict[int, set[int]]:
    seen: dict[int, set[int]] = {}
    for line in adjacency.read_text().splitlines():
        user, *items = map(int, line.split())
        seen.setdefault(user, set()).update(items)
    return seen


@pytest.mark.parametrize("model", sorted(FAMILIES))
def test_because_is_always_one_of_the_user_s_seen_items(synthetic_adjacency, tmp_path, model):
    configs = replace(SMALL, model=model, outputs=OutputsConfig(similar_items_k=0, explain=True))
    _run(synthetic_adjacency, tmp_path, configs)
    lists = pd.read_parquet(tmp_path / "out")
    seen = _seen_by_user(synthetic_adjacency)
    assert lists.because_item_id.notna().all()
    assert all(b in seen[u] for u, b in zip(lists.user_id, lists.because_item_id, strict=True))
    if model != "popularity":  # popularity names the user's most popular seen item
        # Not one seen item for everything: the reason follows the recommendation.
        assert lists.groupby("user_id").because_item_id.nunique().max() > 1


def test_without_explain_there_is_no_because_column(synthetic_adjacency, tmp_path):
    _run(synthetic_adjacency, tmp_path, replace(SMALL, model="als"))
    assert "because_item_id" not in pd.read_parquet(tmp_path / "out").columns


@pytest.mark.parametrize(
    "config",
    [
        GraphFilterConfig(gf_rank=8),
        GraphFilterConfig(gf_rank=8, gf_sharpen_steps=2),
        ChebyshevFilterConfig(cheby_ideal_rank=8),
    ],
    ids=["gf-cf", "gf-cf sharpened", "chebyshev"],
)
def test_a_filter_s_because_is_the_brute_force_argmax_of_contributions(config):
    """A linear filter's contribution of seen item j to item i: the score of i minus the
    score of i without j. The explanation must name the seen item that drops it most."""
    users, items = synthetic_pairs(n_users=40, n_items=30, seed=1)
    matrix = sp.csr_matrix((np.ones(len(users), np.float32), (users, items)), shape=(40, 30))
    matrix.sum_duplicates()
    matrix.data[:] = 1
    name = "graph_filter" if isinstance(config, GraphFilterConfig) else "chebyshev_filter"
    model = fit_model(name, matrix, config, np.arange(40))
    scores = block_scores(model, np.arange(40), block=40)
    ranked = np.argsort(-np.where(matrix.toarray() > 0, -np.inf, scores), axis=1)[:, :4]
    got = because_items(model, matrix, ranked)
    respond = model._filter()  # the scores of any 0/1 signal under the fitted filter
    for user in range(40):
        seen = matrix[user].indices
        without = []
        for j in seen:
            row = matrix[user].toarray()
            row[0, j] = 0
            out = np.zeros((1, 30), dtype=np.float32)
            respond(sp.csr_matrix(row), out)
            without.append(out[0])
        drops = scores[user][None, :] - np.array(without)  # seen × items
        expected = seen[np.argmax(drops[:, ranked[user]], axis=0)]
        np.testing.assert_array_equal(got[user], expected)


class _Fixed:
    """A stand-in member whose similar items are a given matrix."""

    family = "fixed"

    def __init__(self, rows: np.ndarray, family: str) -> None:
        self.rows, self.family, self.model_users = rows, family, np.arange(3)

    @property
    def n_items(self) -> int:
        return self.rows.shape[1]

    def similar_items(self, items: np.ndarray) -> np.ndarray:
        return self.rows[items].copy()


def test_an_ensemble_s_similar_items_weights_go_to_the_member_that_hits():
    """Item 0's next item is 1 for every user: the member that ranks 1 first must win."""
    good = np.array([[0, 9, 1, 2, 3, 4]] * 6, dtype=np.float32)
    bad = np.array([[0, 1, 2, 3, 4, 9]] * 6, dtype=np.float32)
    ensemble = Ensemble((_Fixed(bad, "bad"), _Fixed(good, "good")), (0.9, 0.1), np.zeros(6))
    anchors = np.zeros(3, dtype=np.int64)
    truth = sp.csr_matrix(np.array([[0, 1, 0, 0, 0, 0]] * 3, dtype=np.float32))
    assert similar_weights(ensemble, anchors, truth, 1) == (0.0, 1.0)
    # With nothing to gain, the user lists' weights stay.
    assert similar_weights(ensemble, anchors, sp.csr_matrix((3, 6)), 1) == (0.9, 0.1)


def test_the_ensemble_s_check_reports_on_the_other_half(synthetic_adjacency, tmp_path):
    done = _run(synthetic_adjacency, tmp_path)
    figures = done["similar-check"]["figures"]
    members = {name for name in done if name.startswith("train-full[")}
    assert {f"train-full[{name}]" for name in figures["weights"]} == members
    assert figures["users"] + figures["choice_users"] == 299  # users with a train item
    assert abs(figures["users"] - figures["choice_users"]) < 40
