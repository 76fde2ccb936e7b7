"""Cache keys on content: the step's output folder name already hashes its inputs.

The flow names each step's folder by a hash of (upstream folder or input sha256, the
parameters that matter for the step, core code version). The key adds the task's source.
A key whose folder has vanished (someone cleaned the work dir) becomes a fresh key, so
the step re-runs instead of returning a path to nothing.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import uuid
from pathlib import Path
from typing import Any

from prefect.context import TaskRunContext

from recsys_core.steps import is_complete
from recsys_core.version import core_version


def content_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    """sha256 of the task source, core version and parameters; unique if output is gone."""
    source = inspect.getsource(context.task.fn)
    payload = json.dumps(parameters, sort_keys=True, default=str)
    key = hashlib.sha256(f"{source}\n{core_version()}\n{payload}".encode()).hexdigest()
    out_dir = parameters.get("out_dir")
    if out_dir is not None and not is_complete(Path(out_dir)):
        return f"{key}-missing-{uuid.uuid4().hex}"
    return key
