"""Every code block in the README is either run here or names the test that runs it.

Python and SQL blocks run as written against a real published output (``out`` in a temp
folder; an ``s3://`` line is run by the object-store tests instead). Each command line of
a bash block must match an entry of :data:`RUN_BY`: the test (or CI step) that runs that
command, which must exist.
"""

import re
import textwrap

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"
DEPLOYMENT = "tests/flows/test_deployment_server.py::test_deploy_run_worker_cache_and_schedule"
# Command line (its start) → where it is run: "<test file>::<test>" or ".ci/run".
RUN_BY = {
    "make run": "tests/test_readme_blocks.py::test_make_run_publishes_the_sample",
    "make test": ".ci/run",
    ".venv/bin/recsys-nightly run --param input_path=": (
        "tests/flows/test_command.py::test_run_with_params_publishes_like_the_python_m_form"
    ),
    ".venv/bin/recsys-nightly run --help": (
        "tests/flows/test_command.py::test_a_flow_s_help_lists_every_parameter_with_its_default"
    ),
    # The Makefile's server/deploy/worker run these Prefect commands; the deployment test
    # runs the same ones against a server on a free port.
    "make server": DEPLOYMENT,
    "make deploy": DEPLOYMENT,
    "make worker": DEPLOYMENT,
    "PREFECT_API_URL=http://127.0.0.1:4200/api .venv/bin/prefect deployment run": DEPLOYMENT,
    "--param run_date=": DEPLOYMENT,
    "make backfill": (
        "tests/flows/test_backfill.py::test_backfill_three_dates_then_rerun_writes_nothing"
    ),
}


def _blocks(language: str) -> list[str]:
    text = README.read_text()
    return [m.group(1) for m in re.finditer(rf"```{language}\n(.*?)```", text, re.S)]


def _command_lines() -> list[str]:
    lines = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command and not command.startswith("#"):
                lines.append(command)
    return lines


def test_every_readme_command_names_an_existing_test_that_runs_it():
    lines = _command_lines()
    assert "make run" in lines and "make test" in lines
    for line in lines:
        owners = [RUN_BY[key] for key in RUN_BY if line.startswith(key)]
        assert owners, f"README command not run by any test: {line!r}"
        for owner in owners:
            if owner == ".ci/run":
                assert "make test" in (ROOT / ".ci" / "run").read_text()
                continue
            path, _, name = owner.partition("::")
            assert f"def {name}(" in (ROOT / path).read_text(), owner


@pytest.fixture(scope="module")
def published(tmp_path_factory, synthetic_adjacency):
    """A real nightly's output, ``out``, in a folder of its own."""
    import datetime as dt

    from recsys_core.config import ALSConfig, PipelineConfig, PublishConfig, RankConfig
    from recsys_core.pipeline.execute import LocalRunner
    from recsys_core.pipeline.nightly import nightly_plan

    folder = tmp_path_factory.mktemp("readme")
    configs = PipelineConfig(
        als=ALSConfig(factors=8, iterations=3), rank=RankConfig(top_k=5), model="als"
    )
    target = PublishConfig(str(folder / "out"), dt.date(2026, 11, 20))
    LocalRunner(folder / "work").run_plan(
        nightly_plan(configs, synthetic_adjacency, folder / "work", publish=target)
    )
    return folder


def test_the_readme_python_blocks_run_as_written(published, monkeypatch):
    monkeypatch.chdir(published)
    blocks = _blocks("python")
    assert len(blocks) >= 3
    for block in blocks:
        # An s3:// line needs a store: tests/core/test_object_store.py reads one the same way.
        code = "\n".join(line for line in block.splitlines() if "s3://" not in line)
        exec(compile(textwrap.dedent(code), "README.md", "exec"), {})  # noqa: S102


def test_the_readme_sql_blocks_run_in_duckdb(published, monkeypatch):
    duckdb = pytest.importorskip("duckdb")
    monkeypatch.chdir(published)
    blocks = _blocks("sql")
    assert blocks
    for block in blocks:
        assert duckdb.sql(block).fetchall()


@pytest.mark.slow
def test_make_run_publishes_the_sample(tmp_path):
    """``make run`` as the README's first line gives it, publishing into a temp folder."""
    import json
    import os
    import subprocess

    params = json.dumps({"output_dir": str(tmp_path / "out")})
    # As a user types it, not as a sub-make of `make test` (which prints directory lines).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(
        ["make", "run", f"PARAMS={params}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1].startswith(str(tmp_path / "out" / "dt="))
