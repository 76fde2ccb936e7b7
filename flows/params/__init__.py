"""Flow parameters: the one declaration of every knob (:mod:`flows.params.fields`), and the
views derived from it, one module each: the core's configs (``to_core``), the flow's
signature check (``signature``), ``params_from: best`` (``best``), and text for people
(``text``: unknown-name messages, the README's table; ``python -m flows.params`` prints it).
"""

from flows.params.best import apply_best
from flows.params.fields import (
    DEFAULT_SPACE,
    DEFAULTS,
    MODEL_KNOBS,
    SAMPLE_INPUT,
    AsOf,
    DataParams,
    ModelParams,
    NightlyParams,
    ParamsFrom,
    TaskRunnerKind,
    TuneParams,
)
from flows.params.signature import ensure_signature_matches, signature_drift
from flows.params.text import (
    family_table,
    parameter_help,
    parameter_table,
    unknown_parameters_message,
)
from flows.params.to_core import DERIVED, FLOW_ONLY, PARAMETER_CONFIGS, core_config

__all__ = [
    "DEFAULTS",
    "DEFAULT_SPACE",
    "DERIVED",
    "FLOW_ONLY",
    "MODEL_KNOBS",
    "PARAMETER_CONFIGS",
    "SAMPLE_INPUT",
    "AsOf",
    "DataParams",
    "ModelParams",
    "NightlyParams",
    "ParamsFrom",
    "TaskRunnerKind",
    "TuneParams",
    "apply_best",
    "core_config",
    "ensure_signature_matches",
    "family_table",
    "parameter_help",
    "parameter_table",
    "signature_drift",
    "unknown_parameters_message",
]
