"""A case worker in its own process, so a test can kill it with SIGKILL mid-batch.

    python -m tests.workflows.worker_process ADDRESS TASK_QUEUE DB_URL FAMILIES

Families ``K0``..``K<n-1>`` come from :func:`tests.workflows.builders.ready_families` (each has already
engaged with the service), guards are evaluated by the real rules engine.
"""

from __future__ import annotations

import asyncio
import os
import sys

from engine.storage.db import make_engine
from tests.workflows.builders import ready_families
from workflows.activities import CaseActivities
from workflows.worker import connect, run_worker


def main() -> None:
    address, queue, db_url, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    activities = CaseActivities(make_engine(db_url), family_loader=ready_families(count).load)

    async def serve() -> None:
        client = await connect(address)
        print("worker ready", flush=True)
        await run_worker(client, activities, queue)

    asyncio.run(serve())
    os._exit(0)


if __name__ == "__main__":
    main()
