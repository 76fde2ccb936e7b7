"""Step-folder mechanics: atomic step output and work-dir pruning."""

import datetime as dt
import os

import numpy as np
import pytest

from recsys_core.snapshot import publish_snapshot
from recsys_core.steps import is_complete, prune_work, step_output


def test_step_output_appears_only_when_complete(tmp_path):
    target = tmp_path / "split" / "abc"
    with pytest.raises(RuntimeError), step_output(target) as staging:
        (staging / "part.parquet").write_text("half")
        raise RuntimeError("crash mid-step")
    assert not target.exists() and list((tmp_path / "split").iterdir()) == []
    with step_output(target) as staging:
        (staging / "part.parquet").write_text("whole")
    assert is_complete(target)


def test_prune_work_keeps_referenced_and_fresh_folders(tmp_path):
    out, work = tmp_path / "out", tmp_path / "out" / "_work"
    kept, idle, fresh = (work / "ingest" / name for name in ("kept", "idle", "fresh"))
    for folder in (kept, idle, fresh):
        folder.mkdir(parents=True)
    day_ago = dt.datetime.now().timestamp() - 2 * 24 * 3600
    os.utime(idle, (day_ago, day_ago))
    os.utime(kept, (day_ago, day_ago))
    model = tmp_path / "m.npz"
    np.savez(model, user_factors=np.zeros((1, 1)))
    import pyarrow as pa

    recs = pa.table({"user_id": [1], "rank": [1], "item_id": [2], "score": [0.5]})
    publish_snapshot(out, dt.date(2026, 11, 20), recs, {}, model, {"work_dirs": [str(kept)]})
    pruned = prune_work(str(out), current=[])
    assert pruned == [str(idle)]
    assert kept.exists() and fresh.exists() and not idle.exists()
