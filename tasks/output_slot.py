"""Prefect's own cross-machine lock on one output location: a global concurrency limit of
one slot, named after the output, held for a whole run beside the file lock
(:mod:`recsys_core.io.lock`), which keeps apart only the runs that share its filesystem
(an object-store output's file lock is on each machine's own disk).

Used when the flow talks to a Prefect server (``PREFECT_API_URL`` set): an ephemeral API
lives in one process, so there the file lock is all there is. The slot is a lease the
holder renews; a killed holder's lease ends after :data:`LEASE_S`, so a run on another
machine waits about that long behind a dead one (plus the server's repossessor loop, 15 s
by default; an ephemeral API runs no repossessor, so there a lost slot is never freed).
``RECSYS_OUTPUT_SLOT=off`` turns it off (one machine only, or a server where the run may not
create limits).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.client.orchestration import get_client
from prefect.concurrency.asyncio import AcquireConcurrencySlotTimeoutError
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists
from prefect.settings import get_current_settings

from recsys_core.io.lock import OutputLocked

log = logging.getLogger(__name__)

# Seconds a slot outlives its holder's last renewal (the holder renews it while it runs).
LEASE_S = 60.0
# A first, short try: a slot that is free is taken at once; else the wait is logged.
FIRST_TRY_S = 2.0


def slot_name(output: str) -> str:
    """``recsys-output-<the location, readable>-<hash>``: one limit per output location.

    Examples
    --------
    >>> slot_name("s3://bucket/recs")
    'recsys-output-s3-bucket-recs-4c9033f88c74'
    """
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", output).strip("-")[-60:]
    return f"recsys-output-{readable}-{hashlib.sha256(output.encode()).hexdigest()[:12]}"


def enabled() -> bool:
    """Whether runs hold the slot: a server is configured and it is not turned off."""
    if os.environ.get("RECSYS_OUTPUT_SLOT", "").strip().lower() in {"off", "0", "false"}:
        return False
    return get_current_settings().api.url is not None


@contextmanager
def output_slot(output: str, timeout_s: float) -> Iterator[str | None]:
    """Hold the output's slot for the block, waiting at most ``timeout_s`` seconds for it
    (:class:`~recsys_core.io.lock.OutputLocked` after that); yields the limit's name (None
    when :func:`enabled` says no)."""
    if not enabled():
        yield None
        return
    name = slot_name(output)
    with get_client(sync_client=True) as client:
        try:
            client.upsert_global_concurrency_limit_by_name(name, 1)
        except ObjectAlreadyExists:
            pass  # another run created it between the read and the create
    held = False
    for wait_s in (FIRST_TRY_S, max(timeout_s - FIRST_TRY_S, 0.0)):
        try:
            with concurrency(
                name,
                occupy=1,
                timeout_seconds=wait_s,
                lease_duration=LEASE_S,
                strict=True,
                raise_on_lease_renewal_failure=False,
            ):
                held = True
                yield name
            return
        except AcquireConcurrencySlotTimeoutError:
            if held:  # not the wait for the slot: pass the run's own error on
                raise
            log.warning(
                "Prefect concurrency limit %s (output %s) is held by another run; "
                "waiting up to %.0fs",
                name,
                output,
                timeout_s,
            )
    raise OutputLocked(
        f"{output}: another run (on any machine) held this output for over "
        f"{timeout_s:.0f}s (Prefect concurrency limit {name}; raise lock_timeout_s to "
        "wait longer)"
    )
