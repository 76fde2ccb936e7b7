"""Every valid parameter works: combinations drawn within the parameters' declared bounds,
run through the nightly plan on a tiny log, either publish a snapshot that holds its
contract or fail with an error naming the parameter — never a library's traceback."""

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.params import NightlyParams
from recsys_core.errors import InputError
from recsys_core.models.registry import BLEND_MEMBERS, FAMILIES
from recsys_core.pipeline.execute import LocalRunner
from recsys_core.pipeline.nightly import nightly_plan

DAY = dt.date(2026, 11, 20)
SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


def _bounded(name: str, low: int, high: int | None = None):
    """Integers within the parameter's own bounds (pydantic's ge / le), capped at ``high``
    where a bound is open (a tiny log cannot use a million factors)."""
    field = NightlyParams.model_fields[name]
    ge = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), low)
    le = next((m.le for m in field.metadata if getattr(m, "le", None) is not None), high)
    return st.integers(max(ge, low), min(le, high) if high is not None else le)


PARAMETERS = st.fixed_dictionaries(
    {
        "model": st.sampled_from(sorted(FAMILIES)),
        "split_strategy": st.sampled_from(["ordered", "leave_k_out", "random_ratio"]),
        "top_k": _bounded("top_k", 1, 1000),
        "min_user_items": _bounded("min_user_items", 1, 12),
        "leave_k": _bounded("leave_k", 1, 3),
        "similar_items_k": _bounded("similar_items_k", 0, 1000),
        "explain": st.booleans(),
        "evaluate_users": _bounded("evaluate_users", 0, 400),
        "ensemble_sample_users": _bounded("ensemble_sample_users", 100, 400),
        "ensemble_members": st.lists(
            st.sampled_from(BLEND_MEMBERS), min_size=1, max_size=len(BLEND_MEMBERS), unique=True
        ),
        "factors": st.sampled_from([1, 2, 8]),
        "iterations": st.sampled_from([1, 2]),
        "gf_rank": st.sampled_from([1, 4, 300]),
        "cheby_order": st.sampled_from([1, 2, 8]),
        "cheby_ideal_rank": st.sampled_from([1, 300]),
        "user_blocks": st.sampled_from([0, 1, 3]),
        "max_metric_drop": st.just(1.0),
        "force_publish": st.just(True),
    }
)


N_ITEMS = 200  # the synthetic log's catalogue


def _distinct_items(adjacency: Path) -> dict[int, int]:
    counts: dict[int, set] = {}
    for line in adjacency.read_text().splitlines():
        user, *items = map(int, line.split())
        counts.setdefault(user, set()).update(items)
    return {user: len(items) for user, items in counts.items()}


def _run(source: Path, drawn: dict) -> None:
    folder = Path(tempfile.mkdtemp())
    try:
        params = NightlyParams(**drawn, output_dir=str(folder / "out"))
        plan = nightly_plan(
            params.pipeline_config(None),
            source,
            folder / "work",
            publish=params.publish_config(str(folder / "out"), DAY),
            user_blocks=params.blocks_requested() or 1,
        )
        try:
            LocalRunner(folder / "work").run_plan(plan)
        except (InputError, ValueError) as exc:
            named = [name for name in drawn if name in str(exc)]
            assert named or str(source) in str(exc), f"{exc!r} names no parameter"
            return
        sizes = pd.read_parquet(folder / "out").groupby("user_id").size()
        seen = _distinct_items(source)
        # Every user of the log, top_k rows each, fewer only where too few unseen items are left.
        assert set(sizes.index) == set(seen)
        expected = {user: min(params.top_k, N_ITEMS - count) for user, count in seen.items()}
        assert sizes.to_dict() == expected
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@SETTINGS
@given(PARAMETERS)
def test_parameters_within_their_bounds_run_or_name_what_is_wrong(synthetic_adjacency, drawn):
    _run(synthetic_adjacency, drawn)


@pytest.mark.slow
@settings(SETTINGS, max_examples=60)
@given(PARAMETERS)
def test_many_parameter_combinations_run_or_name_what_is_wrong(synthetic_adjacency, drawn):
    _run(synthetic_adjacency, drawn)
