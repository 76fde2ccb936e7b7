"""The core's frozen configs from the parameters, by field name: a test holds their names,
types and defaults equal to the parameter model's."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from recsys_core.config import (
    EVAL_MODES,
    PipelineConfig,
    PublishConfig,
)

# Config fields computed from a parameter rather than named after one: ``eval_mode`` sets
# the evaluation protocol and the candidate pool (recsys_core.config.EVAL_MODES).
DERIVED: Mapping[str, Callable[[Any], Any]] = {
    "eval_protocol": lambda p: EVAL_MODES[p.eval_mode][0],
    "candidate_pool": lambda p: EVAL_MODES[p.eval_mode][1],
}
# Parameters the flows themselves consume (where, when, which search), not a core config.
FLOW_ONLY = frozenset(
    {
        "input_path",
        "run_date",
        "work_dir",
        "timezone",
        "eval_mode",
        "params_from",
        "lock_timeout_s",
        "as_of",
        "lookback_days",
        "task_runner",
        "dask_address",
        "user_blocks",
        "exclude_items_path",
    }
)
# Every core config a parameter can reach.
# Every core config a parameter can reach: the pipeline's, each config nested in it (so a
# new family's config is reached by adding its field there), and the publish config.
PARAMETER_CONFIGS = (
    PipelineConfig,
    *(
        hint
        for hint in typing.get_type_hints(PipelineConfig).values()
        if dataclasses.is_dataclass(hint)
    ),
    PublishConfig,
)

C = TypeVar("C")


def core_config(cls: type[C], params: BaseModel, **resolved: Any) -> C:
    """Build a core config by field name: a parameter of that name, a :data:`DERIVED`
    value, a ``resolved`` value, else the config's own default (an internal constant)."""
    values = {}
    for item in dataclasses.fields(cls):
        if item.name in resolved:
            values[item.name] = resolved[item.name]
        elif item.name in DERIVED:
            values[item.name] = DERIVED[item.name](params)
        elif item.name in type(params).model_fields:
            values[item.name] = getattr(params, item.name)
    return cls(**values)
