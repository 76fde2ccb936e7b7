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
    assert verdict.skipped == ["drop check: no snapshot was published before"]


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


def test_a_check_that_cannot_be_made_is_named_not_passed_silently():
    """Reliability v3: the first night after top_k changes had no drop check, and no verdict
    said so (the previous snapshot holds ndcg@20, this run ndcg@5)."""
    previous = {"validation": {"ndcg@20": 0.30}}
    verdict = judge(_metrics(0.01, 0.001), 0.2, previous, "out/dt=2026-11-19")
    assert verdict.passed and verdict.previous is None
    assert verdict.skipped == [
        "drop check: out/dt=2026-11-19 has no validation ndcg@5 (published with another "
        "top_k), so the figures are not comparable"
    ]
    alone = judge({"validation": {"ndcg@5": 0.3}}, 0.2, {"validation": {"ndcg@5": 0.3}}, "x")
    assert alone.skipped == ["popularity check: the run has no popularity validation ndcg@5"]
    checked = judge(_metrics(0.30, 0.10), 0.2, {"validation": {"ndcg@5": 0.30}}, "x")
    assert checked.skipped == []


def test_the_failure_names_the_reasons_the_candidate_and_the_override():
    verdict = judge(_metrics(0.05, 0.10), max_metric_drop=0.2)
    message = str(QualityGateFailed(verdict, "out/_rejected/dt=2026-11-20"))
    assert "not above the popularity baseline" in message
    assert "out/_rejected/dt=2026-11-20" in message and "force_publish=true" in message
