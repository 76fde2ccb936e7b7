"""Would the tuned defaults be a trap? Seed 000's configuration vs the tuned one on logs
unlike Gowalla: a dense synthetic log and seed 001's event-log shape; and each model family
at its defaults (ALS, GF-CF, the Chebyshev filter, the default ensemble, and the ensemble of
ALS + GF-CF that was the default before) on both.

``python -m benchmarks.defaults_check [--tuned JSON]`` prints one table per log (validation
metrics of both configurations and the popularity baseline) and writes
``benchmarks/results/defaults-check.json``. Both configurations run through the tuning
machinery (same split, same evaluation), in-process.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchmarks.bench import PREVIOUS_DEFAULT
from flows.params import MODEL_KNOBS, ModelParams, NightlyParams, TuneParams
from recsys_core.data.synthetic import synthetic_pairs, write_adjacency, write_events_csv
from recsys_core.models.registry import unset_knob_values
from recsys_core.pipeline.execute import LocalRunner
from recsys_core.pipeline.nightly import nightly_plan
from recsys_core.pipeline.tune import tuning_plan
from recsys_core.reporting import format_table

ROOT = Path(__file__).resolve().parents[1]
# ModelParams' own defaults are seed 000's; its unset ALS knobs take seed 000's values alone.
SEED_000 = ModelParams().model_dump() | unset_knob_values()


def compare(source: Path, work: Path, configs: dict[str, dict], base: dict, metric: str) -> list:
    """Validation metrics of each named configuration on one log."""
    params = TuneParams(input_path=str(source), **base)
    trials = [params.trial_params(knobs).pipeline_config() for knobs in configs.values()]
    outcome = LocalRunner(work).run_plan(
        tuning_plan(params.pipeline_config(), trials, source, work, metric)
    )
    rows = []
    for name, row in zip(configs, outcome["rows"], strict=True):
        k = metric.split("@")[1]
        rows.append(
            {
                "config": name,
                **{m: round(row[f"{m}@{k}"], 4) for m in ("recall", "ndcg", "map")},
                f"popularity_{metric}": round(row[f"popularity_{metric}"], 4),
                "fit_s": row["fit_s"],
            }
        )
    return rows


# Each family at its defaults, the default ensemble, and the default before the Chebyshev
# filter joined the blend (ALS + GF-CF), which the new default must not lose to.
MODELS = {
    "als": {"model": "als"},
    "graph_filter": {"model": "graph_filter"},
    "chebyshev_filter": {"model": "chebyshev_filter"},
    "ensemble": {"model": "ensemble"},
    "ensemble (als + graph_filter)": {"model": "ensemble", **PREVIOUS_DEFAULT},
}


def compare_models(source: Path, work: Path, base: dict, metric: str) -> list[dict]:
    """Validation metrics of each of :data:`MODELS` (an ensemble chooses its blend on the
    validation part's choice half, as the nightly does) on one log, in-process."""
    rows = []
    for number, (name, knobs) in enumerate(MODELS.items()):
        params = NightlyParams(input_path=str(source), **knobs, **base)
        folder = work / f"m{number}"
        results = LocalRunner(folder).run_plan(
            nightly_plan(params.pipeline_config(), source, folder)
        )
        validation = results["evaluate"]["metrics"]["validation"]
        k = metric.split("@")[1]
        blend = results.get("blend-choose")
        rows.append(
            {
                "model": name,
                **{m: round(validation[f"{m}@{k}"], 4) for m in ("recall", "ndcg", "map")},
                "blend": ""
                if blend is None
                else json.dumps(blend["weights"]) + f" pop {blend['popularity_weight']}",
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.defaults_check", description=__doc__
    )
    parser.add_argument("--tuned", help="JSON of the tuned knobs (default: the nightly defaults)")
    args = parser.parse_args(argv)
    from flows.params import DEFAULTS

    nightly = DEFAULTS.model_dump() | DEFAULTS.unset_knob_values()  # what the default runs
    tuned = json.loads(args.tuned) if args.tuned else {k: nightly[k] for k in MODEL_KNOBS}
    configs = {"seed 000": SEED_000, "tuned": {**SEED_000, **tuned}}
    results = {"tuned": tuned, "seed_000": SEED_000}
    with tempfile.TemporaryDirectory(prefix="recsys-defaults-") as tmp:
        tmp = Path(tmp)
        # Dense: about 100 distinct items per user over a few thousand items.
        users, items = synthetic_pairs(3000, 3000, mean_items=120, n_clusters=20, seed=7)
        dense = write_adjacency(tmp / "dense.txt", users, items)
        results["dense"] = compare(
            dense, tmp / "w1", configs, {"split_strategy": "random_ratio"}, "ndcg@20"
        )
        results["dense_models"] = compare_models(
            dense, tmp / "m1", {"split_strategy": "random_ratio"}, "ndcg@20"
        )
        # Seed 001's shape: string ids, four event types, timestamps; leave-one-out, MAP@10.
        users, items = synthetic_pairs(5000, 2000, mean_items=15, n_clusters=10, seed=11)
        events = write_events_csv(tmp / "events.csv", users, items, seed=11)
        results["event_log"] = compare(
            events,
            tmp / "w2",
            configs,
            {"split_strategy": "leave_k_out", "leave_k": 1, "top_k": 10, "metric": "map@10"},
            "map@10",
        )
        results["event_log_models"] = compare_models(
            events,
            tmp / "m2",
            {"split_strategy": "leave_k_out", "leave_k": 1, "top_k": 10},
            "map@10",
        )
    for name in ("dense", "event_log", "dense_models", "event_log_models"):
        print(f"\n{name}:")
        print(format_table(results[name]))
    out = ROOT / "benchmarks" / "results" / "defaults-check.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
