"""The CLI contract: params merged over defaults, errors on stderr with a non-zero exit."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _cli(*args, timeout=300, api_url=None):
    """The CLI in a subprocess; ``api_url``: a running Prefect API to use (else it starts
    its own, 10-30 s)."""
    env = {**os.environ, **({"PREFECT_API_URL": api_url} if api_url else {})}
    return subprocess.run(
        [sys.executable, "-m", "flows.nightly", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_unknown_parameter_is_rejected_before_anything_runs():
    result = _cli("--params", '{"factorz": 8}')
    assert result.returncode == 1
    assert "factorz" in result.stderr and result.stdout == ""


def test_out_of_range_parameter_is_rejected():
    result = _cli("--params", '{"top_k": 0}')
    assert result.returncode == 1 and "top_k" in result.stderr


@pytest.mark.slow
def test_cli_run_prints_snapshot_last_and_fails_loudly(
    prefect_api_url, synthetic_adjacency, tmp_path
):
    params = json.dumps(
        {
            "input_path": str(synthetic_adjacency),
            "output_dir": str(tmp_path / "out"),
            "factors": 8,
            "iterations": 3,
            "run_date": "2026-11-21",
        }
    )
    ok = _cli("--params", params, api_url=prefect_api_url)
    assert ok.returncode == 0, ok.stderr[-2000:]
    lines = ok.stdout.strip().splitlines()
    assert lines[-1] == str(tmp_path / "out" / "dt=2026-11-21")
    assert lines[-2] == "publish: published"
    again = _cli("--params", params, api_url=prefect_api_url)
    assert again.stdout.strip().splitlines()[-2] == "publish: already published"
    assert any(line.startswith("train-eval") for line in lines)
    assert any(line.startswith("recall@20") for line in lines)
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2\nx 3\n")
    bad_params = {"input_path": str(bad), "output_dir": str(tmp_path / "o2")}
    failed = _cli("--params", json.dumps(bad_params), api_url=prefect_api_url)
    assert failed.returncode == 1
    stderr = failed.stderr.strip().splitlines()
    # The log goes to a file (first line); the error is the last line, alone.
    assert stderr[0].startswith("log: ") and len(stderr) == 2
    assert stderr[-1].startswith("nightly failed: InputError: ")
    assert "bad.txt, line 2, column '1'" in stderr[-1]
