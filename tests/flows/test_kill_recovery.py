"""SIGKILL a process running the nightly flow (the CLI) at points during scoring and
publishing on local disk; after each kill every visible ``dt=`` folder is complete and
verifies, ``_LATEST`` leads to a complete snapshot, and the next run succeeds and leaves no
leftovers. The kill is a test fixture: a driver patches one function to SIGKILL itself on
its n-th matching call, then runs the CLI."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from recsys_core.publishing.snapshot import (
    SIMILAR_ITEMS_DIR,
    latest_snapshot,
    published_dates,
    read_manifest,
    verify_snapshot,
)
from tests.conftest import ROOT

SMALL = {"factors": 8, "iterations": 3, "top_k": 5, "max_metric_drop": 1.0}
PRIOR = ["2026-11-18", "2026-11-19"]
DAY = "2026-11-20"

DRIVER = """
import importlib, os, signal, sys
target, nth, marker, params = sys.argv[1:]
module_name, _, attr = target.partition(":")
owner = importlib.import_module(module_name)
*path, name = attr.split(".")
for part in path:
    owner = getattr(owner, part)
original, calls = getattr(owner, name), [0]

def hooked(*args, **kwargs):
    if marker in repr(args):
        calls[0] += 1
        if calls[0] == int(nth):
            os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)

setattr(owner, name, hooked)
from flows.nightly import main
sys.exit(main(["--params", params]))
"""

# (function to kill in, n-th call, marker its arguments contain)
SCORING = {
    "before the scores are written": ("recsys_core.pipeline.steps:write_recommendations", 1, ""),
    "renaming the score folder into place": ("os:rename", 1, "/score/"),
}
PUBLISHING = {
    "before the first file is linked": ("recsys_core.publishing.commit:link_or_copy", 1, ""),
    "between linked files": ("recsys_core.publishing.commit:link_or_copy", 2, ""),
    "before the staging folder is fsynced": ("recsys_core.publishing.commit:fsync_tree", 1, ""),
    "renaming the similar items' date into place": ("os:rename", 1, "_similar_items/dt="),
    "before the similar items' _LATEST": ("recsys_core.io.storage:replace_bytes", 1, "_LATEST"),
    "renaming the date into place": ("os:rename", 1, "out/dt="),
    "before _LATEST is written": ("recsys_core.io.storage:replace_bytes", 2, "_LATEST"),
    "before _LATEST is renamed into place": ("os:replace", 1, "_LATEST"),
    "before retention": ("recsys_core.pipeline.publish:apply_retention", 1, ""),
    "retention, renaming the old date aside": ("os:rename", 1, ".retired-"),
    "retention, removing the old date": ("shutil:rmtree", 1, ".retired-"),
    "before pruning the work dir": ("recsys_core.pipeline.publish:prune_work", 1, ""),
}
REPLACING = {
    "replace: renaming the old date aside": ("os:rename", 1, "out/dt="),
    "replace: between the two renames": ("os:rename", 2, "out/dt="),
    "replace: between the similar items' renames": ("os:rename", 2, "_similar_items/dt="),
    "replace: removing the old date": ("shutil:rmtree", 1, ".replaced-"),
    "replace: before retention": ("recsys_core.pipeline.publish:apply_retention", 1, ""),
}
CASES = [(n, p, False) for n, p in {**SCORING, **PUBLISHING}.items()] + [
    (n, p, True) for n, p in REPLACING.items()
]


@pytest.fixture(scope="module")
def outputs(prefect_harness, synthetic_adjacency, tmp_path_factory):
    """Two published outputs: PRIOR dates, and PRIOR plus DAY (from other parameters)."""
    from flows.nightly import main

    root = tmp_path_factory.mktemp("kills")
    made = {}
    for name, days in {"new": PRIOR, "replace": [*PRIOR, DAY]}.items():
        out = root / name
        for day in days:
            params = {
                **SMALL,
                "factors": 6,
                "input_path": str(synthetic_adjacency),
                "output_dir": str(out),
                "run_date": day,
            }
            assert main(["--params", json.dumps(params)]) == 0
        made[name] = out
    return made


@pytest.mark.slow
@pytest.mark.parametrize(("point", "hook", "replacing"), CASES, ids=[c[0] for c in CASES])
def test_a_kill_leaves_complete_snapshots_and_the_next_run_recovers(
    outputs, prefect_api_url, synthetic_adjacency, tmp_path, monkeypatch, point, hook, replacing
):
    from flows.nightly import main

    out = tmp_path / "out"
    shutil.copytree(outputs["replace" if replacing else "new"], out)
    params = {
        **SMALL,
        "input_path": str(synthetic_adjacency),
        "output_dir": str(out),
        "run_date": DAY,
        "keep_last": 2,
    }
    target, nth, marker = hook
    # The harness's API: a server of its own would cost the run 10-30 s to start. Without
    # the cross-machine slot: a killed holder's lease lapses only after 60 s, and these
    # tests are about the files (tests/flows/test_cross_machine_lock.py is about the slot).
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url, "RECSYS_OUTPUT_SLOT": "off"}
    monkeypatch.setenv("RECSYS_OUTPUT_SLOT", "off")  # the recovering run below
    # Output to a file, not a pipe: the killed run's Prefect API child would hold a pipe
    # open. Its own session, so that child is killed with it.
    log = tmp_path / "killed.log"
    with open(log, "w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, target, str(nth), marker, json.dumps(params)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = process.wait(timeout=180)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    assert code == -signal.SIGKILL, log.read_text()[-2000:]

    similar = out / SIMILAR_ITEMS_DIR
    for dataset in (out, similar):
        visible = sorted(p.name for p in dataset.glob("dt=*"))
        assert visible == published_dates(dataset)  # nothing half-written is visible
        for name in visible:
            verify_snapshot(dataset / name)
        assert "dt=2026-11-19" in visible
        latest = latest_snapshot(dataset)
        assert latest is not None and verify_snapshot(latest)
    # A visible user snapshot's similar items are visible too (they are published first).
    for name in published_dates(out):
        named = read_manifest(out / name)["similar_items"]
        assert named is not None and verify_snapshot(named)

    assert main(["--params", json.dumps(params)]) == 0
    assert published_dates(out) == ["dt=2026-11-19", f"dt={DAY}"]
    assert published_dates(similar) == published_dates(out)
    for name in published_dates(out):
        verify_snapshot(out / name)
        verify_snapshot(similar / name)
    assert read_manifest(out / f"dt={DAY}")["params"]["factors"] == SMALL["factors"]
    assert (out / "_LATEST").read_text() == f"dt={DAY}\n"
    assert (similar / "_LATEST").read_text() == f"dt={DAY}\n"
    for dataset in (out, similar):
        leftovers = [p.name for p in dataset.iterdir() if p.name.startswith(".")]
        assert [name for name in leftovers if name != ".lock"] == []
