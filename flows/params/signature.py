"""The flow's signature held equal to the parameter model (names in order, types,
defaults): checked when ``flows.nightly`` is imported, and by a test."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable

from pydantic import BaseModel

from flows.params.fields import NightlyParams


def signature_drift(fn: Callable, model: type[BaseModel] = NightlyParams) -> list[str]:
    """Differences between ``fn``'s parameters and ``model``'s fields (names in order,
    types, defaults); empty when they agree."""
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(fn)
    names, fields = list(signature.parameters), model.model_fields
    if names != list(fields):
        return [f"parameters {names} != {model.__name__} fields {list(fields)}"]
    problems = []
    for name, spec in fields.items():
        default = spec.get_default(call_default_factory=True)
        if hints.get(name) != spec.annotation:
            problems.append(f"{name}: type {hints.get(name)} != {spec.annotation}")
        if signature.parameters[name].default != default:
            problems.append(
                f"{name}: default {signature.parameters[name].default!r} != {default!r}"
            )
    return problems


def ensure_signature_matches(fn: Callable, model: type[BaseModel] = NightlyParams) -> None:
    """Raise ``TypeError`` listing every :func:`signature_drift` difference."""
    problems = signature_drift(fn, model)
    if problems:
        raise TypeError(f"{fn.__name__} and {model.__name__} disagree: " + "; ".join(problems))
