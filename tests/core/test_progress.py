"""Progress logging of long steps: every ALS sweep; block scoring at most every 10 s."""

import logging

import numpy as np
import scipy.sparse as sp

from recsys_core.config import ALSConfig
from recsys_core.models.als import fit_als
from recsys_core.progress import Progress


def test_progress_is_throttled_and_always_reports_the_end(caplog, monkeypatch):
    clock = iter([0.0, 1.0, 5.0, 12.0, 13.0])
    monkeypatch.setattr("recsys_core.progress.time.perf_counter", lambda: next(clock))
    with caplog.at_level(logging.INFO, logger="recsys_core.progress"):
        progress = Progress("score", total=400, unit="users")  # t=0
        progress.update(100)  # t=1: too soon
        progress.update(200)  # t=5: too soon
        progress.update(300)  # t=12: logged
        progress.update(400)  # t=13: the end, always logged
    assert [r.getMessage() for r in caplog.records] == [
        "score: 300/400 users (75%), 12.0s elapsed, ETA 4.0s",
        "score: 400/400 users (100%), 13.0s elapsed, ETA 0.0s",
    ]


def test_als_logs_each_sweep(caplog):
    matrix = sp.random(40, 30, density=0.2, format="csr", random_state=0, dtype=np.float32)
    with caplog.at_level(logging.INFO, logger="recsys_core.progress"):
        fit_als(matrix, ALSConfig(factors=4, iterations=3), np.arange(40))
    sweeps = [r.getMessage() for r in caplog.records if r.name == "recsys_core.progress"]
    assert [m.split(":")[0] for m in sweeps] == [f"ALS sweep {n}/3" for n in (1, 2, 3)]
    assert all("ETA" in m for m in sweeps)
