"""evaluate() on a hand-worked split: the two protocols' mean rules and test exclusions.

Items score 4, 3, 2, 1 for every user (one factor), popularity weight 0, k = 2.
User 0: train {0}, validation {1}, test {2}. User 1: train {3}, no validation, test {0}.
User 2 is short (not evaluated) with item {1}.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_core.columns import Parts
from recsys_core.config import RankConfig
from recsys_core.data.matrices import SplitArrays
from recsys_core.evaluation import protocol
from recsys_core.evaluation.protocol import evaluate, report_half
from recsys_core.models.als import ALSModel

T, V, X, N = Parts.TRAIN, Parts.VALIDATION, Parts.TEST, Parts.NOT_EVALUATED
SPLIT = SplitArrays(
    users=np.array([0, 0, 0, 1, 1, 2]),
    items=np.array([0, 1, 2, 3, 0, 1]),
    weights=np.ones(6, dtype=np.float32),
    parts=np.array([T, V, X, T, X, N], dtype=np.int8),
    n_users=3,
    n_items=4,
)
ITEMS = np.array([[4.0], [3.0], [2.0], [1.0]], dtype=np.float32)
RANK = RankConfig(top_k=2, popularity_weight=0.0)


def _factors(users):
    return ALSModel(np.ones((len(users), 1), np.float32), ITEMS, model_users=np.array(users))


def test_standard_excludes_validation_from_the_test_list_and_skips_empty_parts(monkeypatch):
    # The rule under test, on both users (the report half is tested on its own below).
    monkeypatch.setattr(protocol, "report_half", lambda users: np.ones(len(users), dtype=bool))
    metrics = evaluate(SPLIT, _factors([0, 1, 2]), RANK, "standard")
    # Validation: only user 0 has a part; its list [1, 2] finds item 1 at rank 1.
    assert metrics["validation"]["recall@2"] == 1.0
    assert metrics["validation"]["precision@2"] == 0.5
    # Test: user 0's list drops validation item 1 -> [2, 3], a hit at rank 1 (seed mode
    # would find it at rank 2); user 1's list [0, 1] hits at rank 1. Both count.
    assert metrics["test"]["map@2"] == 1.0
    assert metrics["test"]["ndcg@2"] == 1.0
    # Lists of users 0 and 1 cover items {0, 1, 2} of 4.
    assert metrics["validation"]["coverage@2"] == 0.75


def test_seed_uses_one_list_and_counts_empty_parts_as_zero():
    metrics = evaluate(SPLIT, _factors([0, 1]), RANK, "seed")
    # Validation: user 0 recall 1, user 1 (no validation items) counts 0.
    assert metrics["validation"]["recall@2"] == 0.5
    assert metrics["validation"]["precision@2"] == 0.25
    # Test on the same lists: user 0 finds item 2 at rank 2 (AP 1/2, NDCG 1/log2 3),
    # user 1 finds item 0 at rank 1.
    assert metrics["test"]["recall@2"] == 1.0
    assert metrics["test"]["map@2"] == pytest.approx((0.5 + 1.0) / 2)
    assert metrics["test"]["ndcg@2"] == pytest.approx((1 / np.log2(3) + 1.0) / 2)


def test_every_table_has_every_metric():
    metrics = evaluate(SPLIT, _factors([0, 1, 2]), RANK, "standard")
    uncertainty = metrics.pop("uncertainty")
    assert set(metrics) == {"validation", "test", "popularity", "popularity_validation"}
    for table in metrics.values():
        assert set(table) == {"recall@2", "precision@2", "map@2", "ndcg@2", "coverage@2"}
    assert set(uncertainty) == {"evaluated_users", "validation", "test"}


def test_a_model_of_other_users_is_refused():
    with pytest.raises(ValueError, match="not trained on this split's users"):
        evaluate(SPLIT, _factors([0, 1]), RANK, "standard")  # standard trains users 0, 1, 2


def _many_users_split(n_users: int = 40) -> SplitArrays:
    """Every user: train item u % 4, validation item (u + 1) % 4, test item (u + 2) % 4."""
    users = np.repeat(np.arange(n_users), 3)
    offsets = np.tile([0, 1, 2], n_users)
    return SplitArrays(
        users=users,
        items=(users + offsets) % 4,
        weights=np.ones(3 * n_users, dtype=np.float32),
        parts=np.tile([T, V, X], n_users).astype(np.int8),
        n_users=n_users,
        n_items=4,
    )


def test_standard_validation_figures_come_from_the_report_half_only():
    """Items score 4, 3, 2, 1: with its train item excluded, a user's top 2 holds its
    validation item unless the user is 2 mod 4 (list [0, 1], validation item 3): the
    reported recall is the hit rate of the report half, not of everyone."""
    split = _many_users_split()
    half = report_half(np.arange(40))
    hits = np.arange(40) % 4 != 2
    metrics = evaluate(split, _factors(list(range(40))), RANK, "standard")
    assert metrics["validation"]["recall@2"] == pytest.approx(hits[half].mean())
    assert hits[half].mean() != hits.mean()  # the halves differ: the test can tell
    # Test figures and seed's validation figures still run over every user.
    seed = evaluate(split, _factors(list(range(40))), RANK, "seed")
    assert seed["validation"]["recall@2"] == pytest.approx(hits.mean())


def test_the_blend_is_chosen_on_the_choice_half_only(monkeypatch):
    """The users the choice samples never include a report-half user."""
    import recsys_core.models.blend_choice as blend_choice
    from recsys_core.config import EnsembleConfig

    seen_rows = []

    def capture(members, rows, seen, truth, popularity, per_member):
        seen_rows.append(rows)
        raise StopIteration

    monkeypatch.setattr(blend_choice, "candidate_table", capture)
    n = 1000
    truth = sp.csr_matrix(np.ones((n, 1), dtype=np.float32))
    choice_half = ~report_half(np.arange(n))
    with pytest.raises(StopIteration):
        blend_choice.choose_blend(
            [],
            ["a"],
            np.arange(n),
            truth,
            truth,
            np.ones(1),
            2,
            EnsembleConfig(ensemble_sample_users=400),
            eligible=choice_half,
        )
    assert len(seen_rows[0]) == 400 and choice_half[seen_rows[0]].all()
    assert 0.4 * n < report_half(np.arange(n)).sum() < 0.6 * n


def test_each_figure_has_its_user_count_and_confidence_half_width():
    """Recall per user is 1 (users 0, 1, 3 mod 4) or 0 (2 mod 4): the half-width is 1.96
    standard errors of those values over the users the mean ran over."""
    split = _many_users_split()
    metrics = evaluate(split, _factors(list(range(40))), RANK, "standard")
    hits = (np.arange(40) % 4 != 2)[report_half(np.arange(40))].astype(float)
    validation = metrics["uncertainty"]["validation"]
    assert validation["users"] == len(hits)
    expected = 1.96 * hits.std(ddof=1) / np.sqrt(len(hits))
    assert validation["recall@2_ci95"] == pytest.approx(expected)
    assert metrics["uncertainty"]["test"]["users"] == 40


def test_more_users_than_evaluate_users_are_sampled_with_a_seed():
    split = _many_users_split(400)
    model = _factors(list(range(400)))
    sampled = evaluate(split, model, RANK, "standard", max_users=100)
    assert sampled["uncertainty"]["evaluated_users"] == 100
    assert sampled["uncertainty"]["test"]["users"] == 100
    assert sampled == evaluate(split, model, RANK, "standard", max_users=100)  # seeded
    everyone = evaluate(split, model, RANK, "standard", max_users=1000)
    assert everyone["uncertainty"]["evaluated_users"] == 400
    seed = evaluate(split, model, RANK, "seed", max_users=100)  # the notebook: every user
    assert seed["uncertainty"]["evaluated_users"] == 400
