"""A newcomer's mistakes get errors that say what to change (texts pinned by substring)."""

import datetime as dt
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows.params import NightlyParams, family_table, parameter_table
from recsys_core.config import IngestConfig
from recsys_core.errors import InputError
from recsys_core.io.ingest import ingest
from tests.conftest import ROOT


def _cli(module, *args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_misnamed_csv_column_names_the_parameter_to_set(tmp_path):
    src = tmp_path / "events.csv"
    src.write_text("user_id,ProductCode,Event\nu1,p1,view\n")
    with pytest.raises(InputError, match="header column named 'UserID'.*set user_col"):
        ingest(src, tmp_path / "out", IngestConfig())


def test_a_parquet_event_log_read_as_interactions_says_why(tmp_path):
    src = tmp_path / "events.parquet"
    pq.write_table(pa.table({"UserID": ["u"], "ProductCode": ["p"], "event_type": ["view"]}), src)
    with pytest.raises(InputError) as raised:
        ingest(src, tmp_path / "out", IngestConfig())
    assert "read as parquet because it has no event column 'Event' (event_col)" in str(raised.value)
    assert "set input_format" in str(raised.value)


def test_a_csv_saved_as_txt_says_it_was_read_as_adjacency(tmp_path):
    src = tmp_path / "export.txt"
    src.write_text("UserID,ProductCode,Event\nu1,p1,view\n")
    with pytest.raises(InputError) as raised:
        ingest(src, tmp_path / "out", IngestConfig())
    message = str(raised.value)
    assert "line 1" in message and "read as adjacency because its extension is '.txt'" in message
    assert "set input_format" in message


@pytest.mark.parametrize("value", ["20/11/2026", "20261120"])
def test_dates_say_the_expected_form(value):
    with pytest.raises(ValueError, match="expected a date as YYYY-MM-DD"):
        NightlyParams(run_date=value)
    assert NightlyParams(run_date="2026-11-20").run_date == dt.date(2026, 11, 20)


def test_a_mistyped_parameter_gets_a_suggestion():
    with pytest.raises(ValueError, match="did you mean 'output_dir'"):
        NightlyParams(ouput_dir="out")


def test_cli_errors_are_one_last_line_and_come_before_prefect_starts():
    result = _cli("flows.nightly", "--params", '{"run_date": "20/11/2026"}')
    assert result.returncode == 1 and result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        "nightly failed: parameter 'run_date': expected a date as YYYY-MM-DD, got '20/11/2026'"
    )
    typo = _cli("flows.nightly", "--params", '{"ouput_dir": "x"}')
    assert "did you mean 'output_dir'?" in typo.stderr.strip().splitlines()[-1]


def test_backfill_dates_are_checked_before_prefect_starts():
    reversed_range = _cli("flows.backfill", "--start", "2026-11-20", "--end", "2026-11-18")
    assert reversed_range.returncode == 1
    assert "--end 2026-11-18 is before --start 2026-11-20" in reversed_range.stderr
    assert "log:" not in reversed_range.stderr  # failed before any Prefect work
    bad = _cli("flows.backfill", "--start", "20261120", "--end", "2026-11-21")
    assert bad.returncode == 2 and "expected a date as YYYY-MM-DD, got '20261120'" in bad.stderr


def test_failed_run_state_message_carries_the_reason(prefect_harness, tmp_path):
    from flows.nightly import nightly

    src = tmp_path / "bad.txt"
    src.write_text("1 2 3\n2 x\n")
    state = nightly(
        input_path=str(src),
        output_dir=str(tmp_path / "out"),
        run_date="2026-11-20",
        return_state=True,
    )
    assert state.is_failed()
    assert "bad.txt, line 2, column '2': expected an integer id, got 'x'" in state.message


def test_the_parameter_reference_is_generated_from_the_model():
    page = (ROOT / "docs" / "reference" / "parameters.md").read_text()
    assert parameter_table(NightlyParams).strip() in page, "run python docs/generate.py"
    models = (ROOT / "docs" / "concepts" / "models.md").read_text()
    assert family_table().strip() in models, "run python docs/generate.py"


def test_cli_prefect_home_defaults_to_the_makefiles():
    import os

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_HOME"}
    shown = subprocess.run(
        [sys.executable, "-c", "import flows, os; print(os.environ['PREFECT_HOME'])"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.stdout.strip() == str(ROOT / ".state" / "prefect")
