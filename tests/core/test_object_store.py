"""Snapshots on an object store (a real S3 API: moto's server on 127.0.0.1): the commit
protocol, readers over S3, retention, and kills during a publish."""

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from recsys_core.io.storage import open_store
from recsys_core.publishing.commit import apply_retention, publish_snapshot, recover
from recsys_core.publishing.snapshot import (
    SnapshotError,
    latest_snapshot,
    published_dates,
    read_metrics,
    read_recommendations,
    verify_snapshot,
    write_recommendations,
)

N_USERS, K = 40, 3


@pytest.fixture
def files(tmp_path):
    scored = tmp_path / "scored.parquet"
    write_recommendations(
        pa.table(
            {
                "user_id": pa.array(np.repeat(np.arange(N_USERS, dtype=np.int64), K)),
                "rank": pa.array(np.tile(np.arange(1, K + 1, dtype=np.int16), N_USERS)),
                "item_id": pa.array(np.arange(N_USERS * K, dtype=np.int64) % 17),
                "score": pa.array(np.linspace(1, 0, N_USERS * K, dtype=np.float32)),
            }
        ),
        scored,
    )
    model = tmp_path / "model.npz"
    np.savez(model, item_factors=np.ones((17, 2), np.float32))
    return scored, model


def _publish(out, day, files, fingerprint="a", **kwargs):
    scored, model = files
    return publish_snapshot(
        out,
        dt.date.fromisoformat(day),
        scored,
        {"validation": {"recall@3": 0.5}},
        model,
        {"fingerprint": fingerprint},
        **kwargs,
    )


def _keys(bucket: str) -> list[str]:
    fs = open_store(f"s3://{bucket}").fs
    infos = fs.get_file_info(pafs.FileSelector(bucket, recursive=True))
    return sorted(i.path.split("/", 1)[1] for i in infos if i.type == pafs.FileType.File)


def test_publish_to_s3_follows_the_contract_and_every_reader_reads_it(s3_bucket, files):
    out = f"s3://{s3_bucket}/recs"
    decision, location = _publish(out, "2026-11-20", files)
    assert (str(decision), location) == ("published", f"{out}/dt=2026-11-20")
    _publish(out, "2026-11-21", files)
    assert [k for k in _keys(s3_bucket) if "2026-11-21" in k or "LATEST" in k] == [
        "recs/_LATEST",
        "recs/dt=2026-11-21/_SUCCESS",
        "recs/dt=2026-11-21/_manifest.json",
        "recs/dt=2026-11-21/_metrics.json",
        "recs/dt=2026-11-21/_model.npz",
        "recs/dt=2026-11-21/recommendations.parquet",
    ]
    # The package's readers.
    assert published_dates(out) == ["dt=2026-11-20", "dt=2026-11-21"]
    assert latest_snapshot(out) == f"{out}/dt=2026-11-21"
    assert verify_snapshot(f"{out}/dt=2026-11-21")["schema_version"] == 2
    assert read_metrics(f"{out}/dt=2026-11-20") == {"validation": {"recall@3": 0.5}}
    assert read_recommendations(out, user_ids=[5]).num_rows == K
    # Dataset readers over S3, as a user with AWS_ENDPOINT_URL set would call them.
    endpoint = os.environ["AWS_ENDPOINT_URL"].removeprefix("http://")
    uri = f"{out}?endpoint_override={endpoint}&scheme=http"  # pyarrow ignores the env var
    assert len(pd.read_parquet(uri)) == 2 * N_USERS * K
    table = ds.dataset(uri, partitioning="hive").to_table()
    assert sorted(set(table.column("dt").to_pylist())) == ["2026-11-20", "2026-11-21"]
    duckdb = pytest.importorskip("duckdb")
    s3fs = pytest.importorskip("s3fs")
    con = duckdb.connect()
    con.register_filesystem(s3fs.S3FileSystem())  # reads AWS_ENDPOINT_URL; no httpfs needed
    query = f"select count(*), count(distinct dt) from read_parquet('{out}/*/*.parquet', "
    assert con.sql(query + "hive_partitioning = true)").fetchall() == [(2 * N_USERS * K, 2)]
    polars = pytest.importorskip("polars")
    lazy = polars.scan_parquet(f"{out}/**/*.parquet", hive_partitioning=True)
    assert lazy.select(polars.len()).collect().item() == 2 * N_USERS * K
    # Retention deletes whole dates; the policy's decisions hold remotely too.
    assert apply_retention(out, keep_last=1) == ["dt=2026-11-20"]
    assert not [k for k in _keys(s3_bucket) if "2026-11-20" in k]
    assert str(_publish(out, "2026-11-21", files)[0]) == "already published"
    assert str(_publish(out, "2026-11-21", files, "b", overwrite=False)[0]).startswith("skipped")
    assert str(_publish(out, "2026-11-21", files, "b")[0]) == "replaced"
    assert verify_snapshot(f"{out}/dt=2026-11-21")["fingerprint"] == "b"


def test_a_prefix_without_success_is_absent_and_the_next_publish_removes_it(s3_bucket, files):
    out = f"s3://{s3_bucket}/recs"
    _publish(out, "2026-11-20", files)
    store = open_store(out)
    store.child("dt=2026-11-22").write_bytes(b"half", "recommendations.parquet")
    assert published_dates(out) == ["dt=2026-11-20"]
    with pytest.raises(SnapshotError):
        read_recommendations(out, run_date="2026-11-22")
    assert recover(out) == ["removed incomplete dt=2026-11-22"]
    assert not [k for k in _keys(s3_bucket) if "2026-11-22" in k]


# Kill points: before each object of the commit order is written (model, metrics,
# recommendations, manifest, _SUCCESS) and before _LATEST moves.
KILL_SCRIPT = textwrap.dedent(
    """
    import datetime as dt, os, signal, sys
    from recsys_core.io import storage
    from recsys_core.publishing.commit import publish_snapshot

    out, day, scored, model, fingerprint, kill_at = sys.argv[1:]
    writes = [0]

    def counted(original):
        def write(self, *args, **kwargs):
            writes[0] += 1
            if writes[0] == int(kill_at):
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, *args, **kwargs)
        return write

    storage.Store.write_bytes = counted(storage.Store.write_bytes)
    storage.Store.put_file = counted(storage.Store.put_file)
    when = dt.date.fromisoformat(day)
    publish_snapshot(out, when, scored, {}, model, {"fingerprint": fingerprint})
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("replacing", [False, True], ids=["new-date", "replacing"])
@pytest.mark.parametrize("kill_at", [1, 2, 3, 4, 5, 6])
def test_a_kill_during_an_s3_publish_leaves_no_visible_partial_date(
    s3_bucket, files, kill_at, replacing
):
    out = f"s3://{s3_bucket}/recs"
    _publish(out, "2026-11-20", files)
    day = "2026-11-20" if replacing else "2026-11-21"
    scored, model = files
    killed = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, out, day, str(scored), str(model), "new", str(kill_at)],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
    )
    # Replacing the newest date leaves _LATEST as it is: there is no sixth write to kill.
    no_sixth_write = replacing and kill_at == 6
    assert killed.returncode == (0 if no_sixth_write else -signal.SIGKILL), killed.stderr
    dates = published_dates(out)
    for name in dates:
        verify_snapshot(f"{out}/{name}")  # every visible date is whole
    committed = kill_at == 6  # _SUCCESS landed; only _LATEST had not moved
    expected = {"2026-11-20"} | ({day} if committed else set())
    if replacing and not committed:
        expected = set()  # the old marker goes first: the date is absent, never mixed
    assert {name.removeprefix("dt=") for name in dates} == expected
    latest = latest_snapshot(out)
    assert latest is None or latest.rsplit("/", 1)[-1] in dates
    # The next run cleans up and publishes.
    assert str(_publish(out, day, files, "new")[0]) in (
        "published",
        "replaced",
        "already published",
    )
    assert verify_snapshot(f"{out}/dt={day}")["fingerprint"] == "new"
    assert latest_snapshot(out) == f"{out}/dt={max('2026-11-20', day)}"
    assert sorted({k.split("/")[1] for k in _keys(s3_bucket)}) == sorted(
        {"_LATEST", "dt=2026-11-20", f"dt={day}"}
    )


def test_a_scheme_pyarrow_lacks_goes_through_fsspec(files):
    fsspec = pytest.importorskip("fsspec")
    out = "memory://recsys-test/recs"
    assert not open_store(out).local
    _publish(out, "2026-11-20", files)
    assert published_dates(out) == ["dt=2026-11-20"]
    assert verify_snapshot(f"{out}/dt=2026-11-20")["rows"]["recommendations"] == N_USERS * K
    assert fsspec.filesystem("memory").exists("/recsys-test/recs/dt=2026-11-20/_SUCCESS")
