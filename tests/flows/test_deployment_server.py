"""prefect.yaml against a real `prefect server start`: deploy, run on demand, worker, cache.

Starts every process itself on 127.0.0.1 with a temporary PREFECT_HOME and kills each one
by PID at the end, also on failure (a long-running worker ignores SIGTERM, so SIGKILL).
"""

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from recsys_core.publishing.snapshot import verify_snapshot
from tests.conftest import ROOT

PREFECT = str(Path(sys.executable).with_name("prefect"))
SMALL = {"factors": 8, "iterations": 3, "top_k": 5}
# Every step but publish is reused on the second run (the default model, an ensemble, adds
# blend-budget, blend-choose, blend and a fit per member). Task runs are named ``step[label]``.
CACHED_STEPS = {
    "blend-budget",
    "ingest",
    "split",
    "weight",
    "train-eval",
    "evaluate",
    "train-full",
    "score",
    "fallback",
    "similar-check",
    "similar-items",
    "blend-choose",
    "blend",
}


def test_prefect_yaml_schedule_is_the_documented_one():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (nightly,) = [d for d in config["deployments"] if d["name"] == "nightly"]
    (schedule,) = nightly["schedules"]
    assert schedule["cron"] == "0 3 * * *"
    assert schedule["timezone"] == nightly["parameters"]["timezone"] == "UTC"
    assert nightly["entrypoint"] == "flows/nightly.py:nightly"
    assert nightly["concurrency_limit"]["limit"] == 1
    assert nightly["work_pool"]["name"] == "recsys"
    assert "git_clone" not in json.dumps(config.get("pull"))
    (tune,) = [d for d in config["deployments"] if d["name"] == "tune"]
    assert tune["entrypoint"] == "flows/tune.py:tune"
    (weekly,) = tune["schedules"]
    assert weekly["cron"] == "0 2 * * 0" and weekly["active"] is False  # opt-in, see README


def test_scheduled_time_decides_the_date_not_the_wall_clock(monkeypatch):
    from prefect.runtime import flow_run

    from flows.nightly import resolve_run_date

    # Scheduled 03:00 in Tokyo on the 20th is 18:00 UTC on the 19th; executed days later.
    scheduled = dt.datetime(2026, 11, 19, 18, 0, tzinfo=dt.UTC)
    monkeypatch.setitem(flow_run.FIELDS, "scheduled_start_time", lambda: scheduled)
    assert resolve_run_date(None, "Asia/Tokyo") == dt.date(2026, 11, 20)
    assert resolve_run_date(None, "UTC") == dt.date(2026, 11, 19)
    assert resolve_run_date(dt.date(2026, 1, 2), "UTC") == dt.date(2026, 1, 2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} not healthy after {timeout}s")


@pytest.mark.slow
def test_deploy_run_worker_cache_and_schedule(tmp_path, synthetic_adjacency):
    started = time.monotonic()
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    (tmp_path / "prefect-home").mkdir()
    processes: list[subprocess.Popen] = []

    def run(*args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        return done.stdout

    def start_worker(*extra: str) -> subprocess.Popen:
        log = open(tmp_path / f"worker-{len(processes)}.log", "w")  # noqa: SIM115
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", "recsys", *extra],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(worker)
        return worker

    def worker_once() -> None:
        start_worker("--run-once").wait(timeout=180)

    def probe(*args: str) -> dict:
        return json.loads(run(sys.executable, "-m", "tests.flows.client_probe", *args))

    try:
        server_log = open(tmp_path / "server.log", "w")  # noqa: SIM115
        processes.append(
            subprocess.Popen(
                [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                cwd=tmp_path,
                env=env,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        _wait_healthy(f"{api}/health", 90)
        run(PREFECT, "work-pool", "create", "recsys", "--type", "process")
        run(PREFECT, "--no-prompt", "deploy", "--all")

        out = tmp_path / "out"
        params = {**SMALL, "input_path": str(synthetic_adjacency), "output_dir": str(out)}
        ids = []
        for _ in range(2):  # on demand, twice with the same parameters
            created = run(
                PREFECT,
                "deployment",
                "run",
                "nightly/nightly",
                "--param",
                "run_date=2026-11-21",
                "--params",
                json.dumps(params),
            )
            ids.append(re.search(r"UUID:\s*([0-9a-f-]{36})", created).group(1))
            worker_once()
        first, second = probe("state", ids[0]), probe("state", ids[1])
        assert first["state_type"] == "COMPLETED", first
        assert second["state_type"] == "COMPLETED", second
        verify_snapshot(out / "dt=2026-11-21")
        cached = {name.split("[")[0] for name, state in second["tasks"] if state == "Cached"}
        assert cached == CACHED_STEPS, second["tasks"]
        # The UI names each fit by its family and each blend by its matrix.
        names = {name for name, _ in second["tasks"]}
        assert {"train-eval[als]", "train-eval[graph_filter]", "blend[eval]"} <= names
        assert [task for task in second["tasks"] if task[1] != "Cached"] == [
            ["publish", "Completed"]
        ], second["tasks"]

        # A run scheduled for 2026-11-20 03:00 (deployment timezone) executed later:
        late = probe(
            "schedule", "nightly/nightly", "2026-11-20T03:00:00", "UTC", json.dumps(params)
        )
        worker_once()
        assert probe("state", late["id"])["state_type"] == "COMPLETED"
        verify_snapshot(out / "dt=2026-11-20")
        assert (out / "_LATEST").read_text().strip() == "dt=2026-11-21"

        # A failed run's reason reaches `deployment run --watch` (a run event), not only
        # the worker's terminal. A long-running worker picks it up, then stops on the
        # second SIGTERM (README "Stopping a worker").
        bad = tmp_path / "bad.txt"
        bad.write_text("1 2 3\n2 x\n")
        worker = start_worker()
        watched = subprocess.run(
            [
                PREFECT,
                "deployment",
                "run",
                "nightly/nightly",
                "--watch",
                "--watch-timeout",
                "150",
                "--params",
                json.dumps({**params, "input_path": str(bad)}),
                "--param",
                "run_date=2026-11-22",
            ],
            cwd=ROOT,
            env={**env, "COLUMNS": "400"},
            capture_output=True,
            text=True,
            timeout=200,
        )
        assert watched.returncode == 1
        assert "recsys.nightly.failed" in watched.stdout
        assert "bad.txt, line 2, column '2': expected an integer id, got 'x'" in watched.stdout
        assert not (out / "dt=2026-11-22").exists()
        worker.send_signal(signal.SIGTERM)
        time.sleep(1)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
    elapsed = time.monotonic() - started
    print(f"server end-to-end: {elapsed:.1f}s")
    assert all(p.poll() is not None for p in processes)
