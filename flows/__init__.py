"""Prefect flows. Importing this package sets the Prefect settings measured to matter here."""

import os

# ../shared/PREFECT_NOTES.md: analytics calls fail offline and log tracebacks; the ephemeral
# API needs more than the default 20 s to start on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

# Prefect cannot create PREFECT_HOME when its parent is missing (the ephemeral API then
# fails with "unable to open database file" after a long timeout).
if os.environ.get("PREFECT_HOME"):
    os.makedirs(os.path.expanduser(os.environ["PREFECT_HOME"]), exist_ok=True)
