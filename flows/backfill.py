"""Backfill: run the nightly flow for each date from ``start`` to ``end``, oldest first.

Each date goes through the one publish policy (``snapshot.publish_decision``), asked before
the date's run so a date that would not be published costs nothing: a date published from
the same input, parameters and code is left as it is; one published from anything else is
replaced only with ``overwrite``. Rerunning a backfill writes nothing new. ``params`` are
nightly parameters (``run_date`` and ``overwrite`` are set per date).

``python -m flows.backfill --start 2026-11-18 --end 2026-11-20 --params '{"output_dir": "out"}'``
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from prefect import flow, get_run_logger

from flows.cli import collected_params, flow_parser, run_guarded
from flows.nightly import nightly
from flows.params import NightlyParams, parameter_help
from recsys_core.io.storage import output_location
from recsys_core.io.workdir import work_root
from recsys_core.pipeline.inputs import fetch_exclusions, fetch_input, input_checksum
from recsys_core.pipeline.manifest import fingerprint
from recsys_core.publishing.snapshot import Decision, publish_decision
from recsys_core.reporting import format_table


def dates_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every date from ``start`` to ``end`` inclusive."""
    if end < start:
        raise ValueError(f"--end {end} is before --start {start} (expected start <= end)")
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


@flow(name="backfill")
def backfill(
    start: dt.date,
    end: dt.date,
    overwrite: bool = False,
    params: dict[str, Any] | None = None,
) -> list[dict]:
    """Publish one snapshot per date, in date order; returns a status row per date."""
    base = NightlyParams(**{**(params or {}), "overwrite": overwrite})
    log = get_run_logger()
    output = output_location(base.output_dir)
    work = work_root(output, base.work_dir)
    rows = []
    for day in dates_between(start, end):  # one nightly run per date, in order
        # Each date's own input ({run_date}) and as-of window: what that night would see.
        _, local = fetch_input(base.input_for(day), work)
        excluded = fetch_exclusions(base.exclusions_for(day), work)
        run_fingerprint = fingerprint(
            input_checksum(local),
            base.pipeline_config(day),
            None if excluded is None else excluded["sha256"],
        )
        decision = publish_decision(output, day, run_fingerprint, overwrite)
        if decision not in (Decision.PUBLISH, Decision.REPLACE):
            rows.append({"run_date": day.isoformat(), "status": str(decision)})
            continue
        run_params = base.model_dump(exclude_none=True) | {"run_date": day}
        result = nightly(**run_params)
        rows.append({"run_date": day.isoformat(), "status": result["status"]})
    log.info("backfill %s..%s:\n%s", start, end, format_table(rows))
    return rows


def iso_date(text: str) -> dt.date:
    """A ``YYYY-MM-DD`` command-line date, or an error that says so."""
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    """CLI: backfill a date range; print one status line per date."""
    return run_command("python -m flows.backfill", argv)


def run_command(prog: str, argv: list[str] | None) -> int:
    """The backfill's command line under the name ``prog`` (``recsys-nightly backfill``)."""
    parser = flow_parser(prog, __doc__, parameter_help(NightlyParams))
    parser.add_argument("--start", required=True, type=iso_date)
    parser.add_argument("--end", required=True, type=iso_date)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)

    def validate() -> dict:
        params = collected_params(args)
        NightlyParams(**params)
        dates_between(args.start, args.end)
        return params

    def run(params: dict) -> tuple[dict, list[dict]]:
        return params, backfill(args.start, args.end, overwrite=args.overwrite, params=params)

    done = run_guarded("backfill", args.verbose, validate, run)
    if done is None:
        return 1
    params, rows = done
    print(format_table(rows))
    print(output_location(NightlyParams(**params).output_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
