"""One Prefect task per step of the step table (``recsys_core.pipeline.table``), made by
one factory: a task runs the core's step (into its folder, or reused) and logs.

A task reusing a complete step folder finishes in Prefect's ``Cached`` state: the step
folder is the cache (``recsys_core.io.workdir``), and Prefect's state follows it. Prefect's
own caching is off (``NO_CACHE``, results not persisted), so no Prefect record can point at
a folder that is gone. Results are small dicts, kept in memory.
"""

from __future__ import annotations

from typing import Any

from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, State

from recsys_core.pipeline.execute import run_step
from recsys_core.pipeline.table import STEPS, Step


def retry_on_io_error(task, task_run, state) -> bool:
    """Retry transient I/O failures only: bad input (InputError, a ValueError) fails the same
    way every time."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:  # noqa: BLE001 - anything else is a bug or bad data, not transient
        return False
    return False


IO_RETRIES = dict(retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=retry_on_io_error)
# The step folder is the only cache; Prefect keeps no result records of its own.
NO_PREFECT_CACHE = dict(cache_policy=NO_CACHE, persist_result=False)


def step_task(step: Step) -> Task:
    """The task that runs ``step``: a folder step is given its ``out_dir`` (derived by the
    runner from exactly its inputs) and reports a reuse as ``Cached``."""

    def run(out_dir: str | None = None, **inputs: Any) -> dict | State:
        log = get_run_logger()
        if out_dir is None:
            result = step.run(**inputs)
            log.info(
                "%s: %s %s", step.name, result.get("status", "done"), result.get("snapshot", "")
            )
            return result
        result = run_step(step.name, out_dir, **inputs)
        if result["reused"]:
            log.info("%s: reused %s", step.name, out_dir)
            return Completed(data=result, name="Cached", message=f"reused {out_dir}")
        log.info("%s done in %.2fs: %s", step.name, result["seconds"], out_dir)
        return result

    run.__doc__ = step.doc
    options = dict(IO_RETRIES) if step.io_retries else {}
    if step.timeout_s is not None:
        options["timeout_seconds"] = step.timeout_s
    return task(name=step.name, description=step.doc, **options, **NO_PREFECT_CACHE)(run)


TASKS: dict[str, Task] = {name: step_task(step) for name, step in STEPS.items()}
