"""``recsys-nightly``: the installed command, its subcommands' --help (every parameter with
its default and meaning), and parameters from --param, --params and --params-file."""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import collected_params, flow_parser, param_value
from flows.params import NightlyParams, TuneParams
from tests.conftest import ROOT

COMMAND = shutil.which("recsys-nightly", path=str(Path(sys.executable).parent))


def _command(*args, timeout=300):
    assert COMMAND, "recsys-nightly is not installed beside this Python (make install)"
    return subprocess.run(
        [COMMAND, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def _args(*argv: str) -> argparse.Namespace:
    return flow_parser("t", None).parse_args(list(argv))


def test_the_top_level_help_lists_every_command():
    result = _command("--help")
    assert result.returncode == 0
    for name in ("run", "tune", "backfill", "report", "migrate"):
        assert name in result.stdout


@pytest.mark.parametrize("name, model", [("run", NightlyParams), ("tune", TuneParams)])
def test_a_flow_s_help_lists_every_parameter_with_its_default(name, model):
    result = _command(name, "--help")
    assert result.returncode == 0 and result.stdout.startswith(f"usage: recsys-nightly {name}")
    for parameter in model.model_fields:
        assert f"\n  {parameter} (default: " in result.stdout, parameter
    assert "--param KEY=VALUE" in result.stdout and "--params-file" in result.stdout


@pytest.mark.parametrize("name", ["backfill", "report", "migrate"])
def test_every_other_command_has_its_help(name):
    result = _command(name, "--help")
    assert result.returncode == 0 and result.stdout.startswith(f"usage: recsys-nightly {name}")


def test_param_values_are_read_as_prefect_reads_them():
    assert param_value("top_k", "10") == 10
    assert param_value("output_dir", "/tmp/x") == "/tmp/x"
    assert param_value("event_strengths", '{"view": 1}') == {"view": 1}
    with pytest.raises(ValueError, match="--param k"):
        param_value("k", '{"broken": ')


def test_later_sources_win_and_each_error_names_its_source(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("top_k: 5\nfactors: 16\n")
    args = _args("--params-file", str(path), "--params", '{"top_k": 7}', "--param", "top_k=9")
    assert collected_params(args) == {"top_k": 9, "factors": 16}
    path.write_text("top_k: [5\n")
    with pytest.raises(ValueError, match=r"params.yaml: not valid YAML at line 2"):
        collected_params(_args("--params-file", str(path)))
    path.write_text("- 1\n")
    with pytest.raises(ValueError, match="expected a mapping"):
        collected_params(_args("--params-file", str(path)))
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        collected_params(_args("--param", "top_k"))
    with pytest.raises(ValueError, match="--params must be a JSON object"):
        collected_params(_args("--params", "[1]"))


def test_a_bad_param_is_one_line_naming_the_parameter():
    result = _command("run", "--param", "top_k=0")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("nightly failed: parameter 'top_k'")


@pytest.mark.slow
def test_run_with_params_publishes_like_the_python_m_form(synthetic_adjacency, tmp_path):
    out = tmp_path / "out"
    result = _command(
        "run",
        "--param", f"input_path={synthetic_adjacency}",
        "--param", f"output_dir={out}",
        "--param", "top_k=10",
        "--param", "model=als",
        "--param", "run_date=2026-11-21",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == str(out / "dt=2026-11-21")
    manifest = json.loads((out / "dt=2026-11-21" / "_manifest.json").read_text())
    assert manifest["params"]["top_k"] == 10
