"""One parameter source: the flow signature, NightlyParams and the core configs agree."""

import dataclasses
import datetime as dt
import typing

import pytest

from flows.params import (
    DERIVED,
    FLOW_ONLY,
    PARAMETER_CONFIGS,
    NightlyParams,
    signature_drift,
)
from flows.params.fields import TuneParams
from recsys_core.config import EVAL_MODES
from recsys_core.models.registry import unset_knob_values


def test_flow_signature_equals_nightly_params():
    from flows.nightly import nightly

    assert signature_drift(nightly.fn) == []


def test_drift_is_detected_in_names_types_and_defaults():
    def renamed(ouput_dir: str = "out"): ...

    assert signature_drift(renamed)  # a name NightlyParams does not have

    fields = NightlyParams.model_fields
    hints = {name: spec.annotation for name, spec in fields.items()}
    defaults = {name: spec.get_default(call_default_factory=True) for name, spec in fields.items()}

    def build(**changes):
        """A function with NightlyParams' parameters, one of them changed."""
        params = [
            f"{name}: hints[{name!r}] = defaults[{name!r}]"
            if name not in changes
            else f"{name}: {changes[name]}"
            for name in fields
        ]
        scope = {"hints": hints, "defaults": defaults, "dt": dt}
        exec(f"def fn({', '.join(params)}): ...", scope)  # noqa: S102 - builds a test double
        return scope["fn"]

    assert signature_drift(build()) == []
    assert signature_drift(build(top_k="int = 21")) == ["top_k: default 21 != 20"]
    assert "alpha: type <class 'int'>" in signature_drift(build(alpha="int = 30.0"))[0]


def _config_fields():
    for cls in PARAMETER_CONFIGS:
        hints = typing.get_type_hints(cls)
        for item in dataclasses.fields(cls):
            yield cls, item, hints[item.name]


@pytest.mark.parametrize(
    ("cls", "item", "hint"),
    list(_config_fields()),
    ids=lambda v: getattr(v, "name", getattr(v, "__name__", "")),
)
def test_core_config_fields_agree_with_the_parameters(cls, item, hint):
    spec = NightlyParams.model_fields.get(item.name)
    if spec is None:
        # Not a parameter: derived from one, or an internal constant with its own default.
        has_default = (
            item.default is not dataclasses.MISSING
            or item.default_factory is not dataclasses.MISSING
        )
        assert item.name in DERIVED or has_default, item.name
        return
    # Same type (a resolved config may drop the parameter's "| None").
    assert spec.annotation in (hint, hint | None), (cls.__name__, item.name)
    if item.default is not dataclasses.MISSING or item.default_factory is not dataclasses.MISSING:
        core_default = (
            item.default if item.default is not dataclasses.MISSING else item.default_factory()
        )
        default = spec.get_default(call_default_factory=True)
        if default is None and core_default is not None:
            # A knob a run may leave unset: the config's default is what it takes alone.
            default = unset_knob_values()[item.name]
        assert core_default == default, item.name


def test_every_parameter_reaches_a_config_or_the_flow():
    used = {item.name for _, item, _ in _config_fields()} | FLOW_ONLY
    assert set(NightlyParams.model_fields) - used == set()


def test_configs_built_from_parameters():
    params = NightlyParams(top_k=50, eval_mode="seed", split_strategy="leave_k_out")
    configs = params.pipeline_config()
    assert configs.rank.top_k == 50 and configs.split.split_strategy == "leave_k_out"
    assert (configs.eval_protocol, configs.rank.candidate_pool) == EVAL_MODES["seed"]
    publish = params.publish_config("/o", dt.date(2026, 11, 20))
    assert (publish.output_dir, publish.keep_last) == ("/o", 14)


def test_unset_als_knobs_take_seed_000_s_values_and_explicit_values_win():
    def knobs(**values):
        configs = NightlyParams(**values).pipeline_config()
        return configs.weight.alpha, configs.als.iterations

    assert knobs() == knobs(model="als") == knobs(eval_mode="seed") == (30.0, 40)
    assert knobs(alpha=3.0) == (3.0, 40) and knobs(model="als", iterations=7) == (30.0, 7)
    # What a run records: the values it used, unset ones included.
    assert NightlyParams(alpha=1.0).unset_knob_values() == {"iterations": 40}
    tuning = TuneParams().pipeline_config()
    assert (tuning.weight.alpha, tuning.als.iterations) == (30.0, 40)


def test_unknown_parameter_fails_loudly():
    with pytest.raises(ValueError, match="ouput_dir"):
        NightlyParams(ouput_dir="out")


def test_seed_mode_makes_the_default_model_als():
    assert NightlyParams().model == "ensemble"
    assert NightlyParams(eval_mode="seed").model == "als"
    assert NightlyParams(eval_mode="seed").pipeline_config().model == "als"
    with pytest.raises(ValueError, match="use model 'als'"):
        NightlyParams(eval_mode="seed", model="graph_filter")
