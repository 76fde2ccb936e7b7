"""Thin Prefect tasks over :mod:`recsys_core.steps`: one task per step."""
