"""The input battery: every bad input fails the CLI with one line naming the file, the
line/row and column where there is one, and the expected form, and publishes nothing
(the previous snapshot and _LATEST stay as they were). Inputs the README documents as
accepted publish, with the documented reading. Policy table: README, "Inputs: what is
accepted".
"""

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsys_core.publishing.snapshot import published_dates, read_manifest
from tests.conftest import ROOT

SMALL = {"factors": 4, "iterations": 2, "top_k": 3}
N_USERS, PER_USER, N_ITEMS = 24, 8, 30
HEADER = "UserID,ProductCode,Event,Timestamp\n"


def _pairs() -> list[tuple[int, list[int]]]:
    return [(u, [(u * 7 + j * 3) % N_ITEMS for j in range(PER_USER)]) for u in range(N_USERS)]


ADJACENCY = "".join(f"{u} {' '.join(map(str, items))}\n" for u, items in _pairs())
EVENTS = HEADER + "".join(
    f"u{u},p{i},view,2026-11-{1 + j:02d} 10:00:00\n"
    for u, items in _pairs()
    for j, i in enumerate(items)
)


def _interactions_parquet(weights: list[float]) -> bytes:
    n = N_USERS * PER_USER
    table = pa.table(
        {
            "user_id": pa.array(np.repeat(np.arange(N_USERS), PER_USER)),
            "item_id": pa.array([i for _, items in _pairs() for i in items]),
            "weight": pa.array(weights + [1.0] * (n - len(weights))),
        }
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


# name -> (file name, content (None: do not create), extra params, expected text, where)
ERRORS = {
    "missing file": ("absent.txt", None, {}, "an existing input file", None),
    "an empty directory": ("folder", "DIR", {}, "at least one input file in the folder", None),
    "empty file": ("empty.txt", b"", {}, "at least one interaction", None),
    "header only": ("h.csv", HEADER.encode(), {}, "at least one interaction", None),
    "non-integer id": ("a.txt", ADJACENCY + "99 4 x\n", {}, "an integer id", "line 25"),
    "negative id": ("a.txt", "-1 2 3 4 5 6\n" + ADJACENCY, {}, "non-negative", "line 1"),
    "id beyond int64": (
        "a.txt",
        ADJACENCY + "9 99999999999999999999\n",
        {},
        "fits int64",
        "line 25",
    ),
    "float id": ("a.txt", ADJACENCY + "9 1.5\n", {}, "an integer id", "line 25"),
    "unknown event (strict)": (
        "e.csv",
        EVENTS + "u1,p1,teleport,2026-11-01 10:00:00\n",
        {},
        "one of view",
        "column 'Event'",
    ),
    "misspelled column": (
        "e.csv",
        EVENTS.replace("ProductCode", "Product_Code", 1),
        {},
        "a header column named 'ProductCode'",
        "line 1",
    ),
    "wrong delimiter": (
        "e.csv",
        EVENTS.replace(",", ";"),
        {},
        "a header column named 'UserID'",
        "line 1",
    ),
    "extra field": ("e.csv", EVENTS + "u1,p1,view,2026-11-01,x\n", {}, "4 fields", None),
    "empty id": ("e.csv", EVENTS + ",p1,view,2026-11-01\n", {}, "non-empty id", "'UserID'"),
    "bad timestamp": ("e.csv", EVENTS + "u1,p1,view,yesterday\n", {}, "ISO-8601", "Timestamp"),
    "truncated gzip": (
        "a.txt.gz",
        gzip.compress(ADJACENCY.encode())[:-12],
        {},
        "a complete gzip file",
        None,
    ),
    "non-UTF-8 csv": (
        "e.csv",
        EVENTS.encode() + "u\xe9,p1,view,2026-11-01\n".encode("latin-1"),
        {},
        "UTF-8 text",
        f"line {EVENTS.count(chr(10)) + 1}",
    ),
    "non-ASCII adjacency": ("a.txt", ADJACENCY + "7 \u00e9\n", {}, "ASCII integer ids", "line 25"),
    "one user only": ("a.txt", "1 2 3 4 5 6 7 8\n", {}, "at least 2 users and 2 items", None),
    "one item only": (
        "a.txt",
        "".join(f"{u} 5\n" for u in range(9)),
        {},
        "at least 2 users and 2 items",
        None,
    ),
    "every user below min_user_items": (
        "a.txt",
        ADJACENCY,
        {"min_user_items": PER_USER + 1},
        "min_user_items=9",
        None,
    ),
    "NaN weight": (
        "i.parquet",
        _interactions_parquet([float("nan")]),
        {},
        "finite weight",
        "row 1",
    ),
    "inf weight": (
        "i.parquet",
        _interactions_parquet([float("inf")]),
        {},
        "finite weight",
        "row 1",
    ),
    "negative weight": ("i.parquet", _interactions_parquet([1, -2.0]), {}, "weight > 0", "row 2"),
    "zero weight": ("i.parquet", _interactions_parquet([1, 1, 0.0]), {}, "weight > 0", "row 3"),
    "too many bad rows (quarantine)": (
        "a.txt",
        ADJACENCY + "x y\n" * 5,
        {"bad_rows": "quarantine", "max_bad_fraction": 0.01},
        "at most 1.00% bad lines",
        "line 25",
    ),
}

# name -> (file name, content, extra params, manifest rows expected)
ACCEPTED = {
    "blank lines": ("a.txt", "\n" + ADJACENCY.replace("\n", "\n\n"), {}, {}),
    "CRLF adjacency": ("a.txt", ADJACENCY.replace("\n", "\r\n"), {}, {}),
    "CRLF csv": ("e.csv", EVENTS.replace("\n", "\r\n"), {}, {}),
    "UTF-8 BOM csv": ("e.csv", b"\xef\xbb\xbf" + EVENTS.encode(), {}, {}),
    "UTF-8 BOM adjacency": ("a.txt", b"\xef\xbb\xbf" + ADJACENCY.encode(), {}, {}),
    "gzip adjacency": ("a.txt.gz", gzip.compress(ADJACENCY.encode()), {}, {}),
    "gzip csv": ("e.csv.gz", gzip.compress(EVENTS.encode()), {}, {}),
    # Repeats of a pair are counted as read and summed into one matrix entry.
    "duplicate interactions": ("a.txt", ADJACENCY + "0 0 0 0\n", {}, {"interactions": 195}),
    # A user line with no items contributes no interaction (and gets no list).
    "a user with no items": ("a.txt", ADJACENCY + "77\n", {}, {"users": N_USERS}),
    "quoted field with the delimiter": (
        "e.csv",
        EVENTS + '"u,1",p1,view,2026-11-01 10:00:00\n',
        {},
        {"users": N_USERS + 1, "interactions": N_USERS * PER_USER + 1},
    ),
    "unknown event (quarantined)": (
        "e.csv",
        EVENTS + "u1,p1,teleport,2026-11-01 10:00:00\n",
        {"bad_rows": "quarantine"},
        {"bad_rows": 1},
    ),
}


@pytest.fixture(scope="module")
def published(prefect_harness, tmp_path_factory) -> Path:
    """An output with one published snapshot (2026-11-19) that no bad input may disturb."""
    from flows.nightly import main

    root = tmp_path_factory.mktemp("battery")
    source = root / "in" / "good.txt"
    source.parent.mkdir()
    source.write_text(ADJACENCY)
    params = {**SMALL, "input_path": str(source), "output_dir": str(root / "out")}
    assert main(["--params", json.dumps({**params, "run_date": "2026-11-19"})]) == 0
    return root / "out"


def _input(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    if content == "DIR":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _run(published: Path, tmp_path: Path, path: Path, extra: dict, capsys) -> tuple[int, str, Path]:
    from flows.nightly import main

    out = tmp_path / "out"
    shutil.copytree(published, out)
    params = {**SMALL, "input_path": str(path), "output_dir": str(out), "run_date": "2026-11-20"}
    capsys.readouterr()
    code = main(["--params", json.dumps({**params, **extra})])
    return code, capsys.readouterr().err.strip().splitlines()[-1], out


@pytest.mark.slow
@pytest.mark.parametrize("case", list(ERRORS))
def test_a_bad_input_fails_clearly_and_publishes_nothing(published, tmp_path, capsys, case):
    name, content, extra, expected, where = ERRORS[case]
    path = _input(tmp_path, name, content)
    code, last_line, out = _run(published, tmp_path, path, extra, capsys)
    assert code == 1
    assert str(path) in last_line, last_line  # the file
    assert "expected" in last_line and expected in last_line, last_line  # the expected form
    if where:
        assert where in last_line, last_line
    assert published_dates(out) == ["dt=2026-11-19"]
    assert (out / "_LATEST").read_text() == "dt=2026-11-19\n"


@pytest.mark.slow
def test_an_input_that_changes_while_it_is_read_fails(published, tmp_path, capsys, monkeypatch):
    import recsys_core.pipeline.steps as pipeline

    path = _input(tmp_path, "a.txt", ADJACENCY)
    original = pipeline.ingest

    def ingest_then_append(*args, **kwargs):
        summary = original(*args, **kwargs)
        with open(path, "a") as handle:  # another writer appends while the run reads
            handle.write("99 1 2 3\n")
        return summary

    monkeypatch.setattr(pipeline, "ingest", ingest_then_append)
    code, last_line, out = _run(published, tmp_path, path, {}, capsys)
    assert code == 1 and str(path) in last_line
    assert "expected an input that does not change while the run reads it" in last_line
    assert published_dates(out) == ["dt=2026-11-19"]


@pytest.mark.slow
@pytest.mark.parametrize("case", list(ACCEPTED))
def test_an_accepted_input_publishes_as_documented(published, tmp_path, capsys, case):
    name, content, extra, rows = ACCEPTED[case]
    path = _input(tmp_path, name, content)
    code, last_line, out = _run(published, tmp_path, path, extra, capsys)
    assert code == 0, last_line
    manifest = read_manifest(out / "dt=2026-11-20")
    expected = {"interactions": N_USERS * PER_USER, "users": N_USERS, "bad_rows": 0} | rows
    assert {key: manifest["rows"][key] for key in expected} == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"run_date": "20/11/2026"}, "expected a date as YYYY-MM-DD"),
        ({"top_k": 0}, "greater than or equal to 1"),
        ({"top_k": 5000}, "less than or equal to 1000"),
        ({"factors": 0}, "greater than or equal to 1"),
        ({"keep_last": 0}, "greater than or equal to 1"),
        ({"event_strengths": {"view": -1}}, "finite weight > 0"),
        ({"event_strengths": {"view": float("nan")}}, "finite weight > 0"),
        ({"output_dir": "data"}, "must not be input_path's folder"),
        ({"output_dir": "."}, "must not be input_path's folder, contain input_path"),
        ({"input_path": "data", "output_dir": "data/recs"}, "or lie inside a folder input"),
        ({"input_path": "data/*.txt", "output_dir": "data/recs"}, "or lie inside a folder input"),
        ({"work_dir": "s3://b/w"}, "work_dir must be a local folder"),
        ({"outptu_dir": "x"}, "did you mean 'output_dir'?); valid names: input_path,"),
    ],
)
def test_parameters_are_checked_before_anything_runs(params, expected):
    from pydantic import ValidationError

    from flows.params import NightlyParams

    with pytest.raises((ValidationError, ValueError)) as raised:
        NightlyParams(**{"input_path": "data/gowalla_sample.txt", **params})
    assert expected in str(raised.value)


# A subset in a real process, as a user meets it: the exit code, stderr's last line, no
# traceback anywhere (one of each reader and kind of error).
IN_A_PROCESS = [
    "missing file",
    "non-integer id",
    "unknown event (strict)",
    "extra field",
    "bad timestamp",
    "truncated gzip",
    "non-UTF-8 csv",
    "NaN weight",
]


@pytest.mark.slow
@pytest.mark.parametrize("case", IN_A_PROCESS)
def test_a_bad_input_fails_the_same_in_a_real_process(published, prefect_api_url, tmp_path, case):
    name, content, extra, expected, where = ERRORS[case]
    path = _input(tmp_path, name, content)
    out = tmp_path / "out"
    shutil.copytree(published, out)
    params = {**SMALL, "input_path": str(path), "output_dir": str(out), "run_date": "2026-11-20"}
    done = subprocess.run(
        [sys.executable, "-m", "flows.nightly", "--params", json.dumps({**params, **extra})],
        cwd=ROOT,
        env={**os.environ, "PREFECT_API_URL": prefect_api_url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    last_line = done.stderr.strip().splitlines()[-1]
    assert str(path) in last_line and expected in last_line, last_line
    if where:
        assert where in last_line, last_line
    assert published_dates(out) == ["dt=2026-11-19"]
    assert (out / "_LATEST").read_text() == "dt=2026-11-19\n"
