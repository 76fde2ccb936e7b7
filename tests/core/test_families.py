"""The family registry: one entry per family, the parameter's type equal to it, every
family's model file round trip, item–item similarity, popularity through the shared ranker,
and a fingerprint that ignores the families a run does not use."""

import typing
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_core.config import (
    ALSConfig,
    BlendFamily,
    EnsembleConfig,
    GraphFilterConfig,
    ModelFamily,
    PipelineConfig,
    RankConfig,
)
from recsys_core.models.ensemble import Ensemble
from recsys_core.models.registry import (
    BASELINE,
    BLEND_MEMBERS,
    FAMILIES,
    FIXED_BLEND_MEMBERS,
    blend_members,
    family,
    family_of,
    fit_model,
    load_model,
    save_model,
    unset_knob_values,
)
from recsys_core.models.zscore import standardise_rows
from recsys_core.pipeline.manifest import fingerprint
from recsys_core.ranking.popular import popularity_bias, top_k_popular
from recsys_core.ranking.topk import top_k_scored
from recsys_core.scoring.batch import ranked_lists
from tests.core.helpers import block_scores

# The 4 × 5 matrix of test_graph_filter.py: P = R̃ᵀR̃ has P[i,i] = 0.5, P[0,1] = P[0,2] =
# P[1,2] = 0.25 and P[3,4] = 0.5.
R = sp.csr_matrix(
    np.array([[1, 1, 0, 0, 0], [1, 0, 1, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 1, 1]], dtype=np.float32)
)
USERS = np.arange(4)


def _matrix(seed: int = 0) -> sp.csr_matrix:
    matrix = sp.random(40, 30, density=0.2, random_state=seed, format="csr", dtype=np.float32)
    matrix.data[:] = 1.0
    return matrix


def _fitted(name: str, matrix: sp.csr_matrix):
    configs = PipelineConfig(als=ALSConfig(factors=4, iterations=2))
    if family(name).fit is None:  # the ensemble: built from its members
        members = tuple(_fitted(member, matrix) for member in BLEND_MEMBERS)
        # 1/2, then the rest shared: exact in float32, as the model file stores them.
        weights = (0.5,) + (0.5 / (len(members) - 1),) * (len(members) - 1)
        return Ensemble(members, weights, np.zeros(matrix.shape[1], np.float32))
    config = family(name).config(replace(configs, graph_filter=GraphFilterConfig(gf_rank=4)))
    return fit_model(name, matrix, config, np.arange(matrix.shape[0]))


def test_the_model_parameter_names_exactly_the_registered_families():
    assert set(typing.get_args(ModelFamily)) == set(FAMILIES)
    assert set(BLEND_MEMBERS) <= set(FAMILIES) and BASELINE in FAMILIES
    assert typing.get_args(BlendFamily) == BLEND_MEMBERS == EnsembleConfig().ensemble_members


def test_blend_members_are_the_chosen_ones_in_registry_order_or_the_fixed_pair():
    two = EnsembleConfig(ensemble_members=("graph_filter", "als"))
    assert blend_members(two) == ("als", "graph_filter")
    assert blend_members(EnsembleConfig()) == BLEND_MEMBERS
    fixed = EnsembleConfig(ensemble_choose=False, ensemble_members=("chebyshev_filter",))
    assert blend_members(fixed) == FIXED_BLEND_MEMBERS


def test_unset_knobs_are_seed_000_s_which_are_the_configs_own_defaults():
    assert unset_knob_values() == {"alpha": 30.0, "iterations": 40}
    assert (PipelineConfig().weight.alpha, ALSConfig().iterations) == (30.0, 40)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_round_trips_its_model_file(name, tmp_path):
    model = _fitted(name, _matrix())
    save_model(tmp_path / "model.npz", model, {"family": name})
    loaded, params = load_model(tmp_path / "model.npz")
    assert family_of(loaded).name == name and params == {"family": name}
    rows = np.arange(0, 40, 3)
    np.testing.assert_array_equal(block_scores(loaded, rows), block_scores(model, rows))
    items = np.array([0, 7, 29])
    np.testing.assert_array_equal(loaded.similar_items(items), model.similar_items(items))


def test_an_unknown_family_is_named_in_the_error(tmp_path):
    with pytest.raises(ValueError, match="unknown model family 'knn'"):
        family("knn")
    np.savez(tmp_path / "m.npz", family=np.array("knn"), params=np.array("{}"))
    with pytest.raises(ValueError, match="m.npz: unknown model family 'knn'"):
        load_model(tmp_path / "m.npz")


def test_graph_filter_similar_items_are_the_filter_rows_by_hand():
    """Item i's row is the scores of a user who has only item i: row i of P (ideal off)."""
    config = GraphFilterConfig(gf_rank=4, gf_ideal_weight=0.0)
    model = fit_model("graph_filter", R, config, USERS)
    np.testing.assert_allclose(
        model.similar_items(np.array([0, 3])),
        [[0.5, 0.25, 0.25, 0, 0], [0, 0, 0, 0.5, 0.5]],
        atol=1e-6,
    )


def test_ensemble_similar_items_blend_standardised_member_rows():
    matrix = _matrix(1)
    ensemble = _fitted("ensemble", matrix)
    items = np.array([2, 5])
    expected = np.zeros((2, matrix.shape[1]), np.float32)
    for member, weight in zip(ensemble.members, ensemble.weights, strict=True):
        part = member.similar_items(items).astype(np.float32)
        standardise_rows(part, weight)
        expected += part
    np.testing.assert_allclose(ensemble.similar_items(items), expected, atol=1e-6)
    one = replace(ensemble, weights=(1.0,) + (0.0,) * (len(ensemble.members) - 1))
    alone = ensemble.members[0].similar_items(items).astype(np.float32)
    standardise_rows(alone)
    np.testing.assert_allclose(one.similar_items(items), alone, atol=1e-5)


def test_popularity_lists_through_the_shared_ranker_equal_scoring_every_item():
    """The family's fast rule (the popularity order minus exclusions) against the generic
    path: its block scorer ranked by the shared top-k over every item."""
    matrix = _matrix(2)
    model = fit_model("popularity", matrix, None, np.arange(40))
    rows = np.arange(40)
    fast = ranked_lists(model, rows, matrix, [matrix], np.zeros(30), RankConfig(top_k=6), "t")
    bias = np.zeros(30, np.float32)
    scored = top_k_scored(model.block_scorer(rows), 40, 30, bias, [matrix], 6)
    np.testing.assert_array_equal(fast[0][0], scored[0][0])
    np.testing.assert_allclose(fast[0][1], scored[0][1])
    order = popularity_bias(np.bincount(matrix.indices, minlength=30), 1.0)
    np.testing.assert_array_equal(fast[0][0], top_k_popular(order, matrix, 6)[0])


def test_similar_items_of_popularity_are_the_popular_items():
    model = fit_model("popularity", R, None, USERS)
    assert np.argmax(model.similar_items(np.array([4]))[0]) in (0, 1, 2)  # degree 2 beats 1


def test_fingerprint_ignores_the_settings_of_families_the_run_does_not_use():
    base = PipelineConfig(model="graph_filter")
    other_als = replace(base, als=ALSConfig(factors=3))
    assert fingerprint("sha", base) == fingerprint("sha", other_als)
    assert fingerprint("sha", replace(base, model="als")) != fingerprint(
        "sha", replace(other_als, model="als")
    )
    ensemble = replace(base, model="ensemble")
    assert fingerprint("sha", ensemble) != fingerprint("sha", replace(other_als, model="ensemble"))
    popular = replace(base, model="popularity")
    other_gf = replace(popular, graph_filter=GraphFilterConfig(gf_rank=3), als=ALSConfig(factors=3))
    assert fingerprint("sha", popular) == fingerprint("sha", other_gf)


def test_the_knobs_in_effect_are_a_family_s_own_or_its_members_but_their_ranking():
    from recsys_core.models.registry import knobs_in_effect

    assert knobs_in_effect("als") == set(family("als").knobs)
    blend = knobs_in_effect("ensemble")
    assert {"factors", "alpha", "gf_rank", "cheby_order"} <= blend
    assert not {"popularity_weight", "gf_popularity_weight", "cheby_popularity_weight"} & blend
    # A member the blend cannot use changes nothing: its knobs are not in effect.
    two = knobs_in_effect("ensemble", EnsembleConfig(ensemble_members=("als", "graph_filter")))
    assert {"factors", "gf_rank"} <= two and not {"cheby_order", "cheby_form"} & two
    fixed = knobs_in_effect("ensemble", EnsembleConfig(ensemble_choose=False))
    assert "gf_rank" in fixed and "cheby_order" not in fixed
    assert knobs_in_effect("popularity") == set()
