"""The night's budget: each blend member's scoring cost is measured before the choice, and a
member predicted to exceed ``night_budget_s`` is left out of it (never the last one)."""

import datetime as dt
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import recsys_core.pipeline.steps as steps
from recsys_core.config import ALSConfig, EnsembleConfig, PipelineConfig, PublishConfig, RankConfig
from recsys_core.models.registry import BLEND_MEMBERS, family, fit_model
from recsys_core.models.scoring_cost import PROBE_USERS, scoring_cost, within_budget
from recsys_core.pipeline.execute import LocalRunner
from recsys_core.pipeline.nightly import nightly_plan
from recsys_core.reporting import blend_rows, format_table

SMALL = PipelineConfig(als=ALSConfig(factors=8, iterations=3), rank=RankConfig(top_k=5))


class _SlowScorer:
    """A model whose scorer sleeps ``per_user`` seconds a user (what the probe must see)."""

    family = "slow"
    n_items = 5

    def __init__(self, per_user: float) -> None:
        self.per_user = per_user

    def block_scorer(self, rows, bias=None):
        def score(start, stop, out):
            time.sleep(self.per_user * (stop - start))
            out[:] = 0

        return score


def test_the_prediction_extrapolates_the_probe_s_rate():
    cost = scoring_cost(_SlowScorer(0.002), np.arange(1000), users_to_score=10_000)
    assert cost["probe_users"] == PROBE_USERS
    assert 0.002 <= cost["per_user_s"] < 0.004
    assert 20 <= cost["predicted_s"] < 40 + 2 * cost["setup_s"]


@pytest.mark.parametrize("name", BLEND_MEMBERS)
def test_a_real_model_s_cost_is_positive_and_grows_with_the_users(name):
    # 4,097 items lay out as 2 x 2,049: the scorers write a padded block (as on Gowalla).
    matrix = sp.random(50, 4097, density=0.01, random_state=0, format="csr", dtype=np.float32)
    config = family(name).config(SMALL)
    model = fit_model(name, matrix, config, np.arange(50))
    few = scoring_cost(model, np.arange(50), 100)
    many = scoring_cost(model, np.arange(50), 100_000_000)
    assert few["per_user_s"] > 0 and few["predicted_s"] < many["predicted_s"]


def test_the_budget_leaves_out_what_exceeds_it_and_keeps_the_cheapest():
    costs = {"a": {"predicted_s": 5.0}, "b": {"predicted_s": 50.0}, "c": {"predicted_s": 9.0}}
    kept, left_out = within_budget(["a", "b", "c"], costs, 10)
    assert kept == ["a", "c"] and set(left_out) == {"b"}
    assert "50" in left_out["b"] and "night_budget_s 10" in left_out["b"]
    kept, left_out = within_budget(["a", "b", "c"], costs, 1)
    assert kept == ["a"] and set(left_out) == {"b", "c"}


def _nightly(source: Path, tmp_path: Path, configs: PipelineConfig) -> dict:
    target = PublishConfig(str(tmp_path / "out"), dt.date(2026, 11, 20))
    return LocalRunner(tmp_path / "work").run_plan(
        nightly_plan(configs, source, tmp_path / "work", publish=target)
    )


@pytest.mark.parametrize("budget, expensive", [(10.0, {"chebyshev_filter"}), (0.5, None)])
def test_a_member_over_the_budget_is_never_chosen_nor_refitted(
    synthetic_adjacency, tmp_path, monkeypatch, budget, expensive
):
    predicted = {"als": 0.1, "graph_filter": 1.0, "chebyshev_filter": 100.0}

    def fixed_cost(model, rows, users):
        return {"predicted_s": predicted[model.family]}

    monkeypatch.setattr(steps, "scoring_cost", fixed_cost)
    configs = replace(SMALL, ensemble=EnsembleConfig(night_budget_s=budget))
    result = _nightly(synthetic_adjacency, tmp_path, configs)
    choice = result["blend-choose"]
    left = expensive or set(BLEND_MEMBERS) - {"als"}
    assert set(choice["left_out"]) == left
    assert not set(choice["weights"]) & left
    assert all(not any(row["weights"].get(name) for name in left) for row in choice["grid"])
    fitted = {
        step.split("[")[1][:-1] for step in result if step.startswith("train-") and "[" in step
    }
    assert fitted and not fitted & left  # a family over the budget is never fitted
    manifest = json.loads((tmp_path / "out" / "dt=2026-11-20" / "_manifest.json").read_text())
    assert set(manifest["model"]["blend"]["left_out"]) == left
    assert manifest["model"]["blend"]["costs"]["chebyshev_filter"]["predicted_s"] == 100.0
    # The CLI's and the artifact's table name each family left out, and why.
    table = format_table(blend_rows(choice))
    for name in left:
        assert f"{name} left out" in table and f"night_budget_s {budget:g}" in table


def test_the_nightly_chooses_its_blend_on_the_choice_half(
    synthetic_adjacency, tmp_path, monkeypatch
):
    """The step hands the choice only the users whose figures are not reported."""
    from recsys_core.data.matrices import read_split
    from recsys_core.evaluation.protocol import evaluated_view, report_half
    from recsys_core.io.workdir import SPLIT_FILE

    calls = []
    real = steps.choose_blend

    def recording(*args, **kwargs):
        calls.append(kwargs.get("eligible"))
        return real(*args, **kwargs)

    monkeypatch.setattr(steps, "choose_blend", recording)
    result = _nightly(synthetic_adjacency, tmp_path, SMALL)
    assert calls and all(eligible is not None for eligible in calls)
    view = evaluated_view(read_split(Path(result["split"]["dir"]) / SPLIT_FILE), "standard")
    users = view.users
    np.testing.assert_array_equal(calls[0], ~report_half(users))
    assert result["blend-choose"]["sample_users"] <= (~report_half(users)).sum()


@pytest.mark.parametrize("name", BLEND_MEMBERS)
def test_a_stand_in_has_the_fitted_model_s_shapes(name):
    """What the budget times must cost what the fitted model costs: the same arrays."""
    matrix = sp.random(60, 40, density=0.2, random_state=1, format="csr", dtype=np.float32)
    config = family(name).config(SMALL)
    fitted = fit_model(name, matrix, config, np.arange(60)).to_arrays()
    stand_in = family(name).stand_in(matrix, config, np.arange(60)).to_arrays()
    assert {key: np.shape(value) for key, value in stand_in.items()} == {
        key: np.shape(value) for key, value in fitted.items()
    }


def test_the_budget_counts_the_users_evaluate_will_score(
    synthetic_adjacency, tmp_path, monkeypatch
):
    """With evaluate_users below the evaluated users, evaluate scores only that sample."""
    from recsys_core.config import EvaluationConfig

    seen = []

    def counting(model, rows, users):
        seen.append((len(rows), users))
        return {"predicted_s": 0.0}

    monkeypatch.setattr(steps, "scoring_cost", counting)
    configs = replace(SMALL, evaluation=EvaluationConfig(evaluate_users=100))
    result = _nightly(synthetic_adjacency, tmp_path, configs)
    n_users = result["ingest"]["users"]
    evaluated_rows = seen[0][0]
    assert evaluated_rows > 100  # the stand-ins are timed on the whole view
    assert {users for _, users in seen} == {100 + n_users}
