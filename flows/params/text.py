"""Parameters as text for people: the unknown-name message and the README's generated
parameter and model family tables."""

from __future__ import annotations

import difflib
import json
import textwrap
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from recsys_core.models.registry import FAMILIES


def unknown_parameters_message(unknown: list[str], valid: list[str]) -> str:
    """``unknown parameter 'ouput_dir' (did you mean 'output_dir'?); valid names: …``.

    Examples
    --------
    >>> unknown_parameters_message(["ouput_dir"], ["output_dir", "top_k"])
    "unknown parameter 'ouput_dir' (did you mean 'output_dir'?); valid names: output_dir, top_k"
    """
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, valid, n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    noun = "parameter" if len(unknown) == 1 else "parameters"
    return f"unknown {noun} {', '.join(parts)}; valid names: {', '.join(valid)}"


def _default_text(spec: Any) -> str:
    value = spec.get_default(call_default_factory=True)
    if value is None:
        return "–"
    if isinstance(value, Mapping) and all(isinstance(v, int | float) for v in value.values()):
        return ", ".join(f"{k} {v:g}" for k, v in value.items())
    if isinstance(value, Mapping):  # e.g. a search space: name → list of values
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return f"`{value}`" if isinstance(value, str) else json.dumps(value)


def parameter_table(model: type[BaseModel]) -> str:
    """The README's parameter table, generated from the model (names, defaults, meaning)."""
    rows = ["| parameter | default | meaning |", "| --- | --- | --- |"]
    for name, spec in model.model_fields.items():
        meaning = (spec.description or "").replace("|", "\\|")
        rows.append(f"| `{name}` | {_default_text(spec)} | {meaning} |")
    return "\n".join(rows)


def parameter_help(model: type[BaseModel], width: int = 88) -> str:
    """The parameters as ``--help`` lists them: each name, its default and its meaning."""
    lines = ["parameters (--param KEY=VALUE, --params JSON or --params-file FILE):"]
    for name, spec in model.model_fields.items():
        default = _default_text(spec).replace("`", "")
        lines.append(f"  {name} (default: {default})")
        meaning = (spec.description or "").replace("`", "")
        lines += textwrap.wrap(meaning, width, initial_indent="      ", subsequent_indent="      ")
    return "\n".join(lines)


def family_table() -> str:
    """The README's model family table, generated from the registry: each family's name,
    what it is, its ranking rule and what a tuning search may vary."""
    rows = ["| `model` | what it is | tunable knobs |", "| --- | --- | --- |"]
    for name, entry in FAMILIES.items():
        knobs = ", ".join(f"`{knob}`" for knob in entry.knobs) or "–"
        rows.append(f"| `{name}` | {entry.summary} | {knobs} |")
    return "\n".join(rows)
