"""The nightly flow end to end under prefect_test_harness, on synthetic data."""

import json

import pyarrow.parquet as pq
import pytest

from recsys_core.io.atomic import sha256_file
from recsys_core.models.registry import BLEND_MEMBERS
from recsys_core.publishing.manifest_keys import MANIFEST_KEYS
from recsys_core.publishing.snapshot import verify_snapshot

SMALL = {"factors": 16, "iterations": 5, "top_k": 10, "run_date": "2026-11-20"}
# Steps every run has (fits, blends and blocks come and go with the model and the blocks).
CORE_STEPS = ["ingest", "split", "weight", "evaluate", "score"]


def _states(result):
    return {row["step"]: row["state"] for row in result["timings"]}


def test_flow_twice_second_run_is_cached_and_identical(
    prefect_harness, synthetic_adjacency, tmp_path
):
    from flows.nightly import nightly

    params = {**SMALL, "input_path": str(synthetic_adjacency), "output_dir": str(tmp_path / "out")}
    first = nightly(**params)
    snapshot = tmp_path / "out" / "dt=2026-11-20"
    assert first["snapshot"] == str(snapshot)
    assert all(state == "Completed" for state in _states(first).values())
    recs_sha = sha256_file(snapshot / "recommendations.parquet")

    second = nightly(**params)
    states = _states(second)
    assert set(CORE_STEPS) <= set(states)
    assert {step: state for step, state in states.items() if state != "Cached"} == {
        "publish": "Completed"
    }
    assert second["status"] == "already published"
    assert sha256_file(snapshot / "recommendations.parquet") == recs_sha
    assert second["metrics"] == first["metrics"]

    verify_snapshot(snapshot)
    metrics = json.loads((snapshot / "_metrics.json").read_text())
    assert set(metrics["validation"]) >= {"recall@10", "precision@10", "map@10", "ndcg@10"}
    assert set(metrics) >= {"validation", "test", "popularity"}
    # The planted clusters are learnable: the model must beat popularity on test.
    assert metrics["test"]["ndcg@10"] > metrics["popularity"]["ndcg@10"]
    assert (tmp_path / "out" / "_LATEST").read_text().strip() == "dt=2026-11-20"


def test_snapshot_contract(prefect_harness, synthetic_adjacency, tmp_path):
    from flows.nightly import nightly

    nightly(**SMALL, input_path=str(synthetic_adjacency), output_dir=str(tmp_path / "out"))
    recs = pq.read_table(tmp_path / "out" / "dt=2026-11-20" / "recommendations.parquet")
    assert recs.schema.names == ["user_id", "rank", "item_id", "score"]
    assert str(recs.schema.field("score").type) == "float"
    frame = recs.to_pandas()
    lines = synthetic_adjacency.read_text().split("\n")
    seen = {int(t[0]): set(map(int, t[1:])) for t in (ln.split() for ln in lines if ln)}
    assert set(frame.user_id) == set(seen)  # every user, ids as in the input
    assert (frame.groupby("user_id").size() == 10).all()
    assert (frame.groupby("user_id")["rank"].apply(list) == [list(range(1, 11))] * len(seen)).all()
    diffs = frame.groupby("user_id")["score"].diff().dropna()
    assert (diffs <= 0).all()
    leaked = [u for u, item in zip(frame.user_id, frame.item_id, strict=True) if item in seen[u]]
    assert leaked == []


def test_events_input_keeps_string_ids(prefect_harness, tmp_path):
    from flows.nightly import nightly
    from recsys_core.data.synthetic import synthetic_pairs, write_events_csv

    users, items = synthetic_pairs(n_users=120, n_items=80, seed=3)
    src = write_events_csv(tmp_path / "events.csv", users, items)
    result = nightly(
        **SMALL, input_path=str(src), output_dir=str(tmp_path / "out"), split_strategy="leave_k_out"
    )
    recs = pq.read_table(result["snapshot"] + "/recommendations.parquet")
    assert recs.schema.field("user_id").type == "string"
    assert all(len(i) == 12 and i.startswith("0") for i in recs.column("item_id").to_pylist()[:50])


def test_bad_input_fails_the_run_and_publishes_nothing(prefect_harness, tmp_path):
    from flows.nightly import nightly
    from recsys_core.errors import InputError

    src = tmp_path / "bad.txt"
    src.write_text("1 2 3\n2 3 oops\n")
    with pytest.raises(InputError, match="line 2"):
        nightly(**SMALL, input_path=str(src), output_dir=str(tmp_path / "out"))
    assert not (tmp_path / "out" / "_LATEST").exists()


def test_seed_mode_flow_on_synthetic(prefect_harness, synthetic_adjacency, tmp_path):
    from flows.nightly import nightly

    result = nightly(
        **SMALL,
        input_path=str(synthetic_adjacency),
        output_dir=str(tmp_path / "o"),
        eval_mode="seed",
    )
    assert 0 < result["metrics"]["test"]["recall@10"] <= 1
    # The flow's wall time covers every step's own time.
    assert result["flow_s"] >= sum(row["core_s"] for row in result["timings"]) > 0


def test_missing_input_names_the_file(prefect_harness, tmp_path):
    from flows.nightly import nightly
    from recsys_core.errors import InputError

    with pytest.raises(InputError, match="nope.txt: expected an existing input file"):
        nightly(**SMALL, input_path=str(tmp_path / "nope.txt"), output_dir=str(tmp_path / "out"))


def test_graph_filter_model_end_to_end(prefect_harness, synthetic_adjacency, tmp_path):
    from flows.nightly import nightly
    from recsys_core.models.registry import load_model

    result = nightly(
        **{**SMALL, "factors": 8},
        input_path=str(synthetic_adjacency),
        output_dir=str(tmp_path / "out"),
        model="graph_filter",
        gf_rank=16,
    )
    snapshot = tmp_path / "out" / "dt=2026-11-20"
    verify_snapshot(snapshot)
    manifest = json.loads((snapshot / "_manifest.json").read_text())
    assert manifest["params"]["model"] == "graph_filter"
    assert sorted(manifest) == sorted(MANIFEST_KEYS)  # the documented keys, no more, no fewer
    model, params = load_model(snapshot / "_model.npz")
    assert type(model).__name__ == "GraphFilter" and params["gf_rank"] == 16
    frame = pq.read_table(snapshot / "recommendations.parquet").to_pandas()
    assert (frame.groupby("user_id").size() == 10).all()
    # The planted clusters are visible to a graph filter too.
    assert result["metrics"]["test"]["ndcg@10"] > result["metrics"]["popularity"]["ndcg@10"]


def test_the_default_model_is_the_ensemble_and_says_what_it_chose(
    prefect_harness, synthetic_adjacency, tmp_path
):
    from flows.nightly import nightly
    from recsys_core.models.registry import load_model

    result = nightly(
        **SMALL, input_path=str(synthetic_adjacency), output_dir=str(tmp_path / "out"), gf_rank=16
    )
    snapshot = tmp_path / "out" / "dt=2026-11-20"
    verify_snapshot(snapshot)
    record = json.loads((snapshot / "_manifest.json").read_text())["model"]
    blend = record["blend"]
    assert record["family"] == "ensemble" and not blend["fixed"]
    assert sum(blend["weights"].values()) == pytest.approx(1.0)
    assert set(blend["best_single"]) | set(blend["left_out"]) == set(BLEND_MEMBERS)
    assert set(blend["costs"]) == set(BLEND_MEMBERS)
    assert "grid" not in blend  # the whole grid stays in the step folder
    for name, single in blend["best_single"].items():  # each family alone, as recorded
        assert single["weights"][name] == 1.0 and set(single) >= {"recall@10", "ndcg@10"}
    assert result["blend"]["weights"] == blend["weights"]
    model, params = load_model(snapshot / "_model.npz")
    kept = {name for name, weight in blend["weights"].items() if weight > 0}
    assert model.family == "ensemble"
    assert {member.family for member in model.members} == kept
    assert params["popularity_weight"] == blend["popularity_weight"]
    steps = [row["step"] for row in result["timings"]]
    assert {"train-eval[als]", "train-eval[graph_filter]", "blend-choose"} <= set(steps)
    assert {"blend[eval]", "blend[full]"} <= set(steps)


def test_a_fixed_blend(prefect_harness, synthetic_adjacency, tmp_path):
    from flows.nightly import nightly

    nightly(
        **SMALL,
        input_path=str(synthetic_adjacency),
        output_dir=str(tmp_path / "out"),
        gf_rank=16,
        ensemble_choose=False,
        ensemble_als_weight=0.4,
        ensemble_popularity_weight=0.3,
    )
    manifest = json.loads((tmp_path / "out" / "dt=2026-11-20" / "_manifest.json").read_text())
    blend = manifest["model"]["blend"]
    assert blend["fixed"] and blend["popularity_weight"] == 0.3
    assert blend["weights"] == {"als": 0.4, "graph_filter": pytest.approx(0.6)}


def test_the_choice_tries_the_graph_filter_without_its_sharpening(
    prefect_harness, synthetic_adjacency, tmp_path
):
    from flows.nightly import nightly
    from recsys_core.models.registry import load_model

    nightly(
        **SMALL,
        input_path=str(synthetic_adjacency),
        output_dir=str(tmp_path / "out"),
        gf_rank=16,
        gf_sharpen_steps=2,
    )
    snapshot = tmp_path / "out" / "dt=2026-11-20"
    blend = json.loads((snapshot / "_manifest.json").read_text())["model"]["blend"]
    assert set(blend["without_sharpening"]) == {"recall@10", "ndcg@10"}
    # Sharpening is kept only when it wins on the sample; a tie goes to the cheaper filter.
    sharpened = blend["validation_sample"]["ndcg@10"] if blend["sharpen"] else None
    without = blend["without_sharpening"]["ndcg@10"]
    assert blend["sharpen"] is (sharpened is not None and sharpened > without)
    if not blend["sharpen"]:
        assert blend["validation_sample"]["ndcg@10"] == without
    model, params = load_model(snapshot / "_model.npz")
    assert params["sharpen"] == blend["sharpen"]
    filters = [m for m in model.members if type(m).__name__ == "GraphFilter"]
    assert all(m.sharpen_steps == (2 if blend["sharpen"] else 0) for m in filters)


def test_changing_only_the_exclusions_reruns_only_the_listing_steps(
    prefect_harness, synthetic_adjacency, tmp_path
):
    from flows.nightly import nightly

    first_item = synthetic_adjacency.read_text().split()[1]
    (tmp_path / "a.txt").write_text(f"{first_item}\n")
    (tmp_path / "b.txt").write_text("")
    params = {
        **SMALL,
        "model": "als",
        "input_path": str(synthetic_adjacency),
        "output_dir": str(tmp_path / "out"),
    }
    nightly(**params, exclude_items_path=str(tmp_path / "a.txt"))
    second = nightly(**params, exclude_items_path=str(tmp_path / "b.txt"))
    ran = {step: state for step, state in _states(second).items() if state != "Cached"}
    assert ran == dict.fromkeys(["score", "fallback", "similar-items", "publish"], "Completed")
    assert second["status"] == "replaced"
