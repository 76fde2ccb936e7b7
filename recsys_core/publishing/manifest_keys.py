"""Every key of a snapshot's ``_manifest.json`` and what it holds: the contract readers
rely on, in one place (the reference page is generated from it; the tests check that a
published manifest has exactly these keys)."""

from __future__ import annotations

MANIFEST_KEYS: dict[str, str] = {
    "run_date": "the snapshot's date, `YYYY-MM-DD` (its `dt=` folder)",
    "created_at": "when it was published, UTC ISO 8601",
    "schema_version": "the snapshot contract's version (2)",
    "input_path": "the `input_path` parameter as given (after `{run_date}`)",
    "input_files": "every file read, in the order read",
    "input_sha256": "sha256 of the input's content",
    "window": "the as-of window applied (`as_of`, `lookback_days`), or null",
    "params": "the flow's parameters as run (`run_date` included)",
    "param_sources": "where each parameter came from: default, given, or best_params.json "
    "(flow runs only; absent when the core runs a plan itself)",
    "code_version": "`core`: hash of `recsys_core`'s source; `git`: the commit",
    "fingerprint": "sha256 of input, content parameters, exclusions and code: two runs with "
    "one fingerprint publish the same lists",
    "work_dirs": "the step folders this snapshot came from (work-dir pruning keeps them)",
    "model": "`family`, and for the ensemble the `blend` chosen this night (weights, "
    "popularity weight, figures, families left out and why)",
    "exclusions": "the exclusion file's `path`, `sha256`, `ids` and `matched`, or null",
    "similar_items_check": "the similar-items lists' hit rate against popularity's, with "
    "95 % intervals, or null",
    "rows": "counts: interactions, users, items, bad rows, train / validation / test, "
    "recommendations",
    "quality_gate": "the gate's verdict: `passed`, `metric`, `model`, `popularity`, "
    "`previous`, `reasons`, `skipped` (checks it could not make), `forced`",
    "churn": "how much the lists changed since the previous published date, or null",
    "run_seconds": "the run's seconds up to publishing (flow runs only)",
    "fallback": "location of the fallback list (`_fallback/fallback.parquet`)",
    "similar_items": "location of this date's similar-items dataset, or null "
    "(`similar_items_k: 0`)",
    "files": "sha256 of every file of the snapshot",
    "sizes": "size in bytes of every file of the snapshot",
}
# Keys only a flow run writes (a plan run by the core alone has the others).
FLOW_ONLY_KEYS = frozenset({"param_sources", "run_seconds"})
