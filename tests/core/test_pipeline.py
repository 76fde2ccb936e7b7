"""The wiring run in-process (LocalRunner): reuse, recompute, publish, all from inputs."""

import datetime as dt
import inspect
import shutil
from dataclasses import replace

import pytest

from recsys_core.config import ALSConfig, PipelineConfig, PublishConfig, RankConfig
from recsys_core.errors import InputError
from recsys_core.models.registry import BLEND_MEMBERS
from recsys_core.pipeline.execute import LocalRunner
from recsys_core.pipeline.manifest import fingerprint
from recsys_core.pipeline.nightly import nightly_plan
from recsys_core.pipeline.table import STEPS

NIGHTLY_STEPS = ("ingest", "split", "weight", "train-eval", "evaluate", "train-full", "score")

SMALL = PipelineConfig(als=ALSConfig(factors=8, iterations=3), rank=RankConfig(top_k=5))


def _run(source, tmp_path, configs=SMALL, publish=True):
    target = PublishConfig(str(tmp_path / "out"), dt.date(2026, 11, 20)) if publish else None
    return LocalRunner(tmp_path / "work").run_plan(
        nightly_plan(configs, source, tmp_path / "work", publish=target)
    )


def test_folder_steps_write_into_a_staging_folder_and_the_others_do_not():
    for step in STEPS.values():
        first = next(iter(inspect.signature(step.run).parameters))
        assert (first == "staging") == step.folder, step.name


def test_second_run_reuses_every_step_and_leaves_the_snapshot(synthetic_adjacency, tmp_path):
    first = _run(synthetic_adjacency, tmp_path)
    assert first["publish"]["status"] == "published"
    assert not any(first[step]["reused"] for step in NIGHTLY_STEPS)
    second = _run(synthetic_adjacency, tmp_path)
    assert all(second[step]["reused"] for step in NIGHTLY_STEPS)
    assert [second[s]["dir"] for s in NIGHTLY_STEPS] == [first[s]["dir"] for s in NIGHTLY_STEPS]
    assert second["publish"]["status"] == "already published"
    assert second["evaluate"]["metrics"] == first["evaluate"]["metrics"]


def test_a_deleted_step_folder_is_recomputed(synthetic_adjacency, tmp_path):
    first = _run(synthetic_adjacency, tmp_path, publish=False)
    shutil.rmtree(first["weight"]["dir"])
    again = _run(synthetic_adjacency, tmp_path, publish=False)
    assert [s for s in NIGHTLY_STEPS if not again[s]["reused"]] == ["weight"]


def test_a_changed_parameter_reruns_only_the_steps_it_reaches(synthetic_adjacency, tmp_path):
    single = replace(SMALL, model="als")
    _run(synthetic_adjacency, tmp_path, configs=single, publish=False)
    changed = replace(single, rank=RankConfig(top_k=7))
    again = _run(synthetic_adjacency, tmp_path, configs=changed, publish=False)
    assert [s for s in NIGHTLY_STEPS if not again[s]["reused"]] == ["evaluate", "score"]
    assert fingerprint("sha", changed) != fingerprint("sha", single)


def test_a_changed_top_k_refits_no_blend_member(synthetic_adjacency, tmp_path):
    """top_k reaches the blend's choice (its metric is at k), never a member's fit."""
    _run(synthetic_adjacency, tmp_path, publish=False)
    again = _run(synthetic_adjacency, tmp_path, configs=replace(SMALL, rank=RankConfig(top_k=7)))
    members = [step for step in again if step.startswith("train-eval[")]
    assert len(members) == len(BLEND_MEMBERS)
    assert all(again[step]["reused"] for step in members)
    assert not again["blend-choose"]["reused"]


def test_missing_input_names_the_file(tmp_path):
    with pytest.raises(InputError, match="nope.txt: expected an existing input file"):
        _run(tmp_path / "nope.txt", tmp_path)


def test_too_many_bad_rows_leave_the_rejected_rows_where_the_error_says(tmp_path):
    import re

    from recsys_core.config import IngestConfig
    from recsys_core.errors import TooManyBadRows

    src = tmp_path / "events.csv"
    src.write_text("UserID,ProductCode,Event\nu1,p1,view\nu2,p2,buy\nu3,p3,view\n")
    configs = replace(SMALL, ingest=IngestConfig(bad_rows="quarantine", max_bad_fraction=0.1))
    with pytest.raises(TooManyBadRows) as raised:
        _run(src, tmp_path, configs=configs)
    named = re.search(r"see (\S+\.parquet)\)", str(raised.value)).group(1)
    import pyarrow.parquet as pq

    rejected = pq.read_table(named).to_pydict()
    assert rejected["line"] == [3] and rejected["column"] == ["Event"]
    assert named.startswith(str(tmp_path / "work" / "ingest" / "rejected-"))
    assert not (tmp_path / "out").exists()


def test_evaluate_users_samples_the_evaluation_alike_in_one_block_and_three(
    synthetic_adjacency, tmp_path
):
    from recsys_core.config import EvaluationConfig

    configs = replace(SMALL, model="als", evaluation=EvaluationConfig(evaluate_users=100))
    whole = LocalRunner(tmp_path / "work").run_plan(
        nightly_plan(configs, synthetic_adjacency, tmp_path / "work")
    )
    assert whole["evaluate"]["metrics"]["uncertainty"]["evaluated_users"] == 100
    blocks = LocalRunner(tmp_path / "work").run_plan(
        nightly_plan(configs, synthetic_adjacency, tmp_path / "work", user_blocks=3)
    )
    assert blocks["evaluate"]["metrics"] == whole["evaluate"]["metrics"]
