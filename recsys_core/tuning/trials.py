"""Hyper-parameter search over the nightly model, with every expensive part shared.

A *trial* is one full set of model knobs. Trials are planned from a search space (a grid,
or a seeded random sample of it), then grouped so that work is done once:

- each distinct weighting (``bm25_k1``, ``bm25_b``, ``bm25_direction``, ``alpha``) is one
  weight step, shared by every trial that uses it;
- trials that differ only in ``iterations`` (and in ranking knobs) share one ALS run: a
  *sweep chain* fits up to the largest sweep count and keeps the factors at every requested
  count (exactly a fresh fit's factors at that count: same start, same sweeps);
- ranking knobs (``popularity_weight``) are evaluated on the same factors.

A family whose fit is shared (the graph filter: one SVD per distinct ``gf_rank``) is fitted
once per distinct fit and every other knob evaluated on it (:func:`shared_fit_trial_step`).
How a family's trials share work is its registry entry's ``tuning``; one search tunes one
family.

Selection reads validation metrics only; the test part is evaluated once, for the chosen
trial, by the caller.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from recsys_core.config import EvalProtocol, PipelineConfig, RankConfig, WeightConfig
from recsys_core.data.matrices import read_confidence, read_split
from recsys_core.evaluation.protocol import EvalPart, evaluate
from recsys_core.io.workdir import MODEL_FILE, SPLIT_FILE
from recsys_core.models.base import Model
from recsys_core.models.registry import FAMILIES, family, load_model, save_model

SearchMethod = Literal["grid", "random"]
# The knobs of each family a search can tune (one family per search), from the registry.
FAMILY_KNOBS: Mapping[str, tuple[str, ...]] = {
    name: entry.knobs for name, entry in FAMILIES.items() if entry.tuning is not None
}
SEARCHABLE = tuple(dict.fromkeys(knob for knobs in FAMILY_KNOBS.values() for knob in knobs))
# The family a search with no knobs tunes (the first tunable one: ALS).
DEFAULT_FAMILY = next(iter(FAMILY_KNOBS))


def searched_family(space: Mapping[str, Any]) -> str:
    """The one model family whose knobs ``space`` varies (:data:`DEFAULT_FAMILY` for an
    empty space).

    Examples
    --------
    >>> searched_family({"gf_rank": [128, 256]}), searched_family({"alpha": [1, 3]})
    ('graph_filter', 'als')
    """
    families = [name for name, knobs in FAMILY_KNOBS.items() if set(space) & set(knobs)]
    if len(families) > 1:
        raise ValueError(
            f"search_space mixes the knobs of {' and '.join(families)} "
            f"({', '.join(sorted(space))}): tune one family at a time"
        )
    return families[0] if families else DEFAULT_FAMILY


def plan_trials(
    space: Mapping[str, Sequence[Any]],
    search: SearchMethod = "grid",
    n_trials: int | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Every combination of ``space`` (``grid``), or ``n_trials`` distinct ones drawn with
    ``seed`` (``random``), in a stable order.

    Examples
    --------
    >>> plan_trials({"alpha": [1, 3], "factors": [8]})
    [{'alpha': 1, 'factors': 8}, {'alpha': 3, 'factors': 8}]
    >>> len(plan_trials({"alpha": [1, 3, 10], "factors": [8, 16]}, "random", 4, seed=1))
    4
    """
    unknown = sorted(set(space) - set(SEARCHABLE))
    if unknown:
        raise ValueError(
            f"search_space keys {unknown} cannot be searched (expected some of "
            f"{', '.join(SEARCHABLE)})"
        )
    empty = sorted(name for name, values in space.items() if not len(values))
    if empty:
        raise ValueError(f"search_space lists no values for {empty}")
    names = sorted(space)
    grid = [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(space[n] for n in names))
    ]
    if search == "grid":
        if n_trials is not None and n_trials != len(grid):
            raise ValueError(
                f"search 'grid' runs all {len(grid)} combinations; "
                "drop n_trials or use search 'random'"
            )
        return grid
    if search == "random":
        if n_trials is None or n_trials < 1:
            raise ValueError("search 'random' needs n_trials >= 1")
        picked = np.random.default_rng(seed).choice(
            len(grid), size=min(n_trials, len(grid)), replace=False
        )
        return [grid[i] for i in np.sort(picked)]
    raise ValueError(f"unknown search {search!r} (expected 'grid' or 'random')")


@dataclass(frozen=True, slots=True)
class SweepChain:
    """One fit shared by trials that differ only in sweeps (and ranking knobs)."""

    weight: WeightConfig
    config: Any  # the family's config; its sweeps knob = the largest count asked for
    checkpoints: tuple[int, ...]


def _sweeps(name: str, config: Any, sweeps: int) -> Any:
    return replace(config, **{family(name).sweeps_knob: sweeps})


def sweep_chains(trials: Sequence[PipelineConfig], name: str) -> list[SweepChain]:
    """Group family ``name``'s trials into sweep chains, in first-seen order.

    Examples
    --------
    >>> from recsys_core.config import ALSConfig
    >>> five, nine = (PipelineConfig(als=ALSConfig(iterations=n)) for n in (5, 9))
    >>> [c.checkpoints for c in sweep_chains([five, nine], "als")]
    [(5, 9)]
    """
    entry = family(name)
    sweeps: dict[tuple[WeightConfig, Any], set[int]] = {}
    for trial in trials:
        config = entry.config(trial)
        sweeps.setdefault((trial.weight, _sweeps(name, config, 0)), set()).add(
            getattr(config, entry.sweeps_knob)
        )
    return [
        SweepChain(weight, _sweeps(name, config, max(counts)), tuple(sorted(counts)))
        for (weight, config), counts in sweeps.items()
    ]


def chain_of(trial: PipelineConfig, chains: Sequence[SweepChain], name: str) -> int:
    """Index of the chain that holds ``trial``'s fit."""
    entry = family(name)
    config = entry.config(trial)
    for index, chain in enumerate(chains):
        longest = getattr(chain.config, entry.sweeps_knob)
        if chain.weight == trial.weight and chain.config == _sweeps(name, config, longest):
            return index
    raise KeyError("trial belongs to no sweep chain")


def checkpoint_file(sweeps: int) -> str:
    """File of a chain's model after ``sweeps`` sweeps."""
    return f"model-{sweeps:04d}.npz"


def sweep_chain_step(
    staging: Path,
    *,
    weight_dir: str,
    family: str,
    config: Any,
    checkpoints: tuple[int, ...],
) -> dict:
    """Fit ``family`` on the evaluation matrix up to ``config``'s sweeps, saving the model
    after each count in ``checkpoints`` (equal to a fresh fit with that many)."""
    entry = FAMILIES[family]
    longest = getattr(config, entry.sweeps_knob)
    if not checkpoints or max(checkpoints) != longest:
        raise ValueError(f"checkpoints {checkpoints} must end at {entry.sweeps_knob} {longest}")
    users, user_items = read_confidence(weight_dir, "eval")
    wanted = set(checkpoints)
    fit_seconds: dict[str, float] = {}

    def keep(sweeps: int, fit_s: float, model: Model) -> None:
        if sweeps in wanted:
            params = asdict(_sweeps(family, config, sweeps))
            save_model(staging / checkpoint_file(sweeps), model, params)
            fit_seconds[str(sweeps)] = round(fit_s, 3)

    entry.fit_sweeps(user_items, config, users, keep)
    return {
        "fit_seconds": fit_seconds,
        "users": int(user_items.shape[0]),
        "nnz": int(user_items.nnz),
    }


def trial_evaluate_step(
    staging: Path,
    *,
    split_dir: str,
    chain_dir: str,
    sweeps: int,
    config: RankConfig,
    protocol: EvalProtocol,
    parts: tuple[EvalPart, ...] = ("validation",),
) -> dict:
    """Metrics of a chain's model at ``sweeps`` (validation only, unless asked)."""
    arrays = read_split(Path(split_dir) / SPLIT_FILE)
    model, _ = load_model(Path(chain_dir) / checkpoint_file(sweeps))
    return {"metrics": evaluate(arrays, model, config, protocol, parts=parts)}


def shared_fit_trial_step(
    staging: Path,
    *,
    split_dir: str,
    train_dir: str,
    family: str,
    config: Any,
    rank: RankConfig,
    protocol: EvalProtocol,
    parts: tuple[EvalPart, ...] = ("validation",),
) -> dict:
    """Metrics of a trial on the shared fit in ``train_dir``: the trial's other knobs
    applied to it (the family's ``with_knobs``) and ranked by its ranking rule."""
    entry = FAMILIES[family]
    arrays = read_split(Path(split_dir) / SPLIT_FILE)
    fitted, _ = load_model(Path(train_dir) / MODEL_FILE)
    ranking = replace(rank, popularity_weight=entry.popularity_weight(config, rank))
    model = entry.with_knobs(fitted, config)
    return {"metrics": evaluate(arrays, model, ranking, protocol, parts=parts)}


def best_trial(rows: Sequence[Mapping[str, Any]], metric: str) -> int:
    """Index of the row with the highest validation ``metric``; ties go to the faster fit,
    then to the earlier trial."""
    if not rows:
        raise ValueError("no trials to choose from")
    return min(range(len(rows)), key=lambda i: (-rows[i][metric], rows[i]["fit_s"], i))


def leaderboard_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """One row per trial, best first by the caller's order: knobs, metrics, seconds."""
    return pa.Table.from_pylist(list(rows))


def main_effects(
    rows: Sequence[Mapping[str, Any]], metric: str, knobs: Sequence[str]
) -> dict[str, float]:
    """Spread of the metric's mean across each knob's values (0 for a knob with one value):
    a cheap measure of which knobs matter."""
    effects = {}
    values = np.array([row[metric] for row in rows], dtype=np.float64)
    for knob in knobs:
        levels = [row[knob] for row in rows]
        distinct = sorted(set(map(str, levels)))
        if len(distinct) < 2:
            effects[knob] = 0.0
            continue
        means = [values[[str(v) == level for v in levels]].mean() for level in distinct]
        effects[knob] = float(max(means) - min(means))
    return effects
