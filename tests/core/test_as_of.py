"""As-of inputs: the window at its boundaries in a non-UTC timezone, folders and globs read
as one log, and the bad row of a multi-file input named by its file."""

import datetime as dt

import pytest

from recsys_core.config import IngestConfig
from recsys_core.errors import InputError
from recsys_core.io.canonical import read_canonical
from recsys_core.io.ingest import ingest, input_files
from recsys_core.io.window import as_of_window

HEADER = "UserID,ProductCode,Event,Timestamp\n"


def _events(rows):
    return HEADER + "".join(f"{u},{i},view,{t}\n" for u, i, t in rows)


def test_the_window_ends_at_local_midnight_after_the_run_date():
    start, end = as_of_window(dt.date(2026, 11, 15), "Asia/Tokyo", lookback_days=1)
    assert (start, end) == ("2026-11-14T15:00:00+00:00", "2026-11-15T15:00:00+00:00")


def test_events_exactly_at_the_boundary(tmp_path):
    # Tokyo is UTC+9: the run date 2026-11-15 ends at 2026-11-15T15:00Z.
    rows = [
        ("a", "x", "2026-11-15T14:59:59.999999+00:00"),  # last instant of the 15th: in
        ("a", "y", "2026-11-15T15:00:00+00:00"),  # first instant of the 16th: out
        ("a", "z", "2026-11-14T15:00:00+00:00"),  # first instant of the lookback: in
        ("a", "w", "2026-11-14T14:59:59+00:00"),  # before the lookback: out
        ("b", "x", "2026-11-15T10:00:00+09:00"),  # local time, inside
        ("b", "y", "2026-11-15T10:00:00+09:00"),
    ]
    source = tmp_path / "e.csv"
    source.write_text(_events(rows))
    window = as_of_window(dt.date(2026, 11, 15), "Asia/Tokyo", lookback_days=1)
    summary = ingest(source, tmp_path / "out", IngestConfig(time_window=window))
    assert summary.window == {"start": window[0], "end": window[1], "applied": True, "left_out": 2}
    items = read_canonical(tmp_path / "out").items.column("item_id").to_pylist()
    assert sorted(items) == ["x", "y", "z"]  # y only through user b
    assert summary.rows == 4


def test_a_log_without_timestamps_is_read_whole_and_says_so(tmp_path):
    source = tmp_path / "a.txt"
    source.write_text("1 2 3\n2 3 4\n")
    window = as_of_window(dt.date(2026, 11, 15), "UTC")
    summary = ingest(source, tmp_path / "out", IngestConfig(time_window=window))
    assert summary.window["applied"] is False and summary.rows == 4


def test_a_folder_and_a_glob_are_read_as_one_log_in_name_order(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "2026-11-02.csv").write_text(
        _events([("b", "y", "2026-11-02"), ("a", "z", "2026-11-02")])
    )
    (logs / "2026-11-01.csv").write_text(
        _events([("a", "x", "2026-11-01"), ("b", "x", "2026-11-01")])
    )
    (logs / "_SUCCESS").write_text("")  # marker files are not data
    (logs / ".tmp.csv").write_text("partial")
    assert [p.name for p in input_files(logs)] == ["2026-11-01.csv", "2026-11-02.csv"]
    assert input_files(f"{logs}/*.csv") == input_files(logs)
    summary = ingest(logs, tmp_path / "out", IngestConfig())
    assert summary.files == [str(logs / "2026-11-01.csv"), str(logs / "2026-11-02.csv")]
    assert summary.rows == 4 and summary.users == 2 and summary.items == 3
    with pytest.raises(InputError, match="at least one input file"):
        input_files(f"{logs}/*.parquet")


def test_a_bad_row_in_a_later_file_names_that_file(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "1.csv").write_text(_events([("a", "x", "2026-11-01"), ("b", "y", "2026-11-01")]))
    (logs / "2.csv").write_text(_events([("a", "y", "2026-11-02"), ("b", "x", "yesterday")]))
    with pytest.raises(InputError) as raised:
        ingest(logs, tmp_path / "out", IngestConfig())
    assert str(raised.value).startswith(f"{logs / '2.csv'}, line 3, column 'Timestamp'")


def test_a_window_that_leaves_out_every_event_says_so(tmp_path):
    source = tmp_path / "e.csv"
    source.write_text(_events([("a", "x", "2026-12-01"), ("b", "y", "2026-12-02")]))
    window = as_of_window(dt.date(2026, 11, 15), "UTC")
    with pytest.raises(InputError, match="all 2 events fall outside the as-of window"):
        ingest(source, tmp_path / "out", IngestConfig(time_window=window))
