"""Each input format, and each validation error naming file, line (or row) and column."""

import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsys_core.config import IngestConfig
from recsys_core.errors import InputError, TooManyBadRows
from recsys_core.io.canonical import read_canonical
from recsys_core.io.ingest import QUARANTINE_FILE, ingest


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_adjacency_dense_indices_follow_sorted_ids(tmp_path):
    src = _write(tmp_path, "a.txt", "30 7 5\n\n10 5 9 7\n20\n")  # user 20 has no items: skipped
    summary = ingest(src, tmp_path / "out", IngestConfig())
    canonical = read_canonical(tmp_path / "out")
    assert summary.input_format == "adjacency"
    assert canonical.users.column("user_id").to_pylist() == [10, 30]
    assert canonical.items.column("item_id").to_pylist() == [5, 7, 9]
    rows = canonical.interactions.to_pydict()
    assert rows["user_index"] == [1, 1, 0, 0, 0]
    assert rows["item_index"] == [1, 0, 0, 2, 1]
    assert rows["position"] == [0, 1, 2, 3, 4]


def test_adjacency_bad_token_names_line_and_column(tmp_path):
    src = _write(tmp_path, "a.txt", "1 2 3\n2 4 x5 6\n")
    with pytest.raises(InputError) as err:
        ingest(src, tmp_path / "out", IngestConfig())
    message = str(err.value)
    assert "a.txt" in message and "line 2" in message and "column '3'" in message
    assert "integer id" in message and "x5" in message
    assert not (tmp_path / "out" / "interactions.parquet").exists()


def test_adjacency_non_ascii_names_line(tmp_path):
    src = _write(tmp_path, "a.txt", "1 2\n3 4\n5 é\n")
    with pytest.raises(InputError, match="line 3"):
        ingest(src, tmp_path / "out", IngestConfig())


EVENTS = (
    "UserID,ProductCode,Event,Timestamp\n"
    "u1,0012,view,2026-01-01T10:00:00\n"
    "u1,0013,click,2026-01-01T10:01:00\n"
    "u2,0012,compare,1767225600\n"
    "u2,0014,query_search,2026-01-01T09:00:00+01:00\n"
)


def test_events_csv_strengths_string_ids_and_time_order(tmp_path):
    src = _write(tmp_path, "e.csv", EVENTS)
    summary = ingest(src, tmp_path / "out", IngestConfig())
    canonical = read_canonical(tmp_path / "out")
    assert summary.input_format == "events"
    assert canonical.items.column("item_id").to_pylist() == ["0012", "0013", "0014"]
    assert canonical.users.column("user_id").to_pylist() == ["u1", "u2"]
    rows = canonical.interactions.to_pydict()
    # Ordered by time: u2's compare is 2026-01-01T00:00Z, query_search 08:00Z, then u1's.
    assert rows["weight"] == [4.0, 2.0, 1.0, 3.0]


def test_events_tsv_and_custom_columns_and_mapping(tmp_path):
    src = _write(tmp_path, "e.tsv", "who\twhat\tkind\n7\t1\tlike\n8\t2\tbuy\n")
    config = IngestConfig(
        user_col="who", item_col="what", event_col="kind", event_strengths={"like": 1.0, "buy": 5.0}
    )
    ingest(src, tmp_path / "out", config)
    canonical = read_canonical(tmp_path / "out")
    assert canonical.users.column("user_id").type == pa.int64()
    assert canonical.interactions.column("weight").to_pylist() == [1.0, 5.0]


@pytest.mark.parametrize(
    ("text", "line", "column", "expected"),
    [
        ("UserID,ProductCode,Event\nu1,1,view\nu1,2,buy\n", 3, "Event", "one of view"),
        ("UserID,ProductCode,Event\nu1,1,view\n,2,view\n", 3, "UserID", "non-empty id"),
        ("UserID,ProductCode,Event\nu1,,view\n", 2, "ProductCode", "non-empty id"),
        ("UserID,ProductCode,Event,Timestamp\nu1,1,view,yesterday\n", 2, "Timestamp", "ISO-8601"),
        ("UserID,ProductCode,Event\nu1,1,view\nu1,2,view,extra\n", 3, None, "3 fields"),
    ],
)
def test_events_validation_errors(tmp_path, text, line, column, expected):
    src = _write(tmp_path, "e.csv", text)
    with pytest.raises(InputError) as err:
        ingest(src, tmp_path / "out", IngestConfig())
    message = str(err.value)
    assert "e.csv" in message and f"line {line}" in message and expected in message
    if column:
        assert f"column {column!r}" in message


def test_events_missing_column_is_named(tmp_path):
    src = _write(tmp_path, "e.csv", "UserID,Item,Event\nu1,1,view\n")
    with pytest.raises(InputError, match="'ProductCode'"):
        ingest(src, tmp_path / "out", IngestConfig())


def test_events_parquet_keeps_id_types_and_reports_rows(tmp_path):
    table = pa.table(
        {"UserID": [5, 6, 7], "ProductCode": ["a", "b", "c"], "Event": ["view", "click", "nope"]}
    )
    pq.write_table(table, tmp_path / "e.parquet")
    with pytest.raises(InputError, match="row 3, column 'Event'"):
        ingest(tmp_path / "e.parquet", tmp_path / "out", IngestConfig())
    pq.write_table(table.slice(0, 2), tmp_path / "ok.parquet")
    ingest(tmp_path / "ok.parquet", tmp_path / "out", IngestConfig())
    canonical = read_canonical(tmp_path / "out")
    assert canonical.users.column("user_id").type == pa.int64()
    assert canonical.items.column("item_id").to_pylist() == ["a", "b"]


def test_interactions_parquet_weights_and_errors(tmp_path):
    table = pa.table({"user_id": ["x", "y"], "item_id": [1, 2], "weight": [2.5, 1.0]})
    pq.write_table(table, tmp_path / "i.parquet")
    summary = ingest(tmp_path / "i.parquet", tmp_path / "out", IngestConfig())
    assert summary.input_format == "parquet"
    assert read_canonical(tmp_path / "out").interactions.column("weight").to_pylist() == [2.5, 1.0]
    bad = pa.table({"user_id": ["x", "y"], "item_id": [1, 2], "weight": [2.5, -1.0]})
    pq.write_table(bad, tmp_path / "bad.parquet")
    with pytest.raises(InputError, match="row 2, column 'weight'"):
        ingest(tmp_path / "bad.parquet", tmp_path / "out2", IngestConfig())
    pq.write_table(pa.table({"user": [1]}), tmp_path / "nocol.parquet")
    with pytest.raises(InputError, match="'user_id'"):
        ingest(tmp_path / "nocol.parquet", tmp_path / "out3", IngestConfig(input_format="parquet"))


def test_quarantine_writes_bad_rows_and_respects_threshold(tmp_path):
    lines = (
        ["UserID,ProductCode,Event"]
        + [f"u{i},{i},view" for i in range(98)]
        + ["u1,1,buy", "u2,,view"]
    )
    src = _write(tmp_path, "e.csv", "\n".join(lines) + "\n")
    summary = ingest(
        src, tmp_path / "ok", IngestConfig(bad_rows="quarantine", max_bad_fraction=0.05)
    )
    quarantine = pq.read_table(tmp_path / "ok" / QUARANTINE_FILE).to_pydict()
    assert summary.bad_rows == 2 and summary.rows == 98
    assert quarantine["line"] == [100, 101]
    assert quarantine["column"] == ["Event", "ProductCode"]
    with pytest.raises(TooManyBadRows, match="at most 1.00%"):
        ingest(src, tmp_path / "strict", IngestConfig(bad_rows="quarantine", max_bad_fraction=0.01))
    assert not (tmp_path / "strict" / "interactions.parquet").exists()
    assert (tmp_path / "strict" / QUARANTINE_FILE).exists()


def test_missing_and_empty_inputs(tmp_path):
    with pytest.raises(InputError, match="existing input file"):
        ingest(tmp_path / "nope.txt", tmp_path / "out", IngestConfig())
    src = _write(tmp_path, "empty.txt", "\n\n")
    with pytest.raises(InputError, match="at least one interaction"):
        ingest(src, tmp_path / "out", IngestConfig())


def test_gowalla_sample_ingest_counts(tmp_path):
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "data" / "gowalla_sample.txt"
    summary = ingest(sample, tmp_path, IngestConfig())
    assert (summary.users, summary.items, summary.rows) == (3000, 32894, 146732)
    assert (summary.bad_rows, summary.quarantine_file) == (0, None)
    assert pq.read_table(tmp_path / "interactions.parquet").num_rows == summary.rows


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("-1 2 3", "expected a non-negative integer id, got '-1'"),
        ("1 -2", "expected a non-negative integer id, got '-2'"),
        ("9223372036854775808 4", "expected an integer id that fits int64"),
        ("1 2.5", "expected an integer id, got '2.5'"),
    ],
)
def test_adjacency_ids_are_non_negative_int64(tmp_path, line, reason):
    src = _write(tmp_path, "a.txt", f"7 1 2\n{line}\n")
    with pytest.raises(InputError, match=re.escape("a.txt, line 2, column ")) as raised:
        ingest(src, tmp_path / "out", IngestConfig())
    assert reason in str(raised.value)
    assert not (tmp_path / "out" / "interactions.parquet").exists()


def test_adjacency_accepts_the_largest_int64_id(tmp_path):
    src = _write(tmp_path, "a.txt", "9223372036854775807 4 5\n1 4\n")
    ingest(src, tmp_path / "out", IngestConfig())
    users = read_canonical(tmp_path / "out").users.column("user_id").to_pylist()
    assert users == [1, 9223372036854775807]
