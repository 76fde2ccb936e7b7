"""Atomic publish, _LATEST, recovery, readers (pyarrow, pandas, DuckDB, Polars), verification."""

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from recsys_core.publishing.commit import apply_retention, publish_snapshot, recover
from recsys_core.publishing.snapshot import (
    ROW_GROUP_ROWS,
    Decision,
    SnapshotError,
    latest_snapshot,
    published_dates,
    read_recommendations,
    row_groups_for_users,
    verify_snapshot,
    write_recommendations,
)


def _recs(n_users=50, k=3, offset=0):
    return pa.table(
        {
            "user_id": pa.array(np.repeat(np.arange(n_users) + offset, k)),
            "rank": pa.array(np.tile(np.arange(1, k + 1, dtype=np.int16), n_users)),
            "item_id": pa.array([f"i{j}" for j in range(n_users * k)]),
            "score": pa.array(np.linspace(1, 0, n_users * k, dtype=np.float32)),
        }
    )


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "factors.npz"
    np.savez(path, user_factors=np.zeros((2, 2)), item_factors=np.zeros((3, 2)))
    return path


@pytest.fixture
def scored(tmp_path):
    path = tmp_path / "scored.parquet"
    write_recommendations(_recs(), path)
    return path


def _publish(out, day, model, scored, fingerprint="abc", **kwargs):
    return Path(
        publish_snapshot(
            out,
            dt.date.fromisoformat(day),
            scored,
            {"test": {"recall@3": 0.5}},
            model,
            {"input_sha256": "abc", "fingerprint": fingerprint},
            **kwargs,
        )[1]
    )


def test_publish_layout_manifest_and_latest(tmp_path, model, scored):
    out = tmp_path / "out"
    folder = _publish(out, "2026-11-20", model, scored)
    assert folder.name == "dt=2026-11-20"
    assert sorted(p.name for p in folder.iterdir()) == [
        "_SUCCESS",
        "_manifest.json",
        "_metrics.json",
        "_model.npz",
        "recommendations.parquet",
    ]
    manifest = verify_snapshot(folder)
    assert manifest["schema_version"] == 2 and manifest["run_date"] == "2026-11-20"
    assert manifest["rows"]["recommendations"] == 150
    assert manifest["sizes"]["recommendations.parquet"] == scored.stat().st_size
    assert (out / "_LATEST").read_text().strip() == "dt=2026-11-20"
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_latest_names_the_newest_date_even_after_a_backfill(tmp_path, model, scored):
    out = tmp_path / "out"
    _publish(out, "2026-11-21", model, scored)
    _publish(out, "2026-11-19", model, scored)
    assert latest_snapshot(out) == str(out / "dt=2026-11-21")
    assert published_dates(out) == ["dt=2026-11-19", "dt=2026-11-21"]


def _state(out):
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*")}


@pytest.mark.parametrize(
    ("fingerprint", "overwrite", "decision"),
    [
        ("abc", True, Decision.UNCHANGED),  # same input, parameters and code: a no-op
        ("abc", False, Decision.UNCHANGED),
        ("other", False, Decision.KEEP),  # changed, but replacing was not asked for
    ],
)
def test_publish_policy_leaves_the_date_alone(
    tmp_path, model, scored, fingerprint, overwrite, decision
):
    out = tmp_path / "out"
    _publish(out, "2026-11-20", model, scored)
    before = _state(out)
    got, path = publish_snapshot(
        out,
        dt.date(2026, 11, 20),
        scored,
        {},
        model,
        {"fingerprint": fingerprint},
        overwrite=overwrite,
    )
    assert got is decision and path == str(out / "dt=2026-11-20")
    assert _state(out) == before


def test_publish_policy_replaces_a_changed_date_when_asked(tmp_path, model, scored):
    out = tmp_path / "out"
    _publish(out, "2026-11-20", model, scored)
    decision, folder = publish_snapshot(
        out, dt.date(2026, 11, 20), scored, {"v": 2}, model, {"fingerprint": "new"}
    )
    assert decision is Decision.REPLACE
    assert verify_snapshot(folder)["fingerprint"] == "new"
    assert json.loads(Path(folder, "_metrics.json").read_text()) == {"v": 2}
    assert sorted(p.name for p in out.iterdir()) == ["_LATEST", "dt=2026-11-20"]


def test_publish_links_the_scored_file_without_rewriting_it(tmp_path, model, scored):
    folder = _publish(tmp_path / "out", "2026-11-20", model, scored)
    assert (folder / "recommendations.parquet").read_bytes() == scored.read_bytes()


def test_failed_publish_leaves_previous_snapshot_intact(tmp_path, model, scored):
    out = tmp_path / "out"
    before = _publish(out, "2026-11-20", model, scored)
    manifest = (before / "_manifest.json").read_text()
    with pytest.raises(FileNotFoundError):
        publish_snapshot(
            out, dt.date(2026, 11, 20), scored, {}, tmp_path / "missing.npz", {"fingerprint": "x"}
        )
    assert (before / "_manifest.json").read_text() == manifest
    assert verify_snapshot(before)
    assert sorted(p.name for p in out.iterdir()) == ["_LATEST", "dt=2026-11-20"]


def test_verify_detects_tampering(tmp_path, model, scored):
    folder = _publish(tmp_path / "out", "2026-11-20", model, scored)
    metrics = folder / "_metrics.json"
    original = metrics.read_bytes()
    metrics.write_bytes(original.replace(b"0.5", b"0.9"))  # same size, other bytes
    with pytest.raises(SnapshotError, match="sha256"):
        verify_snapshot(folder)
    metrics.write_bytes(original + b" ")
    with pytest.raises(SnapshotError, match="size"):
        verify_snapshot(folder)


def test_every_dataset_reader_reads_the_output_folder_with_no_options(tmp_path, model, scored):
    out = tmp_path / "out"
    _publish(out, "2026-11-20", model, scored)
    _publish(out, "2026-11-21", model, scored)
    step = out / "_work" / "score" / "0123abcd"  # step folders and the lock, hidden
    step.mkdir(parents=True)
    pq.write_table(_recs(), step / "recommendations.parquet")
    (out / ".lock").write_text("")
    table = ds.dataset(out, partitioning="hive").to_table()
    assert table.num_rows == 300 and set(table.column("dt").to_pylist()) == {
        "2026-11-20",
        "2026-11-21",
    }
    frame = pd.read_parquet(out)
    assert len(frame) == 300 and frame["dt"].nunique() == 2
    duckdb = pytest.importorskip("duckdb")
    query = f"select count(*), count(distinct dt) from read_parquet('{out}/*/*.parquet', "
    assert duckdb.sql(query + "hive_partitioning = true)").fetchall() == [(300, 2)]
    polars = pytest.importorskip("polars")
    # Polars does not skip `_` folders: `**` would descend into _work, so name the dates.
    lazy = polars.scan_parquet(f"{out}/dt=*/*.parquet", hive_partitioning=True)
    got = lazy.select(polars.len(), polars.col("dt").n_unique()).collect().row(0)
    assert got == (300, 2)
    shutil.rmtree(out / "_work")  # an output whose work_dir is elsewhere: `**` works too
    lazy = polars.scan_parquet(f"{out}/**/*.parquet", hive_partitioning=True)
    assert lazy.select(polars.len()).collect().item() == 300


def test_read_recommendations_filters_users_and_dates(tmp_path, model, scored):
    out = tmp_path / "out"
    _publish(out, "2026-11-20", model, scored)
    picked = read_recommendations(out, user_ids=[3, 7])
    assert sorted(set(picked.column("user_id").to_pylist())) == [3, 7]
    assert picked.num_rows == 6
    assert read_recommendations(out, run_date="2026-11-20").num_rows == 150
    with pytest.raises(SnapshotError):
        read_recommendations(out, run_date="2026-11-19")
    with pytest.raises(SnapshotError):
        read_recommendations(tmp_path / "empty")


def test_retention_keeps_exactly_keep_last_and_latest(tmp_path, model, scored):
    out = tmp_path / "out"
    for day in ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20"]:
        _publish(out, day, model, scored)
    removed = apply_retention(out, keep_last=3)
    assert removed == ["dt=2026-11-16", "dt=2026-11-17"]
    assert published_dates(out) == ["dt=2026-11-18", "dt=2026-11-19", "dt=2026-11-20"]
    assert Path(latest_snapshot(out)).name in published_dates(out)
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def test_retention_never_removes_latest_target(tmp_path, model, scored):
    out = tmp_path / "out"
    for day in ["2026-11-18", "2026-11-19", "2026-11-20"]:
        _publish(out, day, model, scored)
    (out / "_LATEST").write_text("dt=2026-11-18\n")  # e.g. an operator pinned a rollback
    apply_retention(out, keep_last=1)
    assert published_dates(out) == ["dt=2026-11-18", "dt=2026-11-20"]
    with pytest.raises(ValueError):
        apply_retention(out, keep_last=0)


def test_user_lookup_on_a_gowalla_sized_snapshot_reads_one_row_group(tmp_path, model):
    # 29,858 users x 20, as the Gowalla snapshot: several row groups, sorted by user.
    n_users, k = 29_858, 20
    recs = pa.table(
        {
            "user_id": pa.array(np.repeat(np.arange(n_users, dtype=np.int64), k)),
            "rank": pa.array(np.tile(np.arange(1, k + 1, dtype=np.int16), n_users)),
            "item_id": pa.array(np.arange(n_users * k, dtype=np.int64) % 40_981),
            "score": pa.array(np.zeros(n_users * k, dtype=np.float32)),
        }
    )
    scored = tmp_path / "big.parquet"
    write_recommendations(recs, scored)
    folder = _publish(tmp_path / "out", "2026-11-20", model, scored)
    parquet = pq.ParquetFile(folder / "recommendations.parquet")
    assert parquet.metadata.num_row_groups == -(-n_users * k // ROW_GROUP_ROWS) >= 3
    for user in (0, 15_000, n_users - 1):
        assert len(row_groups_for_users(parquet, pa.array([user]))) == 1
        got = read_recommendations(tmp_path / "out", user_ids=[user])
        assert got.column("user_id").to_pylist() == [user] * k
        assert got.column("rank").to_pylist() == list(range(1, k + 1))


def test_user_ids_of_the_wrong_type_name_the_snapshot_type(tmp_path, model):
    scored = tmp_path / "s.parquet"
    write_recommendations(_recs().set_column(0, "user_id", pa.array(["u"] * 150)), scored)
    _publish(tmp_path / "out", "2026-11-20", model, scored)
    with pytest.raises(SnapshotError, match="user_id type \\(string\\)"):
        read_recommendations(tmp_path / "out", user_ids=[1, 2])


def test_recover_restores_a_date_a_kill_left_between_the_two_renames(tmp_path, model, scored):
    out = tmp_path / "out"
    folder = _publish(out, "2026-11-20", model, scored)
    aside = out / f".replaced-dt=2026-11-20-{'a' * 32}"
    folder.rename(aside)  # the kill: old folder renamed aside, the new one never arrived
    (out / f".staging-dt=2026-11-20-{'b' * 32}").mkdir()  # and its half-built staging
    assert published_dates(out) == []
    assert recover(out) == [
        "restored dt=2026-11-20 (a replacement was interrupted)",
        f"removed .staging-dt=2026-11-20-{'b' * 32}",
    ]
    assert sorted(p.name for p in out.iterdir()) == ["_LATEST", "dt=2026-11-20"]
    verify_snapshot(folder)


def test_latest_falls_back_to_the_newest_complete_snapshot_and_says_so(
    tmp_path, model, scored, caplog
):
    out = tmp_path / "out"
    _publish(out, "2026-11-20", model, scored)
    (out / "_LATEST").write_text("dt=2026-11-21\n")  # names a folder that never completed
    with caplog.at_level("WARNING"):
        assert latest_snapshot(out) == str(out / "dt=2026-11-20")
    assert "dt=2026-11-21, which is not a complete snapshot" in caplog.text
