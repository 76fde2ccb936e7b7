"""Blocked top-k against a per-user brute-force reference (the seed's algorithm)."""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_core.ranking.popular import popularity_bias, top_k_popular
from recsys_core.ranking.scorer import gemm_scorer
from recsys_core.ranking.topk import contains, top_k_scored


def top_k_multi(users, items, bias, excludes, k, **kwargs):
    """The factor models' path: the GEMM scorer through the shared block top-k."""
    scorer = gemm_scorer(users, items)
    return top_k_scored(scorer, len(users), len(items), bias, excludes, k, **kwargs)


def top_k(users, items, bias, exclude, k, **kwargs):
    return top_k_multi(users, items, bias, [exclude], k, **kwargs)[0]


@pytest.fixture(params=[4096, 7, 3], ids=["one-item-chunks", "7-chunks", "3-chunks"])
def case(request, monkeypatch):
    """Small data; small chunk counts exercise padding and multi-item strided chunks."""
    monkeypatch.setattr("recsys_core.ranking.tiles.TARGET_CHUNKS", request.param)
    rng = np.random.default_rng(5)
    n_users, n_items, f = 37, 53, 6
    users = rng.normal(size=(n_users, f)).astype(np.float32)
    items = rng.normal(size=(n_items, f)).astype(np.float32)
    seen = sp.random(n_users, n_items, density=0.2, random_state=6, format="csr")
    seen.data[:] = 1
    seen.sort_indices()
    bias = popularity_bias(rng.integers(0, 50, n_items), 0.15)
    return users, items, seen, bias


def _reference(users, items, seen, bias, k, pool=None):
    """Seed 000's loop, per user: optional ALS top-`pool` candidates, blend, drop seen, sort."""
    out = []
    for u in range(len(users)):
        raw = items @ users[u]
        order = np.argsort(-raw, kind="stable")
        candidates = order if pool is None else order[: pool[u]]
        blended = raw[candidates] + bias[candidates]
        keep = ~np.isin(candidates, seen[u].indices)
        candidates, blended = candidates[keep], blended[keep]
        out.append(candidates[np.argsort(-blended, kind="stable")][:k].tolist())
    return out


def test_top_k_matches_reference_across_blocks(case):
    users, items, seen, bias = case
    got, scores = top_k(users, items, bias, seen, 5, block_size=8)
    assert got.tolist() == _reference(users, items, seen, bias, 5)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_seed_pool_matches_reference(case):
    users, items, seen, bias = case
    pool = 5 + np.diff(seen.indptr) + 3
    got, _ = top_k(users, items, bias * 40, seen, 5, pool_sizes=pool, block_size=10)
    assert got.tolist() == _reference(users, items, seen, bias * 40, 5, pool)


def test_multi_equals_separate_calls(case):
    users, items, seen, bias = case
    more = (seen + sp.eye(*seen.shape, format="csr")).tocsr()
    (a, _), (b, _) = top_k_multi(users, items, bias, [seen, more], 4, block_size=9)
    assert a.tolist() == top_k(users, items, bias, seen, 4)[0].tolist()
    assert b.tolist() == top_k(users, items, bias, more, 4)[0].tolist()


def test_fewer_unseen_items_than_k_pads_with_minus_one():
    users = np.ones((2, 2), dtype=np.float32)
    items = np.eye(2, dtype=np.float32)
    seen = sp.csr_matrix(np.array([[1, 0], [0, 0]]))
    got, scores = top_k(users, items, np.zeros(2, np.float32), seen, 3)
    assert got.tolist() == [[1, -1], [0, 1]] or got.tolist() == [[1, -1], [1, 0]]
    assert np.isneginf(scores[0, 1])


def test_popularity_baseline_matches_reference(case):
    users, items, seen, bias = case
    got, _ = top_k_popular(bias, seen, 6)
    zero = np.zeros_like(users)
    assert got.tolist() == _reference(zero, items, seen, bias, 6)


def test_contains():
    m = sp.csr_matrix(np.array([[0, 1, 1], [1, 0, 0]]))
    assert contains(m, np.array([[1, 0, -1], [0, 2, 1]])).tolist() == [
        [True, False, False],
        [True, False, False],
    ]


def test_bias_folded_into_the_gemm_gives_the_same_lists(case):
    users, items, seen, bias = case
    validation = sp.random(37, 53, density=0.05, random_state=8, format="csr")
    excludes = [seen, (seen + validation).tocsr()]
    apart = top_k_multi(users, items, bias, excludes, 5, block_size=8)
    folded = top_k_scored(
        gemm_scorer(users, items, bias),
        37,
        53,
        bias,
        excludes,
        5,
        block_size=8,
        bias_in_scores=True,
    )
    for (items_a, scores_a), (items_b, scores_b) in zip(apart, folded, strict=True):
        np.testing.assert_array_equal(items_a, items_b)
        np.testing.assert_allclose(scores_a, scores_b, rtol=1e-5)


def test_a_seed_pool_refuses_a_scorer_that_adds_the_bias(case):
    users, items, seen, bias = case
    with pytest.raises(ValueError, match="raw scores"):
        top_k_scored(
            gemm_scorer(users, items, bias),
            37,
            53,
            bias,
            [seen],
            5,
            pool_sizes=np.full(37, 10),
            bias_in_scores=True,
        )


@pytest.mark.parametrize("headroom", [0, 1, 3, 64])
def test_popularity_baseline_is_exact_whatever_the_headroom(case, headroom):
    # Users who exclude most of the popular head need the wide pass; others the narrow one.
    users, items, seen, bias = case
    head = np.argsort(-bias, kind="stable")[:10]
    crowded = seen.tolil()
    crowded[0, head] = 1
    crowded[5, head[::2]] = 1
    crowded = crowded.tocsr()
    got, scores = top_k_popular(bias, crowded, 6, headroom=headroom)
    assert got.tolist() == _reference(np.zeros_like(users), items, crowded, bias, 6)
    assert np.array_equal(scores, bias[got])


def test_a_wide_catalogue_caps_rows_per_block_with_the_same_lists(case, monkeypatch):
    import recsys_core.ranking.tiles as ranking

    users, items, seen, bias = case
    expected = top_k_multi(users, items, bias, [seen], 5)[0][0]
    monkeypatch.setattr(ranking, "BLOCK_CELLS", 3 * 64)  # 3 rows of the padded width
    monkeypatch.setattr(ranking, "MIN_BLOCK_ROWS", 2)
    assert top_k_multi(users, items, bias, [seen], 5)[0][0].tolist() == expected.tolist()


def test_tied_scores_list_the_lower_item_first():
    """Duplicated items score exactly alike: the lower index comes first, in every block."""
    rng = np.random.default_rng(3)
    users = rng.normal(size=(9, 4)).astype(np.float32)
    items = np.repeat(rng.normal(size=(6, 4)).astype(np.float32), 3, axis=0)[::-1].copy()
    no_seen = sp.csr_matrix((9, 18), dtype=np.float32)
    got, scores = top_k(users, items, np.zeros(18, np.float32), no_seen, 7, block_size=4)
    assert got.tolist() == _reference(users, items, no_seen, np.zeros(18, np.float32), 7)
    tied = scores[:, 1:] == scores[:, :-1]
    assert tied.any() and (got[:, 1:][tied] > got[:, :-1][tied]).all()


def test_packed_candidate_order_equals_a_lexsort():
    """Row ascending, value descending (-0.0 as 0.0, -inf last), column ascending; the
    packed-key sort and its lexsort fallback (columns too wide to pack) agree."""
    from recsys_core.ranking.topk import _by_row_best_first

    rng = np.random.default_rng(4)
    n = 2_000
    rows = rng.integers(0, 50, n)
    cols = rng.permutation(n)
    values = rng.choice(np.array([-np.inf, -1.5, -0.0, 0.0, 0.25, 3.0], np.float32), n)
    values[:100] = rng.normal(size=100).astype(np.float32)
    expected = np.lexsort((cols, -values.astype(np.float64) + 0.0, rows))
    for scale in (1, 2**40):  # 2**40: 41 column bits, no room to pack
        got_rows, got_cols, got_values = _by_row_best_first(rows, cols * scale, values)
        assert got_rows.tolist() == rows[expected].tolist()
        assert got_cols.tolist() == (cols[expected] * scale).tolist()
        assert got_values.tobytes() == (values[expected] + np.float32(0)).tobytes()
