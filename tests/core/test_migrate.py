"""Contract v1 → v2: readers read both; the migration is in place, idempotent and
interrupt-safe. ``tests/fixtures/v1_output`` was written by the v1 publish code (commit
281d9ca, ``recsys_core.snapshot.publish_snapshot`` in that layout)."""

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from recsys_core.publishing import migrate as migrate
from recsys_core.publishing.commit import publish_snapshot
from recsys_core.publishing.snapshot import (
    V1,
    V2,
    SnapshotError,
    latest_snapshot,
    read_metrics,
    read_recommendations,
    snapshot_folders,
    verify_snapshot,
    write_recommendations,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "v1_output"
DATES = ["dt=2026-11-20", "dt=2026-11-21"]


@pytest.fixture
def v1_output(tmp_path):
    out = tmp_path / "out"
    shutil.copytree(FIXTURE, out)
    return out


def _tree(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_readers_read_a_v1_output(v1_output):
    assert snapshot_folders(v1_output) == {name: V1 for name in DATES}
    assert latest_snapshot(v1_output) == str(v1_output / "dt=2026-11-21")
    assert read_recommendations(v1_output).num_rows == 18
    assert read_recommendations(v1_output, "2026-11-20", user_ids=[2]).num_rows == 3
    assert read_metrics(v1_output / DATES[1]) == {"validation": {"recall@3": 1.1}}
    for name in DATES:
        assert verify_snapshot(v1_output / name)["schema_version"] == 1


def test_publishing_into_a_v1_output_names_the_migration(v1_output, tmp_path):
    with pytest.raises(SnapshotError, match="python -m recsys_core.migrate"):
        publish_snapshot(v1_output, dt.date(2026, 11, 22), "r", {}, "m", {"fingerprint": "x"})


def test_the_documented_command_migrates(v1_output):
    """``python -m recsys_core.migrate OUT`` (README, Makefile) stays the command."""
    done = subprocess.run(
        [sys.executable, "-m", "recsys_core.migrate", str(v1_output)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == [f"migrated {n}" for n in DATES]
    assert snapshot_folders(v1_output) == {name: V2 for name in DATES}


def test_migration_converts_in_place_and_a_second_run_changes_nothing(v1_output, capsys):
    before = read_recommendations(v1_output, "2026-11-20")
    assert migrate.main([str(v1_output)]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [f"migrated {n}" for n in DATES]
    assert snapshot_folders(v1_output) == {name: V2 for name in DATES}
    for name in DATES:
        manifest = verify_snapshot(v1_output / name)
        assert manifest["schema_version"] == 2 and manifest["migrated_from_schema"] == 1
        assert sorted(p.name for p in (v1_output / name).iterdir()) == [
            "_SUCCESS",
            "_manifest.json",
            "_metrics.json",
            "_model.npz",
            "recommendations.parquet",
        ]
    assert sorted(p.name for p in v1_output.iterdir() if p.is_file()) == [".lock", "_LATEST"]
    assert (v1_output / "_LATEST").read_text() == "dt=2026-11-21\n"
    assert read_recommendations(v1_output, "2026-11-20").equals(before)
    assert len(pd.read_parquet(v1_output)) == 36  # the bare reader now works
    state = _tree(v1_output)
    assert migrate.main([str(v1_output)]) == 0
    assert _tree(v1_output) == state


@pytest.mark.parametrize("stop_after", ["links", "manifest", "marker", "folders"])
def test_an_interrupted_migration_leaves_readable_snapshots_and_finishes_on_rerun(
    v1_output, stop_after
):
    folder = v1_output / DATES[0]
    # Replay the migration's steps on one folder up to a kill point.
    for old, new in migrate.RENAMED.items():
        (folder / new).hardlink_to(folder / old)
    if stop_after != "links":
        migrate._migrate_folder(folder)
        if stop_after != "marker":
            (folder / V2.marker).unlink()  # killed between the manifest and the marker
    if stop_after == "folders":
        migrate._migrate_folder(folder)
        migrate._drop_v1_names(folder)  # killed before LATEST moved
    assert set(snapshot_folders(v1_output)) == set(DATES)
    for name in DATES:
        verify_snapshot(v1_output / name)
    assert read_recommendations(v1_output).num_rows == 18
    migrate.migrate_output(v1_output)
    assert snapshot_folders(v1_output) == {name: V2 for name in DATES}
    assert not (v1_output / V1.latest).exists()
    for name in DATES:
        verify_snapshot(v1_output / name)


def test_a_migrated_output_takes_new_publishes(v1_output, tmp_path):
    migrate.migrate_output(v1_output)
    scored = tmp_path / "s.parquet"
    write_recommendations(
        pa.table({"user_id": pa.array([0], pa.int64()), "rank": pa.array([1], pa.int16())}),
        scored,
    )
    model = tmp_path / "m.npz"
    np.savez(model, x=np.zeros(1))
    publish_snapshot(v1_output, dt.date(2026, 11, 22), scored, {}, model, {"fingerprint": "n"})
    assert latest_snapshot(v1_output) == str(v1_output / "dt=2026-11-22")
    assert len(snapshot_folders(v1_output)) == 3
