"""The product run as separate processes: nightly runs side by side (the CLI), and the
Makefile's targets as a user types them."""

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


def make_target(target: str, params: dict, **env: str) -> subprocess.CompletedProcess:
    """``make <target> PARAMS='<params>'`` in the repository, as a user types it (not as a
    sub-make of ``make test``, which prints directory lines), ``env`` added."""
    inherited = {
        k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")
    }
    return subprocess.run(
        ["make", target, f"PARAMS={json.dumps(params)}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**inherited, **env},
    )
