"""Step folders: keys derived from inputs, write-once staging, pruning."""

import os
import time

import pytest

from recsys_core.config import SplitConfig
from recsys_core.io.atomic import is_complete, staged_folder
from recsys_core.io.workdir import prune_work, step_key
from recsys_core.pipeline.execute import folder_of
from recsys_core.pipeline.plan import StepCall
from recsys_core.pipeline.table import STEP_NAMES


def test_key_covers_every_input_and_config_field():
    base = {"ingest_dir": "/w/ingest/abc", "config": SplitConfig()}
    assert step_key("split", base) == step_key("split", dict(reversed(base.items())))
    assert step_key("split", base) != step_key("split", {**base, "ingest_dir": "/w/ingest/abd"})
    assert step_key("split", base) != step_key(
        "split", {**base, "config": SplitConfig(min_user_items=6)}
    )
    assert step_key("split", base) != step_key("weight", base)


def test_unknown_steps_and_inputs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown step 'splt'"):
        folder_of(tmp_path, StepCall("splt", {}))
    with pytest.raises(TypeError, match="cannot be part of a step key"):
        step_key("split", {"x": object()})


def test_staged_folder_appears_only_when_complete(tmp_path):
    target = tmp_path / "split" / "abc"
    with pytest.raises(RuntimeError), staged_folder(target) as staging:
        (staging / "part.parquet").write_text("half")
        raise RuntimeError("crash mid-step")
    assert not target.exists() and list((tmp_path / "split").iterdir()) == []
    with staged_folder(target) as staging:
        (staging / "part.parquet").write_text("whole")
    assert is_complete(target) and (target / "part.parquet").read_text() == "whole"


def test_a_complete_folder_is_never_replaced_by_a_second_writer(tmp_path):
    target = tmp_path / "split" / "abc"
    with staged_folder(target) as staging:
        (staging / "part.parquet").write_text("first")
    inode = target.stat().st_ino
    with staged_folder(target) as staging:  # a concurrent run that computed the same
        (staging / "part.parquet").write_text("second")
    assert target.stat().st_ino == inode and (target / "part.parquet").read_text() == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["abc"]


def test_an_incomplete_leftover_is_replaced(tmp_path):
    target = tmp_path / "split" / "abc"
    target.mkdir(parents=True)
    (target / "part.parquet").write_text("killed run")
    with staged_folder(target) as staging:
        (staging / "part.parquet").write_text("whole")
    assert is_complete(target) and (target / "part.parquet").read_text() == "whole"


def test_prune_work_keeps_referenced_and_fresh_folders(tmp_path):
    work = tmp_path / "_work"
    kept, idle, fresh = (work / "ingest" / name for name in ("kept", "idle", "fresh"))
    stranger = work / "not-a-step" / "idle"
    for folder in (kept, idle, fresh, stranger):
        folder.mkdir(parents=True)
    two_days_ago = time.time() - 2 * 24 * 3600
    for folder in (idle, kept, stranger):
        os.utime(folder, (two_days_ago, two_days_ago))
    assert prune_work(work, STEP_NAMES, keep=[str(kept)]) == [str(idle)]
    assert kept.exists() and fresh.exists() and stranger.exists() and not idle.exists()
