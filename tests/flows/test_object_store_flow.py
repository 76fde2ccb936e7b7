"""The nightly flow end to end on a real S3 API (moto's server on 127.0.0.1): input read
from the bucket, snapshot published to it, step folders kept on local disk."""

import json
import os

import pandas as pd
import pytest

from recsys_core.io.storage import open_store
from recsys_core.publishing.snapshot import (
    SIMILAR_ITEMS_DIR,
    read_recommendations,
    read_similar_items,
    verify_snapshot,
)

SMALL = {"factors": 8, "iterations": 3, "top_k": 5, "run_date": "2026-11-20"}


@pytest.mark.slow
def test_nightly_reads_from_and_publishes_to_s3(
    prefect_harness, s3_bucket, synthetic_adjacency, tmp_path, monkeypatch, capsys
):
    from flows.nightly import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bucket = open_store(f"s3://{s3_bucket}")
    bucket.put_file(synthetic_adjacency, "logs", "train.txt")
    first_item = synthetic_adjacency.read_text().split()[1]
    bucket.write_bytes(f"{first_item}\n".encode(), "config", "ban.txt")
    params = {
        **SMALL,
        "input_path": f"s3://{s3_bucket}/logs/train.txt",
        "output_dir": f"s3://{s3_bucket}/recs",
        "exclude_items_path": f"s3://{s3_bucket}/config/ban.txt",
    }
    assert main(["--params", json.dumps(params)]) == 0
    out = params["output_dir"]
    manifest = verify_snapshot(f"{out}/dt=2026-11-20")
    assert manifest["input_path"] == params["input_path"]
    recs = read_recommendations(out)
    assert recs.num_rows == manifest["rows"]["users"] * SMALL["top_k"]
    # Only the contract lands in the bucket; the step cache is local, where the README says.
    names = {info.base_name for info in bucket.list_dir("recs")}
    assert names == {"_LATEST", "_history.jsonl", "dt=2026-11-20", SIMILAR_ITEMS_DIR}
    # The similar items: their own dataset, named in the manifest, excluded item absent.
    assert manifest["similar_items"] == f"{out}/{SIMILAR_ITEMS_DIR}/dt=2026-11-20"
    assert verify_snapshot(manifest["similar_items"])["rows"]["similar_items"] > 0
    similar = read_similar_items(out).to_pandas()
    assert int(first_item) not in set(similar.similar_item_id)
    assert manifest["exclusions"]["matched"] == 1
    assert int(first_item) not in set(recs.column("item_id").to_pylist())
    work = tmp_path / "cache" / "recsys-nightly" / "work" / "s3" / s3_bucket / "recs"
    assert (work / "score").is_dir() and (work / ".lock").exists()
    endpoint = os.environ["AWS_ENDPOINT_URL"].removeprefix("http://")
    frame = pd.read_parquet(f"{out}?endpoint_override={endpoint}&scheme=http")
    assert len(frame) == recs.num_rows
    # A rerun is a no-op; a missing remote input names its URI.
    assert main(["--params", json.dumps(params)]) == 0
    missing = {**params, "input_path": f"s3://{s3_bucket}/logs/absent.txt"}
    capsys.readouterr()
    assert main(["--params", json.dumps(missing)]) == 1
    assert missing["input_path"] in capsys.readouterr().err.strip().splitlines()[-1]


def test_a_uri_work_dir_is_refused_with_the_reason():
    from pydantic import ValidationError

    from flows.params import NightlyParams

    with pytest.raises(ValidationError, match="work_dir must be a local folder"):
        NightlyParams(work_dir="s3://bucket/work")
