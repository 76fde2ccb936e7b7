"""The quality gate's judgement, on hand-made figures."""

import pytest

from recsys_core.publishing.quality_gate import QualityGateFailed, judge


def _metrics(model, popularity):
    return {
        "validation": {"recall@5": 0.9, "ndcg@5": model},
        "popularity_validation": {"ndcg@5": popularity},
    }


def test_a_model_above_popularity_with_no_history_passes():
    verdict = judge(_metrics(0.30, 0.10), max_metric_drop=0.2)
    assert verdict.passed and verdict.reasons == [] and verdict.metric == "validation ndcg@5"


@pytest.mark.parametrize("model", [0.10, 0.05])
def test_a_model_not_above_popularity_is_refused(model):
    verdict = judge(_metrics(model, 0.10), max_metric_drop=0.2)
    assert not verdict.passed
    assert verdict.reasons == [
        f"validation ndcg@5 {model:.4f} is not above the popularity baseline's 0.1000"
    ]


@pytest.mark.parametrize(("model", "passed"), [(0.241, True), (0.240, True), (0.239, False)])
def test_a_drop_beyond_max_metric_drop_is_refused(model, passed):
    previous = {"validation": {"ndcg@5": 0.30}}
    verdict = judge(_metrics(model, 0.10), 0.2, previous, "out/dt=2026-11-19")
    assert verdict.passed is passed  # 20 % below 0.30 is 0.24
    if not passed:
        assert "dropped more than 20% below 0.3000 of out/dt=2026-11-19" in verdict.reasons[0]


def test_the_failure_names_the_reasons_the_candidate_and_the_override():
    verdict = judge(_metrics(0.05, 0.10), max_metric_drop=0.2)
    message = str(QualityGateFailed(verdict, "out/_rejected/dt=2026-11-20"))
    assert "not above the popularity baseline" in message
    assert "out/_rejected/dt=2026-11-20" in message and "force_publish=true" in message
