"""One fetch task's worth of requests for tests/unit/test_host_gate.py, run as its own process:
`python -m tests.support.gate_worker JSON` with port, paths, start_at (wall clock), gate_dir (or null) and settings."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from newsflow.config import Settings
from newsflow.fetch import Fetcher


async def run(job: dict) -> list[str]:
    settings = Settings(allow_private_hosts=[f"127.0.0.1:{job['port']}"], respect_robots=False, **job["settings"])
    async with Fetcher(settings, host_gate_dir=job["gate_dir"]) as fetcher:
        # both processes start together, so without shared limits their requests would overlap
        await asyncio.sleep(max(0.0, job["start_at"] - time.time()))
        results = await asyncio.gather(*(fetcher.get(f"http://127.0.0.1:{job['port']}{p}") for p in job["paths"]))
    return [r.outcome for r in results]


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))))
