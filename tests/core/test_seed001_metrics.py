"""Seed 001's AP and "precision" beside the textbook ones, on one hand-worked list.

List [a, x, b, y] for relevant {a, b, c}, k = 4: hits at ranks 1 and 3.
"""

import numpy as np
import pytest

from recsys_core.metrics import (
    average_precision_at_k,
    precision_at_k,
    seed001_average_precision_at_k,
    seed001_precision_at_k,
)

HITS = np.array([[True, False, True, False]])
RELEVANT = np.array([3])


def test_textbook_definitions_are_the_default():
    # precision = hits / k; AP = (1/1 + 2/3) / min(3, 4)
    assert precision_at_k(HITS, 4)[0] == pytest.approx(2 / 4)
    assert average_precision_at_k(HITS, RELEVANT, 4)[0] == pytest.approx((1 + 2 / 3) / 3)


def test_seed_001_figures_on_the_same_list():
    # seed precision = hits / min(|relevant|, k); seed AP adds the running precision at
    # every rank: (1/1 + 1/2 + 2/3 + 2/4) / 3
    assert seed001_precision_at_k(HITS, RELEVANT, 4)[0] == pytest.approx(2 / 3)
    assert seed001_average_precision_at_k(HITS, RELEVANT, 4)[0] == pytest.approx(
        (1 + 1 / 2 + 2 / 3 + 2 / 4) / 3
    )
