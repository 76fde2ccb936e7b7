"""``params_from: best``: the model knobs a tuning run chose, where no explicit value was
given."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from flows.params.fields import DEFAULTS, MODEL_KNOBS, NightlyParams
from recsys_core.errors import InputError
from recsys_core.models.registry import knobs_in_effect


def apply_best(
    params: NightlyParams, best: Mapping[str, Any], source: str
) -> tuple[NightlyParams, dict[str, str]]:
    """``params`` with the model knobs a tuning run chose, where no explicit value was
    given; and where each knob that changes the run's lists came from (``explicit``,
    ``source`` or ``default``). A knob the run's model does not use (ALS's popularity
    weight under the ensemble, whose blend has its own) is neither applied nor listed.

    A knob counts as explicit when it differs from its default.
    """
    chosen = best.get("params", {})
    update, origin = {}, {}
    used = knobs_in_effect(params.model, params.pipeline_config().ensemble)
    for knob in (knob for knob in MODEL_KNOBS if knob in used):
        if getattr(params, knob) != getattr(DEFAULTS, knob):
            origin[knob] = "explicit"
        elif knob in chosen:
            update[knob], origin[knob] = chosen[knob], source
        else:
            origin[knob] = "default"
    try:
        return NightlyParams(**{**params.model_dump(), **update}), origin
    except ValidationError as error:  # a hand-edited file: name it and the knob
        first = error.errors()[0]
        knob = ".".join(str(part) for part in first["loc"])
        raise InputError(
            source, f"{knob} within its bounds ({first['msg']})", got=repr(first.get("input"))
        ) from None
