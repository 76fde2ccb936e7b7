"""Talks to the Prefect API named by PREFECT_API_URL; prints JSON. Used by the server test.

python -m tests.flows.client_probe state FLOW_RUN_ID
python -m tests.flows.client_probe schedule DEPLOYMENT ISO_TIME TIMEZONE PARAMS_JSON
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import zoneinfo


async def _state(flow_run_id: str) -> dict:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
        tasks = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        )
        return {
            "state_type": run.state.type.value if run.state else None,
            "state_name": run.state.name if run.state else None,
            "tasks": sorted((t.name, t.state.name) for t in tasks if t.state),
        }


async def _schedule(deployment: str, when: str, timezone: str, params: str) -> dict:
    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    scheduled = dt.datetime.fromisoformat(when).replace(tzinfo=zoneinfo.ZoneInfo(timezone))
    async with get_client() as client:
        dep = await client.read_deployment_by_name(deployment)
        run = await client.create_flow_run_from_deployment(
            dep.id, parameters=json.loads(params), state=Scheduled(scheduled_time=scheduled)
        )
        return {"id": str(run.id)}


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    coroutine = _state(*args) if command == "state" else _schedule(*args)
    print(json.dumps(asyncio.run(coroutine)))
