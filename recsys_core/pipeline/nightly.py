"""The nightly's wiring, once: a plan (:mod:`recsys_core.pipeline.plan`) of
ingest → split → weight → train-eval → evaluate → train-full → score (→ publish).

Which fits a run needs is the model family's (the registry's): one family is fitted for
evaluation and for serving (warm-started where its entry says so); an ensemble fits each
of its members, chooses the blend on validation and refits only the members it kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from recsys_core.config import PipelineConfig, PublishConfig, RankConfig, TrainMatrix
from recsys_core.io.ingest import has_timestamps
from recsys_core.models.registry import blend_members, family
from recsys_core.pipeline.blocks import block_count
from recsys_core.pipeline.inputs import fetch_exclusions, fetch_input, input_checksum
from recsys_core.pipeline.manifest import nightly_manifest
from recsys_core.pipeline.plan import Plan, StepBatch, StepCall
from recsys_core.pipeline.table import STEP_NAMES


def ranking_config(configs: PipelineConfig) -> RankConfig:
    """How the run's lists are ranked: the family's ranking rule sets the popularity term
    (a graph filter blends popularity on its own scale; an ensemble's model file carries
    its own)."""
    entry = family(configs.model)
    weight = entry.popularity_weight(entry.config(configs), configs.rank)
    return replace(configs.rank, popularity_weight=weight)


def _fit(
    configs: PipelineConfig, name: str, weight_dir: str, matrix: TrainMatrix, warm_dir: str | None
) -> StepCall:
    """Family ``name``'s fit on ``matrix``: the evaluation fit's settings, or at ``full``
    the serving fit's, continuing ``warm_dir`` where the family warm-starts."""
    entry = family(name)
    full = matrix == "full"
    inputs = dict(
        weight_dir=weight_dir,
        matrix=matrix,
        family=name,
        config=entry.serving_config(configs) if full else entry.config(configs),
    )
    if full and entry.warm_start(configs):
        inputs["warm_start_dir"] = warm_dir
    return StepCall(f"train-{matrix}", inputs, label=name)


def _models(
    configs: PipelineConfig,
    split_dir: str,
    weight_dir: str,
    matrix: TrainMatrix,
    results: dict[str, dict],
) -> Plan:
    """The fits at ``matrix`` and the model file evaluate (``eval``) or score (``full``)
    read, under ``train-<matrix>``; an ensemble's members under ``train-<matrix>[<family>]``
    and its choice under ``blend-choose``."""
    step = f"train-{matrix}"
    if family(configs.model).fit is not None:
        warm = results.get("train-eval", {}).get("dir")
        return {step: (yield _fit(configs, configs.model, weight_dir, matrix, warm))}
    done: dict[str, dict] = {}
    # At eval, only the candidates within the night's budget are fitted; at full, only the
    # members the choice kept.
    if matrix == "full":
        members = list(_kept(results["blend-choose"]))
    else:
        members = list(blend_members(configs.ensemble))
        if configs.ensemble.ensemble_choose:
            done["blend-budget"] = yield StepCall(
                "blend-budget",
                dict(
                    split_dir=split_dir,
                    weight_dir=weight_dir,
                    configs={name: family(name).config(configs) for name in members},
                    budget_s=configs.ensemble.night_budget_s,
                    protocol=configs.eval_protocol,
                    evaluate_users=configs.evaluation.evaluate_users,
                ),
            )
            members = done["blend-budget"]["kept"]
    for name in members:
        warm = results.get(f"train-eval[{name}]", {}).get("dir")
        done[f"{step}[{name}]"] = yield _fit(configs, name, weight_dir, matrix, warm)
    if matrix == "eval":
        done["blend-choose"] = yield StepCall(
            "blend-choose",
            dict(
                split_dir=split_dir,
                member_dirs=[done[f"{step}[{name}]"]["dir"] for name in members],
                config=configs.ensemble,
                top_k=configs.rank.top_k,
                protocol=configs.eval_protocol,
                # What the budget found, for the record (not its folder or timing).
                budget=_recorded(done.get("blend-budget")),
            ),
        )
    choice = done.get("blend-choose") or results["blend-choose"]
    kept = _kept(choice)
    done[step] = yield StepCall(
        "blend",
        dict(
            weight_dir=weight_dir,
            matrix=matrix,
            member_dirs={name: done[f"{step}[{name}]"]["dir"] for name in kept},
            weights=kept,
            popularity_weight=choice["popularity_weight"],
            sharpen=choice.get("sharpen", True),
        ),
        label=matrix,
    )
    return done


def _recorded(budget: dict | None) -> dict | None:
    """The budget step's findings the choice records: each family's predicted seconds and
    what was left out, without the step's folder and timings (which would change the
    choice's cache key from run to run)."""
    return None if budget is None else {key: budget[key] for key in ("costs", "left_out")}


def _kept(choice: dict) -> dict[str, float]:
    """The blend's members with a weight (family → weight), as the choice ordered them."""
    return {name: weight for name, weight in choice["weights"].items() if weight > 0}


def _in_blocks(step: str, blocks: int, inputs: dict[str, Any], merge: dict[str, Any]) -> Plan:
    """``step`` on every user, or in ``blocks`` user blocks merged by ``<step>-merge``
    (given the blocks' folders and ``merge``)."""
    if blocks == 1:
        return (yield StepCall(step, inputs))
    calls = [
        StepCall(f"{step}-block", {**inputs, "block": (i, blocks)}, label=f"{i + 1}/{blocks}")
        for i in range(blocks)
    ]
    done = yield StepBatch(calls, user_blocks=True)
    return (
        yield StepCall(f"{step}-merge", {"block_dirs": [block["dir"] for block in done], **merge})
    )


def nightly_plan(
    configs: PipelineConfig,
    input_path: str | Path,
    work_dir: str | Path,
    publish: PublishConfig | None = None,
    params_record: Mapping[str, Any] | None = None,
    manifest_extra: Mapping[str, Any] | None = None,
    user_blocks: int = 1,
    exclude_path: str | None = None,
) -> Plan:
    """ingest → split → weight → train-eval → evaluate → train-full → score (→ publish).

    Returns each step's result by name. ``params_record`` (the flat parameters) and
    ``manifest_extra`` go into the manifest as they were given. ``user_blocks``: evaluate
    and score in that many user blocks (0: :func:`~recsys_core.pipeline.blocks.
    block_count`), run as a :class:`StepBatch`; the lists are the same for any count.
    ``exclude_path``: items no list may hold (changing it reruns only what lists them).
    """
    source, local = fetch_input(input_path, work_dir)
    exclusions = fetch_exclusions(exclude_path, work_dir)
    input_sha = input_checksum(local)
    ingest_config, uncut = configs.ingest, None
    if ingest_config.time_window is not None and not has_timestamps(local, ingest_config):
        # No event times, nothing to cut: leave the date out of the step keys, so an
        # unchanged log is not re-ingested (and everything after it refit) every date.
        start, end = ingest_config.time_window
        uncut = {"start": start, "end": end, "applied": False, "reason": "no timestamps"}
        ingest_config = replace(ingest_config, time_window=None)
    results: dict[str, dict] = {}
    results["ingest"] = yield StepCall(
        "ingest", dict(input_path=local, input_sha256=input_sha, config=ingest_config)
    )
    results["split"] = yield StepCall(
        "split", dict(ingest_dir=results["ingest"]["dir"], config=configs.split)
    )
    split_dir = results["split"]["dir"]
    results["weight"] = yield StepCall(
        "weight", dict(split_dir=split_dir, config=configs.weight, protocol=configs.eval_protocol)
    )
    weight_dir = results["weight"]["dir"]
    results.update((yield from _models(configs, split_dir, weight_dir, "eval", results)))
    blocks = block_count(results["ingest"]["users"], user_blocks)
    evaluated = dict(
        split_dir=split_dir,
        config=ranking_config(configs),
        protocol=configs.eval_protocol,
        evaluate_users=configs.evaluation.evaluate_users,
    )
    results["evaluate"] = yield from _in_blocks(
        "evaluate", blocks, {**evaluated, "train_dir": results["train-eval"]["dir"]}, evaluated
    )
    results.update((yield from _models(configs, split_dir, weight_dir, "full", results)))
    scored = dict(
        split_dir=split_dir,
        ingest_dir=results["ingest"]["dir"],
        train_dir=results["train-full"]["dir"],
        config=ranking_config(configs),
        exclusions=exclusions,
        explain=configs.outputs.explain,
    )
    results["score"] = yield from _in_blocks("score", blocks, scored, {})
    listed = dict(split_dir=split_dir, ingest_dir=results["ingest"]["dir"], exclusions=exclusions)
    results["fallback"] = yield StepCall("fallback", {**listed, "top_k": configs.rank.top_k})
    if configs.outputs.similar_items_k:
        results["similar-check"] = yield StepCall(
            "similar-check",
            dict(
                split_dir=split_dir,
                train_dir=results["train-eval"]["dir"],
                similar_items_k=configs.outputs.similar_items_k,
            ),
        )
        results["similar-items"] = yield StepCall(
            "similar-items",
            dict(
                listed,
                train_dir=results["train-full"]["dir"],
                similar_items_k=configs.outputs.similar_items_k,
                weights=results["similar-check"]["figures"].get("weights"),
            ),
        )
    if publish is None:
        return results
    manifest = nightly_manifest(
        results,
        configs,
        publish,
        source,
        input_sha,
        params_record,
        manifest_extra,
        uncut,
        exclusions,
    )
    results["publish"] = yield StepCall(
        "publish",
        dict(
            publish=publish,
            score_dir=results["score"]["dir"],
            fallback_dir=results["fallback"]["dir"],
            similar_dir=results.get("similar-items", {}).get("dir"),
            evaluate_dir=results["evaluate"]["dir"],
            train_dir=results["train-full"]["dir"],
            manifest=manifest,
            work_dir=str(work_dir),
            step_folders=STEP_NAMES,
        ),
    )
    return results
