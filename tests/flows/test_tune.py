"""The tuning flow under the harness: outputs, a rerun that re-executes no trial, and
``params_from: best`` in the nightly with its provenance."""

import json

import pyarrow.parquet as pq
import pytest

from flows.params import NightlyParams, TuneParams, signature_drift

SPACE = {"factors": [8], "iterations": [2, 4], "alpha": [3.0, 10.0]}
SMALL = {"top_k": 10, "run_date": "2026-11-20", "metric": "ndcg@10", "search_space": SPACE}
TRIAL_STEPS = {"weight", "sweep-chain", "trial-evaluate"}


def test_tune_signature_equals_tune_params():
    from flows.tune import tune

    assert signature_drift(tune.fn, TuneParams) == []


@pytest.fixture(scope="module")
def tuned(prefect_harness, synthetic_adjacency, tmp_path_factory):
    from flows.tune import tune

    out = tmp_path_factory.mktemp("tune") / "out"
    params = {**SMALL, "input_path": str(synthetic_adjacency), "output_dir": str(out)}
    return tune(**params), tune(**params), out


def test_outputs_and_provenance(tuned):
    first, _, out = tuned
    folder = out / "_tuning" / "dt=2026-11-20"
    assert first["trials"] == 4
    assert pq.read_table(folder / "leaderboard.parquet").num_rows == 4
    assert (folder / "leaderboard.png").read_bytes()[:4] == b"\x89PNG"
    best = json.loads((out / "_tuning" / "best_params.json").read_text())
    assert best["metric"] == "ndcg@10" and best["search_space"] == SPACE
    # Tuned on the split the nightly serves on, unless told otherwise.
    assert best["split"]["split_strategy"] == NightlyParams().split_strategy
    assert best["params"]["iterations"] in (2, 4) and len(best["input_sha256"]) == 64
    assert set(best["test"]) >= {"ndcg@10", "recall@10"}


def test_second_identical_run_reexecutes_no_trial(tuned):
    first, second, _ = tuned
    ran = [row for row in first["timings"] if row["step"].split("[")[0] in TRIAL_STEPS]
    assert ran and {row["state"] for row in ran} == {"Completed"}
    again = [row for row in second["timings"] if row["step"].split("[")[0] in TRIAL_STEPS]
    assert len(again) == len(ran) and {row["state"] for row in again} == {"Cached"}
    assert second["best"] == first["best"]


def test_nightly_params_from_best_records_where_each_knob_came_from(tuned, synthetic_adjacency):
    from flows.nightly import nightly

    _, _, out = tuned
    best = json.loads((out / "_tuning" / "best_params.json").read_text())["params"]
    result = nightly(
        input_path=str(synthetic_adjacency),
        output_dir=str(out),
        run_date="2026-11-21",
        top_k=10,
        factors=12,  # explicit: wins over the tuned value
        params_from="best",
    )
    manifest = json.loads((out / "dt=2026-11-21" / "_manifest.json").read_text())
    sources = manifest["param_sources"]
    assert sources["factors"] == "explicit" and manifest["params"]["factors"] == 12
    assert sources["alpha"].endswith("best_params.json")
    assert manifest["params"]["alpha"] == best["alpha"]
    assert manifest["params"]["iterations"] == best["iterations"]
    # The default model is the ensemble: its blend has its own popularity term, so ALS's
    # popularity_weight takes no effect and is neither applied nor credited.
    assert "popularity_weight" not in sources
    assert result["status"] == "published"


def test_params_from_best_without_a_tuning_run_names_the_file(prefect_harness, tmp_path):
    from flows.nightly import nightly
    from recsys_core.errors import InputError

    with pytest.raises(InputError, match="best_params.json: expected a best_params.json"):
        nightly(output_dir=str(tmp_path / "out"), params_from="best", run_date="2026-11-21")


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('{"params": {"factors": 8', "JSONDecodeError"),  # cut short
        ("[1, 2]", "JSON list"),
        ('{"params": ["factors"]}', "'params' is a JSON list"),
        ('{"params": {"factors": -3}}', "factors within its bounds"),  # hand-edited
        ('{"params": {"factors": "many"}}', "factors within its bounds"),
    ],
    ids=["truncated", "not an object", "params not an object", "out of bounds", "wrong type"],
)
def test_a_bad_best_params_file_is_an_input_error_naming_it(
    prefect_harness, tmp_path, content, named
):
    from flows.nightly import nightly
    from recsys_core.errors import InputError
    from recsys_core.pipeline.tune import best_params_path

    out = tmp_path / "out"
    path = best_params_path(out)
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(InputError) as raised:
        nightly(output_dir=str(out), model="als", params_from="best", run_date="2026-11-21")
    assert str(path) in str(raised.value) and named in str(raised.value), str(raised.value)


def test_the_tune_command_line_writes_best_params(
    prefect_harness, synthetic_adjacency, tmp_path, capsys
):
    """``python -m flows.tune --params …`` (the docs' tuning commands, on a small log): the
    last stdout line is the best_params.json it wrote."""
    from flows.tune import main

    out = tmp_path / "out"
    params = {**SMALL, "input_path": str(synthetic_adjacency), "output_dir": str(out)}
    assert main(["--params", json.dumps(params)]) == 0
    best = out / "_tuning" / "best_params.json"
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(best)
    assert json.loads(best.read_text())["search_space"] == SPACE


@pytest.mark.slow
def test_make_tune_writes_best_params(synthetic_adjacency, tmp_path, prefect_api_url):
    """``make tune`` (the tuning guide's first command) with a small search space."""
    from tests.flows.processes import make_target

    out = tmp_path / "out"
    params = {**SMALL, "input_path": str(synthetic_adjacency), "output_dir": str(out)}
    done = make_target("tune", params, PREFECT_API_URL=prefect_api_url)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == str(out / "_tuning" / "best_params.json")
