"""The guarantees the product makes, each with the tests that prove it: the one home of
the Guarantees reference page (``docs/generate.py`` writes it; ``tests/test_docs.py`` checks
that every test named here exists and that the page is current)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Guarantee:
    """A promise, and the test files (or ``file::test``) that prove it."""

    promise: str
    proofs: tuple[str, ...]


GUARANTEES: tuple[Guarantee, ...] = (
    Guarantee(
        (
            "Bad input fails the run with the file, line/row, column and expected form, and "
            "nothing is published"
        ),
        (
            "tests/core/test_ingest.py",
            "tests/flows/test_newcomer.py",
            "tests/flows/test_nightly_flow.py",
        ),
    ),
    Guarantee(
        "Adjacency ids are non-negative integers that fit int64",
        ("tests/core/test_ingest.py::test_adjacency_ids_are_non_negative_int64",),
    ),
    Guarantee(
        (
            "A step folder appears complete (`_SUCCESS`) or not at all; a finished one is "
            "never replaced under a reader"
        ),
        ("tests/core/test_workdir.py",),
    ),
    Guarantee(
        (
            "A failed publish leaves the previous snapshot intact; a rerun with the same "
            "fingerprint rewrites nothing; a changed one replaces the date only with "
            "`overwrite`"
        ),
        ("tests/core/test_snapshot.py",),
    ),
    Guarantee(
        (
            "SIGKILL of a nightly run (the CLI, in a subprocess) at 16 points during scoring,"
            " publishing (new date and replacement, including between the two renames of a "
            "replacement and before `_LATEST` moves) and retention: every visible `dt=` "
            "folder is complete and verifies, `_LATEST` leads to a complete snapshot, the "
            "next run succeeds and leaves no leftovers"
        ),
        ("tests/flows/test_kill_recovery.py",),
    ),
    Guarantee(
        (
            "A kill between the two renames of a local date replacement is repaired by the "
            "next publish (the old folder is renamed back); `_LATEST` naming an incomplete "
            "folder falls back to the newest complete one, with a warning"
        ),
        (
            "tests/core/test_snapshot.py::test_recover_restores_a_date_a_kill_left_between_the_two_renames",
            "tests/core/test_snapshot.py::test_latest_falls_back_to_the_newest_complete_snapshot_and_says_so",
        ),
    ),
    Guarantee(
        (
            "On an object store, a SIGKILL before any object of a publish (or before "
            "`_LATEST` moves) leaves every visible date whole, and the next publish cleans up"
            " and completes"
        ),
        (
            "tests/core/test_object_store.py::test_a_kill_during_an_s3_publish_leaves_no_visible_partial_date",
        ),
    ),
    Guarantee(
        "A v1 output migrates in place, interrupt-safe and idempotent",
        ("tests/core/test_migrate.py",),
    ),
    Guarantee(
        (
            "Transient I/O errors (injected: the first write of publish, reading the input, "
            "writing a model, writing the scores, and the completion of every step of a "
            "night, one fault each) are retried (every step: 2 retries, 2 s and 10 s apart; "
            "bad input is never retried) and the run completes; a permanent one in any step "
            "(each of a night's steps in turn, and publish) fails the run with one line "
            "naming where it was writing, the previous snapshot, `_LATEST` and the work "
            "folder usable and nothing staged left"
        ),
        ("tests/flows/test_retries.py",),
    ),
    Guarantee(
        (
            "A full disk (a real `ENOSPC` from pyarrow, which names no file, while scoring; "
            "or while publishing) fails the run with an error naming the folder being "
            "written; the previous snapshot, `_LATEST` and the work folder stay usable "
            "(nothing half-written is left or reused) and the next run publishes"
        ),
        ("tests/flows/test_retries.py",),
    ),
    Guarantee(
        (
            "Runs on one `output_dir` never interleave: the second waits for the output lock,"
            " or fails clearly after `lock_timeout_s`"
        ),
        ("tests/core/test_lock.py",),
    ),
    Guarantee(
        (
            "Thirty consecutive nights through backfill (a new log each night, `keep_last` 7,"
            " a day between nights): exactly 7 snapshots verify, `_LATEST` names the last, "
            "the work folder holds exactly the step folders the kept snapshots came from, the"
            " history (`_history.jsonl`) has all 30 nights, and open file descriptors, RSS "
            "and seconds per night do not grow (the last ten nights against nights 5-14)"
        ),
        ("tests/flows/test_soak.py",),
    ),
    Guarantee(
        (
            "Across machines (separate work dirs, so separate file locks) against one Prefect"
            " server and one S3 output: runs serialise on a Prefect global concurrency limit "
            "named after the output; one publishes a date, the other waits and then fails "
            "with the conflict error; nothing is replaced"
        ),
        ("tests/flows/test_cross_machine_lock.py",),
    ),
    Guarantee(
        (
            "A run never replaces a date that another run (other input or parameters) "
            "published after it started: it fails naming the conflict"
        ),
        ("tests/flows/test_concurrency.py",),
    ),
    Guarantee(
        (
            "Quality gate: a model whose validation NDCG@k is not above popularity, or is "
            "more than `max_metric_drop` (20 %) below the `_LATEST` snapshot's, is not "
            "published; the candidate is kept in `_rejected/dt=…/`; `force_publish=true` "
            "publishes and the manifest's `quality_gate.forced` says so; a check the gate "
            "cannot make (the first snapshot, or a previous one published at another `top_k`)"
            " is named in `quality_gate.skipped`, never passed silently; the verdict is the "
            "`quality-gate` artifact"
        ),
        (
            "tests/core/test_quality_gate.py",
            "tests/flows/test_quality_gate_flow.py",
        ),
    ),
    Guarantee(
        (
            "The input battery: 26 bad inputs fail naming file/line/column/expected form with"
            " nothing published; 11 documented inputs are accepted"
        ),
        ("tests/flows/test_input_battery.py",),
    ),
    Guarantee(
        "No pickle in anything a later run loads",
        ("tests/test_guarantees.py::test_no_pickle_anywhere_a_later_run_loads_data",),
    ),
    Guarantee(
        (
            "Same input and parameters → byte-identical `recommendations.parquet`, across "
            "processes"
        ),
        ("tests/test_guarantees.py::test_recommendations_are_byte_identical_across_processes",),
    ),
    Guarantee(
        (
            "A deleted or pruned step folder is recomputed, never served as a dangling cache "
            "entry"
        ),
        ("tests/core/test_pipeline.py::test_a_deleted_step_folder_is_recomputed",),
    ),
    Guarantee(
        (
            "Reported validation figures (`_metrics.json`, the gate, the history) come from a"
            " seeded report half of the evaluated users; the blend is chosen on the other "
            "half only"
        ),
        (
            "tests/core/test_evaluation.py::test_standard_validation_figures_come_from_the_report_half_only",
            "tests/core/test_evaluation.py::test_the_blend_is_chosen_on_the_choice_half_only",
            "tests/core/test_scoring_cost.py::test_the_nightly_chooses_its_blend_on_the_choice_half",
        ),
    ),
    Guarantee(
        (
            "A candidate family predicted to overrun `night_budget_s` is neither fitted nor "
            "chosen (never the cheapest), and the manifest says why"
        ),
        (
            "tests/core/test_scoring_cost.py::test_a_member_over_the_budget_is_never_chosen_nor_refitted",
        ),
    ),
    Guarantee(
        (
            "The Chebyshev filter's compiled kernels give scipy's figures, the same on any "
            "number of threads and in any user blocks"
        ),
        ("tests/core/test_chebyshev_filter.py",),
    ),
    Guarantee(
        (
            "Any exception a library raises while reading a user's file (log, folder, glob, "
            "gzip, Parquet, exclusion file) becomes an input error naming the file and the "
            "expected form: hypothesis mutates valid files and draws random bytes (120 "
            "examples per run, 400 more under `-m slow`); the cases it found are pinned by "
            "name"
        ),
        ("tests/core/test_fuzz_readers.py",),
    ),
    Guarantee(
        (
            "Parameter combinations drawn within the declared bounds (every model, split, "
            "`top_k` to 1000, `min_user_items`, `similar_items_k`, ranks, user blocks) "
            "publish every user with `min(top_k, unseen items)` rows, or fail naming a "
            "parameter"
        ),
        ("tests/core/test_parameter_space.py",),
    ),
    Guarantee(
        (
            "Excluded items (`exclude_items_path`) are in no user list, similar-items list or"
            " fallback, on every family; lists stay `top_k` long; changing only the "
            "exclusions reruns only the listing steps"
        ),
        ("tests/core/test_outputs.py",),
    ),
    Guarantee(
        (
            "The similar-items dataset: no self pair, at most k rows per item, ranks 1..k "
            "with non-increasing scores, the logged ids; published first, whole or not at all"
            " (kill tests), named in the manifest, read bare by pandas and DuckDB, published "
            "to S3"
        ),
        (
            "tests/core/test_outputs.py",
            "tests/flows/test_kill_recovery.py",
            "tests/flows/test_object_store_flow.py",
        ),
    ),
    Guarantee(
        (
            "An unknown user gets the fallback list from `read_recommendations`, marked, with"
            " no excluded item"
        ),
        ("tests/core/test_outputs.py::test_an_unknown_user_gets_the_fallback_marked",),
    ),
    Guarantee(
        (
            "A failed command ends with one line naming what to fix; every error class the "
            "project defines is in the error catalogue, each example line raised by the code "
            "itself when the page is generated"
        ),
        (
            "tests/test_docs.py::test_every_exception_the_project_defines_is_in_the_error_catalogue",
            "tests/test_docs.py::test_the_generated_pages_are_current",
            "tests/flows/test_input_battery.py",
        ),
    ),
    Guarantee(
        (
            "Every command in the README and the documentation pages is run by a named test "
            "(the your-own-data commands as written); every Python and SQL block runs as "
            "written against a published output"
        ),
        ("tests/test_readme_blocks.py",),
    ),
    Guarantee(
        "A published manifest has exactly the keys the reference documents",
        (
            "tests/flows/test_nightly_flow.py::test_graph_filter_model_end_to_end",
            "tests/core/test_outputs.py::test_excluded_items_are_in_no_output_and_lists_stay_full",
        ),
    ),
)
