"""What a snapshot's manifest says about its run, and the fingerprint that makes two runs
"the same"."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from recsys_core.config import PipelineConfig, PublishConfig
from recsys_core.io.workdir import canonical_json
from recsys_core.models.registry import FAMILY_CONFIG_FIELDS, family
from recsys_core.version import core_version, git_commit


def fingerprint(
    input_sha256: str, configs: PipelineConfig, exclusions_sha256: str | None = None
) -> str:
    """What makes two runs "the same": input content, the exclusion file's content, every
    content parameter, code.

    The settings of families the run's model does not use (ALS settings of a graph-filter
    run, and the reverse) are left out: changing them does not change the snapshot.
    """
    used = set(family(configs.model).config_fields)
    unused = FAMILY_CONFIG_FIELDS - used
    content = {
        item.name: getattr(configs, item.name)
        for item in fields(configs)
        if item.name not in unused
    }
    payload = f"{input_sha256}|{canonical_json(content)}|{core_version()}"
    if exclusions_sha256 is not None:  # without exclusions: the fingerprint as before
        payload += f"|exclusions:{exclusions_sha256}"
    return hashlib.sha256(payload.encode()).hexdigest()


def model_record(name: str, choice: dict | None) -> dict:
    """What the manifest says about the model behind the lists: its family and, for an
    ensemble, the blend chosen (or fixed) this run, without the whole grid."""
    if choice is None:
        return {"family": name}
    left_out = {"grid", "dir", "reused", "seconds"}  # the whole grid is in the step folder
    return {"family": name, "blend": {k: v for k, v in choice.items() if k not in left_out}}


def nightly_manifest(
    results: Mapping[str, dict],
    configs: PipelineConfig,
    publish: PublishConfig,
    source: str,
    input_sha256: str,
    params_record: Mapping[str, Any] | None,
    manifest_extra: Mapping[str, Any] | None,
    window: dict | None,
    exclusions: Mapping[str, str] | None = None,
) -> dict:
    """The manifest of a nightly's snapshot from its steps' results."""
    ingested, split = results["ingest"], results["split"]
    exclusions_sha = None if exclusions is None else exclusions["sha256"]
    return {
        "input_path": source,
        "input_sha256": input_sha256,
        "params": dict(params_record or {}) | {"run_date": publish.run_date.isoformat()},
        "code_version": {"core": core_version(), "git": git_commit()},
        "fingerprint": fingerprint(input_sha256, configs, exclusions_sha),
        # Step folders this snapshot came from: work-dir pruning keeps these.
        "work_dirs": [step["dir"] for step in results.values()],
        **(manifest_extra or {}),
        "input_files": ingested["files"],
        "window": ingested["window"] or window,
        "model": model_record(configs.model, results.get("blend-choose")),
        "exclusions": results["fallback"]["exclusions"],
        "similar_items_check": results.get("similar-check", {}).get("figures"),
        "rows": {
            "interactions": ingested["rows"],
            "users": ingested["users"],
            "items": ingested["items"],
            "bad_rows": ingested["bad_rows"],
            "train": split["train"],
            "validation": split["validation"],
            "test": split["test"],
        },
    }
