"""The compiled per-row z-scores against numpy in float64."""

import numpy as np
import pytest

from recsys_core.models.zscore import add_standardised, standardise_rows


def _reference(rows: np.ndarray, weight: float) -> np.ndarray:
    rows = rows.astype(np.float64)
    centred = rows - rows.mean(axis=1, keepdims=True)
    deviation = np.sqrt((centred**2).mean(axis=1, keepdims=True))
    return weight * np.divide(centred, deviation, out=np.zeros_like(centred), where=deviation > 0)


@pytest.mark.parametrize("width", [1, 7, 8, 9, 1001])
def test_rows_equal_numpy_in_float64_whatever_the_width(width):
    rng = np.random.default_rng(width)
    rows = (rng.standard_normal((5, width)) * 3 + 1e3).astype(np.float32)
    rows[1] = 2.5  # a constant row becomes 0
    expected = _reference(rows, 0.7)
    standardise_rows(rows, 0.7)
    np.testing.assert_allclose(rows, expected, rtol=1e-5, atol=1e-5)
    assert not rows[1].any()


def test_added_into_a_strided_block_leaves_the_scores_and_the_padding():
    rng = np.random.default_rng(0)
    buffer = rng.standard_normal((6, 40)).astype(np.float32)
    scores = rng.standard_normal((6, 33)).astype(np.float32)
    before, kept = buffer.copy(), scores.copy()
    add_standardised(scores, buffer[:, :33], 2.0)
    np.testing.assert_allclose(buffer[:, :33], before[:, :33] + _reference(kept, 2.0), atol=1e-5)
    np.testing.assert_array_equal(buffer[:, 33:], before[:, 33:])
    np.testing.assert_array_equal(scores, kept)
    with pytest.raises(ValueError, match="shapes differ"):
        add_standardised(scores, buffer, 1.0)


def test_a_row_s_z_scores_do_not_depend_on_the_rows_beside_it():
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((9, 517)).astype(np.float32)
    whole, alone = rows.copy(), rows[4:5].copy()
    standardise_rows(whole)
    standardise_rows(alone)
    np.testing.assert_array_equal(whole[4:5], alone)
