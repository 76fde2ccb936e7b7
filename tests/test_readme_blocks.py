"""Every code block of the README and the documentation pages is run here or names the
test that runs it.

Python and SQL blocks run as written against a real published output (``out`` in a temp
folder; an ``s3://`` line is run by the object-store tests instead, which read a moto S3
output with pandas, pyarrow, DuckDB over s3fs, Polars and ``read_recommendations``). Each
command of a bash block must match an entry of :data:`RUN_BY`: the test (or CI step) that
runs that command, which must exist; the "your own data" commands run here as written.
"""

import datetime as dt
import re
import shlex
import textwrap

import pytest

from tests.conftest import ROOT, names_an_existing_test

README = ROOT / "README.md"
# Every page a reader may copy a block from.
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
S3_FLOW = "tests/flows/test_object_store_flow.py::test_nightly_reads_from_and_publishes_to_s3"
GOWALLA_TUNE = '.venv/bin/python -m flows.tune --params \'{"input_path": "../shared/data/gowalla/'
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
    "make backfill START=": (
        "tests/flows/test_backfill.py::test_backfill_three_dates_then_rerun_writes_nothing"
    ),
    'make backfill START=2026-11-01 END=2026-11-20 PARAMS=\'{"input_path": "logs/"': (
        "tests/flows/test_as_of_backfill.py::"
        "test_a_backfilled_date_equals_a_run_on_that_dates_data_alone"
    ),
    "ls out/dt=2026-11-20/": DEPLOYMENT,
    # CI clones main afresh and runs .ci/run there.
    "git clone ": ".ci/run",
    "make migrate OUTPUT_DIR=": "tests/core/test_migrate.py::test_the_documented_command_migrates",
    "make report OUTPUT_DIR=": "tests/flows/test_history.py::test_history_table_plot_and_churn",
    "make tune": "tests/flows/test_tune.py::test_make_tune_writes_best_params",
    '.venv/bin/python -m flows.tune --params \'{"input_path": "events.csv"': (
        "tests/flows/test_tune.py::test_the_tune_command_line_writes_best_params"
    ),
    # The Gowalla recipes: the same command on a small log (they take an hour here); their
    # figures are in benchmarks/results/.
    GOWALLA_TUNE: "tests/flows/test_tune.py::test_the_tune_command_line_writes_best_params",
    "export AWS_": S3_FLOW,
    '.venv/bin/python -m flows.nightly --params \'{"input_path": "s3://': S3_FLOW,
    '.venv/bin/python -m flows.nightly --params \'{"input_path": "logs/': (
        "tests/test_readme_blocks.py::test_the_your_data_commands_run_as_written"
    ),
}


def _blocks(language: str, pages: list = PAGES) -> list[str]:
    return [
        m.group(1)
        for page in pages
        for m in re.finditer(rf"```{language}\n(.*?)```", page.read_text(), re.S)
    ]


def _commands(block: str) -> list[str]:
    """A bash block's commands: comments dropped, a line ending in ``\\`` or inside an open
    quote joined with the next."""
    commands, pending = [], ""
    for line in block.splitlines():
        line = line.split("  #")[0].strip()
        if not line or (line.startswith("#") and not pending):
            continue
        pending = f"{pending} {line}".strip() if pending else line
        if pending.endswith("\\") or pending.count("'") % 2:
            pending = pending.removesuffix("\\").strip()
            continue
        commands.append(pending)
        pending = ""
    return commands


def _command_lines(pages: list = PAGES) -> list[str]:
    return [command for block in _blocks("bash", pages) for command in _commands(block)]


def test_every_documented_command_names_an_existing_test_that_runs_it():
    assert {"make run", "make test"} <= set(_command_lines([README]))
    lines = _command_lines()
    assert len(lines) > 20  # every page's blocks were found
    for line in lines:
        owners = [RUN_BY[key] for key in RUN_BY if line.startswith(key)]
        assert owners, f"documented command not run by any test: {line!r}"
        for owner in owners:
            if owner == ".ci/run":
                assert "make test" in (ROOT / ".ci" / "run").read_text()
                continue
            assert names_an_existing_test(owner), owner


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


def test_the_documented_python_blocks_run_as_written(published, monkeypatch):
    monkeypatch.chdir(published)
    blocks = _blocks("python")
    assert len(blocks) >= 10
    for block in blocks:
        # An s3:// line needs a store: tests/core/test_object_store.py reads one the same way.
        code = "\n".join(line for line in block.splitlines() if "s3://" not in line)
        exec(compile(textwrap.dedent(code), "a documented block", "exec"), {})  # noqa: S102


def test_the_documented_sql_blocks_run_in_duckdb(published, monkeypatch):
    duckdb = pytest.importorskip("duckdb")
    monkeypatch.chdir(published)
    blocks = _blocks("sql")
    assert len(blocks) >= 2
    for block in blocks:
        assert duckdb.sql(block).fetchall()


@pytest.mark.slow
def test_make_run_publishes_the_sample(tmp_path):
    """``make run`` as the README's first line gives it, publishing into a temp folder."""
    from tests.flows.processes import make_target

    done = make_target("run", {"output_dir": str(tmp_path / "out")})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1].startswith(str(tmp_path / "out" / "dt="))


@pytest.mark.slow
def test_the_your_data_commands_run_as_written(prefect_harness, tmp_path, monkeypatch, capsys):
    """The "your own data" page's nightly commands, as written, each in a folder holding the
    log it names (an events CSV in seed 001's layout): one file per day, a folder, a glob."""
    import gzip

    from flows.nightly import main
    from recsys_core.data.synthetic import synthetic_pairs, write_events_csv
    from recsys_core.publishing.snapshot import published_dates, verify_snapshot

    page = ROOT / "docs" / "guides" / "your-data.md"
    commands = [c for c in _command_lines([page]) if " -m flows.nightly " in c]
    assert len(commands) == 3
    users, items = synthetic_pairs(n_users=120, n_items=80, seed=1)
    today = dt.datetime.now(dt.UTC).date().isoformat()  # a run without run_date: UTC today
    for n, command in enumerate(commands):
        folder = tmp_path / str(n)
        logs = folder / "logs"
        (logs / f"dt={today}").mkdir(parents=True)
        write_events_csv(logs / f"dt={today}" / "events.csv", users, items)
        if "*.csv.gz" in command:
            for day, half in (("2026-11-01", slice(None, 400)), ("2026-11-02", slice(400, None))):
                plain = write_events_csv(folder / "x.csv", users[half], items[half])
                (logs / f"{day}.csv.gz").write_bytes(gzip.compress(plain.read_bytes()))
        elif command.endswith('"logs/", "output_dir": "recs"}\''):
            (logs / f"dt={today}" / "events.csv").rename(logs / "events.csv")
            (logs / f"dt={today}").rmdir()
        monkeypatch.chdir(folder)
        argv = shlex.split(command)
        assert argv[:3] == [".venv/bin/python", "-m", "flows.nightly"]
        assert main(argv[3:]) == 0, (command, capsys.readouterr().err[-2000:])
        assert published_dates(folder / "recs") == [f"dt={today}"], command
        verify_snapshot(folder / "recs" / f"dt={today}")
