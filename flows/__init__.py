"""Prefect flows. Importing this package sets the Prefect settings measured to matter here."""

import logging
import os
from pathlib import Path

# ../shared/PREFECT_NOTES.md: analytics calls fail offline and log tracebacks; the ephemeral
# API needs more than the default 20 s to start on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

# recsys_core logs (progress of long steps among them) go to the run logs and the UI, at
# INFO (the root logger's WARNING would drop them).
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "recsys_core")
# ...and outside a run (a notebook reading snapshots) they stay local, without a warning.
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
logging.getLogger("recsys_core").setLevel(logging.INFO)

# The CLIs share the Makefile's Prefect home (and so its cache, database and logs) unless
# PREFECT_HOME is set: a `python -m flows.nightly` run and `make run` see the same state.
os.environ.setdefault(
    "PREFECT_HOME", str(Path(__file__).resolve().parents[1] / ".state" / "prefect")
)

# Prefect cannot create PREFECT_HOME when its parent is missing (the ephemeral API then
# fails with "unable to open database file" after a long timeout).
os.makedirs(os.path.expanduser(os.environ["PREFECT_HOME"]), exist_ok=True)
