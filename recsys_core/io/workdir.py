"""The work-dir layout: one content-addressed folder per step run, and its pruning.

``<work_dir>/<step>/<key>/`` holds one step's output. ``key`` hashes the step name, exactly
the inputs the step is given (parameters and upstream folders, which are keyed the same
way) and the core's code version, so equal inputs name the same folder and a complete
folder (with ``_SUCCESS``) *is* the cache: it is the one authority on whether a step must
run. File names inside step folders live here too; which steps exist is the step table's
(:mod:`recsys_core.pipeline.table`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from recsys_core.io.atomic import is_complete
from recsys_core.io.storage import is_uri, open_store
from recsys_core.version import core_version

WORK_DIR_NAME = "_work"
INPUTS_DIR = "inputs"  # local copies of remote inputs, one per input URI, replaced each run
SUMMARY_FILE = "summary.json"
SPLIT_FILE = "split.parquet"
FULL_MATRIX_FILE = "full_interactions.npz"
EVAL_CONFIDENCE_FILE = "eval_confidence.npz"
EVAL_USERS_FILE = "eval_users.npy"
FULL_CONFIDENCE_FILE = "full_confidence.npz"
MODEL_FILE = "model.npz"  # any family's model file (recsys_core.models.registry.save_model)
RECOMMENDATIONS_FILE = "recommendations.parquet"
FALLBACK_FILE = "fallback.parquet"
SIMILAR_ITEMS_FILE = "similar_items.parquet"


def _jsonable(value: Any) -> Any:
    """How step inputs enter a key: configs as their fields, paths and dates as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Path | dt.date):
        return str(value)
    raise TypeError(f"step input of type {type(value).__name__} cannot be part of a step key")


def canonical_json(value: Any) -> str:
    """Stable JSON text of step inputs (sorted keys; configs, paths and dates included)."""
    return json.dumps(value, sort_keys=True, default=_jsonable)


def step_key(step: str, inputs: Mapping[str, Any]) -> str:
    """16 hex digits naming a step's output: its name, every input, the core's code version.

    Examples
    --------
    >>> step_key("split", {"a": 1}) == step_key("split", {"a": 1})
    True
    >>> step_key("split", {"a": 1}) == step_key("split", {"a": 2})
    False
    """
    payload = f"{step}\n{canonical_json(dict(inputs))}\n{core_version()}"
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def step_dir(work_dir: str | Path, step: str, inputs: Mapping[str, Any]) -> str:
    """``<work_dir>/<step>/<step_key>``: where a step given ``inputs`` writes."""
    return str(Path(work_dir) / step / step_key(step, inputs))


def write_summary(folder: Path, summary: Mapping[str, Any]) -> None:
    """The step's small result, kept in its folder so a reuse returns the same dict."""
    (folder / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str) + "\n")


def read_summary(folder: str | Path) -> dict:
    """What :func:`write_summary` wrote."""
    return json.loads((Path(folder) / SUMMARY_FILE).read_text())


def reusable(folder: str | Path) -> bool:
    """A complete folder with its summary: the step need not run again."""
    return is_complete(folder) and (Path(folder) / SUMMARY_FILE).is_file()


def prune_work(
    work_dir: str | Path,
    steps: Iterable[str],
    keep: Iterable[str | Path],
    min_age_s: float = 24 * 3600,
) -> list[str]:
    """Remove step folders not in ``keep`` once idle for ``min_age_s``; return them.

    Only the folders of ``steps`` (and staging leftovers of killed runs) are
    touched. The age guard spares a concurrent run's fresh folders; ``keep`` holds every
    kept snapshot's folders so reruns of kept dates stay cached.
    """
    kept = {str(Path(d).resolve()) for d in keep}
    now = time.time()
    pruned = []
    for step in steps:
        root = Path(work_dir) / step
        for folder in sorted(root.iterdir()) if root.is_dir() else []:
            if str(folder.resolve()) in kept or now - folder.stat().st_mtime < min_age_s:
                continue
            if folder.is_file():  # a failed run's rejected rows
                folder.unlink(missing_ok=True)
            else:
                shutil.rmtree(folder, ignore_errors=True)
            pruned.append(str(folder))
    return pruned


def work_root(output_dir: str, work_dir: str | None) -> Path:
    """Where step folders go: ``work_dir`` when given (always a local folder); else
    ``<output_dir>/_work`` for a local output; else, for an object-store output, a local
    cache folder named after it: ``$XDG_CACHE_HOME/recsys-nightly/work/<scheme>/<path>``
    (``~/.cache`` when unset). Step folders rely on atomic rename, which object stores
    lack, so they never live on one."""
    if work_dir:
        if is_uri(work_dir):
            raise ValueError(f"work_dir {work_dir!r} must be a local folder, not a URI")
        return Path(work_dir).expanduser().resolve()
    if not is_uri(output_dir):
        return open_store(output_dir).local_path(WORK_DIR_NAME)
    scheme, _, rest = output_dir.partition("://")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "recsys-nightly" / "work" / scheme / rest.split("?", 1)[0].strip("/")
