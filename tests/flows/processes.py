"""Nightly runs as separate processes (the CLI), for the tests of runs side by side."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def nightly_process(home: Path, params: dict, api_url: str, **env: str) -> subprocess.Popen:
    """``python -m flows.nightly --params …`` in a process of its own: Prefect home ``home``
    (made here; its log files tell what the run is waiting for), the harness's API at
    ``api_url`` (no server of its own to start), ``env`` added to the environment."""
    home.mkdir()
    return subprocess.Popen(
        [sys.executable, "-m", "flows.nightly", "--params", json.dumps(params)],
        cwd=ROOT,
        env={**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": api_url, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def has_logged(home: Path, text: str) -> bool:
    """Whether a nightly run under Prefect home ``home`` has logged ``text`` so far."""
    return any(text in log.read_text() for log in (home / "logs").glob("nightly-*.log"))
