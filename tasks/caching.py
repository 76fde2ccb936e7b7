"""Cache keys on content: the step's output folder name already hashes its inputs.

The flow names each step's folder by a hash of (upstream folder or input sha256, the
parameters that matter for the step, core code version); the key adds the task's source.
When that folder is gone (someone cleaned the work dir) the flow calls the task with
``refresh_cache=True``, so it re-runs instead of returning a path to nothing.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from typing import Any

from prefect.context import TaskRunContext

from recsys_core.version import core_version


def content_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """sha256 of the task's source, the core's code version and the task's parameters."""
    source = inspect.getsource(context.task.fn)
    payload = json.dumps(parameters, sort_keys=True, default=str)
    return hashlib.sha256(f"{source}\n{core_version()}\n{payload}".encode()).hexdigest()
