"""Tuning: planning, shared weightings and sweep chains, validation-only selection."""

import json
from dataclasses import replace

import numpy as np
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from recsys_core.config import (
    ALSConfig,
    GraphFilterConfig,
    PipelineConfig,
    RankConfig,
    WeightConfig,
)
from recsys_core.io.atomic import sha256_file
from recsys_core.io.workdir import EVAL_CONFIDENCE_FILE, EVAL_USERS_FILE
from recsys_core.models.als import fit_als
from recsys_core.models.registry import load_model
from recsys_core.pipeline.execute import LocalRunner, run_step
from recsys_core.pipeline.tune import knobs, tuning_plan, write_tuning
from recsys_core.tuning.trials import (
    best_trial,
    checkpoint_file,
    plan_trials,
    searched_family,
    sweep_chains,
)

BASE = PipelineConfig(als=ALSConfig(factors=8, iterations=3), rank=RankConfig(top_k=5))


def _trial(alpha=30.0, iterations=3, popularity_weight=0.15):
    return replace(
        BASE,
        weight=replace(BASE.weight, alpha=alpha),
        als=replace(BASE.als, iterations=iterations),
        rank=replace(BASE.rank, popularity_weight=popularity_weight),
    )


def test_plan_grid_random_and_errors():
    space = {"alpha": [1, 3, 10], "factors": [8, 16]}
    assert len(plan_trials(space)) == 6
    sample = plan_trials(space, "random", 4, seed=1)
    assert len(sample) == 4 and sample == plan_trials(space, "random", 4, seed=1)
    assert all(trial in plan_trials(space) for trial in sample)
    with pytest.raises(ValueError, match="cannot be searched"):
        plan_trials({"top_k": [5]})
    with pytest.raises(ValueError, match="needs n_trials"):
        plan_trials(space, "random")
    with pytest.raises(ValueError, match="no values"):
        plan_trials({"alpha": []})


def test_trials_differing_in_sweeps_share_one_chain():
    trials = [_trial(iterations=5), _trial(iterations=2), _trial(alpha=3)]
    chains = sweep_chains(trials, "als")
    assert [(c.weight.alpha, c.checkpoints, c.config.iterations) for c in chains] == [
        (30.0, (2, 5), 5),
        (3.0, (3,), 3),
    ]


def test_a_checkpoint_equals_a_fresh_fit_with_that_many_sweeps(synthetic_adjacency, tmp_path):
    run = LocalRunner(tmp_path / "work")
    ingested = run(
        "ingest",
        input_path=str(synthetic_adjacency),
        input_sha256=sha256_file(synthetic_adjacency),
        config=BASE.ingest,
    )
    split = run("split", ingest_dir=ingested["dir"], config=BASE.split)
    weighted = run("weight", split_dir=split["dir"], config=WeightConfig(), protocol="standard")
    chain = run_step(
        "sweep-chain",
        str(tmp_path / "chain"),
        weight_dir=weighted["dir"],
        family="als",
        config=replace(BASE.als, iterations=7),
        checkpoints=(3, 7),
    )
    assert set(chain["fit_seconds"]) == {"3", "7"}
    matrix = sp.load_npz(f"{weighted['dir']}/{EVAL_CONFIDENCE_FILE}").tocsr()
    users = np.load(f"{weighted['dir']}/{EVAL_USERS_FILE}")
    fresh = fit_als(matrix, replace(BASE.als, iterations=3), users)
    shared, params = load_model(tmp_path / "chain" / checkpoint_file(3))
    np.testing.assert_allclose(shared.item_factors, fresh.item_factors, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(shared.user_factors, fresh.user_factors, rtol=1e-4, atol=1e-6)
    assert params["iterations"] == 3


@pytest.fixture
def tuned(synthetic_adjacency, tmp_path):
    trials = [_trial(a, n, p) for a in (3.0, 30.0) for n in (2, 4) for p in (0.0, 0.15)]
    run = LocalRunner(tmp_path / "work")
    plan = tuning_plan(BASE, trials, synthetic_adjacency, run.work_dir, "ndcg@5")
    return run.run_plan(plan), trials, tmp_path


def test_each_weighting_and_chain_is_computed_once(tuned):
    outcome, trials, tmp_path = tuned
    assert len(outcome["rows"]) == 8
    assert len(list((tmp_path / "work" / "weight").iterdir())) == 2  # two alphas
    assert len(list((tmp_path / "work" / "sweep-chain").iterdir())) == 2  # sweeps 2 and 4 share
    # 8 validation evaluations + 1 test evaluation of the chosen trial
    assert len(list((tmp_path / "work" / "trial-evaluate").iterdir())) == 9


def test_selection_reads_validation_only(tuned):
    outcome, trials, tmp_path = tuned
    rows = outcome["rows"]
    # Only the chosen trial was ever evaluated on the test part: every other evaluation
    # folder holds validation metrics alone.
    summaries = [
        json.loads(path.read_text())["metrics"]
        for path in (tmp_path / "work" / "trial-evaluate").glob("*/summary.json")
    ]
    tested = [metrics for metrics in summaries if "test" in metrics]
    assert len(summaries) == len(rows) + 1 and len(tested) == 1
    assert set(tested[0]) == {"test", "popularity", "uncertainty"}
    assert set(tested[0]["uncertainty"]) == {"evaluated_users", "test"}
    best = max(range(len(rows)), key=lambda i: rows[i]["ndcg@5"])
    assert outcome["best"] == best == best_trial(rows, "ndcg@5")
    assert set(outcome["test"]) == {"recall@5", "precision@5", "map@5", "ndcg@5", "coverage@5"}
    assert knobs(trials[best]) == {k: rows[best][k] for k in knobs(trials[best])}


def test_ties_go_to_the_faster_fit():
    rows = [{"m": 0.5, "fit_s": 2.0}, {"m": 0.5, "fit_s": 1.0}, {"m": 0.4, "fit_s": 0.1}]
    assert best_trial(rows, "m") == 1


def test_leaderboard_schema_and_best_params(tuned):
    outcome, _, tmp_path = tuned
    written = write_tuning(
        tmp_path / "out", "dt=2026-11-20", outcome, {"run_date": "2026-11-20"}, "ndcg@5"
    )
    table = pq.read_table(written["leaderboard"])
    assert table.column_names == [
        "trial",
        "bm25_k1",
        "bm25_b",
        "bm25_direction",
        "alpha",
        "factors",
        "regularization",
        "iterations",
        "popularity_weight",
        "recall@5",
        "precision@5",
        "map@5",
        "ndcg@5",
        "coverage@5",
        "popularity_ndcg@5",
        "fit_s",
    ]
    scores = table.column("ndcg@5").to_pylist()
    assert scores == sorted(scores, reverse=True) and table.num_rows == 8
    import json

    best = json.loads(written["best_params"].read_text())
    assert best["value"] == scores[0] and best["metric"] == "ndcg@5"
    assert set(best["params"]) >= {"alpha", "iterations", "popularity_weight", "factors"}
    assert best["input_sha256"] == outcome["input_sha256"] and best["run_date"] == "2026-11-20"


def test_tuned_model_beats_popularity_on_a_seed_001_event_log(tmp_path):
    from recsys_core.config import IngestConfig, SplitConfig
    from recsys_core.data.synthetic import synthetic_pairs, write_events_csv

    users, items = synthetic_pairs(n_users=400, n_items=150, mean_items=15, seed=5)
    log = write_events_csv(tmp_path / "events.csv", users, items, seed=5)
    base = replace(
        BASE,
        ingest=IngestConfig(),
        split=SplitConfig(split_strategy="leave_k_out", leave_k=1),
        rank=RankConfig(top_k=10),
        weight=WeightConfig(bm25_direction="item_users"),  # seed 001's orientation
    )
    trials = [
        replace(base, weight=replace(base.weight, alpha=a), als=replace(base.als, iterations=n))
        for a in (3.0, 30.0)
        for n in (3, 8)
    ]
    work = tmp_path / "work"
    outcome = LocalRunner(work).run_plan(tuning_plan(base, trials, log, work, "map@10"))
    best = outcome["rows"][outcome["best"]]
    assert best["map@10"] > best["popularity_map@10"]


def test_a_graph_filter_search_fits_one_svd_per_rank(synthetic_adjacency, tmp_path):
    trials = [
        replace(
            BASE,
            graph_filter=GraphFilterConfig(gf_rank=r, gf_ideal_weight=w, gf_popularity_weight=p),
        )
        for r in (4, 8)
        for w in (0.0, 0.3)
        for p in (0.0, 0.01)
    ]
    run = LocalRunner(tmp_path / "work")
    plan = tuning_plan(BASE, trials, synthetic_adjacency, run.work_dir, "ndcg@5", "graph_filter")
    outcome = run.run_plan(plan)
    assert outcome["family"] == "graph_filter" and len(outcome["rows"]) == 8
    assert len(list((tmp_path / "work" / "weight").iterdir())) == 1
    assert len(list((tmp_path / "work" / "train-eval").iterdir())) == 2  # one SVD per rank
    assert len(list((tmp_path / "work" / "shared-fit-evaluate").iterdir())) == 9  # 8 + the test
    rows = outcome["rows"]
    assert {(r["gf_rank"], r["gf_ideal_weight"], r["gf_popularity_weight"]) for r in rows} == {
        (
            t.graph_filter.gf_rank,
            t.graph_filter.gf_ideal_weight,
            t.graph_filter.gf_popularity_weight,
        )
        for t in trials
    }
    # The ideal weight and popularity really reach the evaluation: not every row is equal.
    assert len({r["ndcg@5"] for r in rows}) > 1
    assert outcome["best"] == best_trial(rows, "ndcg@5")


def test_one_family_per_search():
    assert searched_family({"gf_rank": [8], "gf_ideal_weight": [0.1]}) == "graph_filter"
    with pytest.raises(ValueError, match="one family at a time"):
        searched_family({"gf_rank": [8], "alpha": [3.0]})
