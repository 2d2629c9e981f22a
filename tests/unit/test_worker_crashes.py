"""Crashes end cleanly: `kill -9` of a real extraction worker fails at most the pages it had in flight and the
rest are extracted; workers die with the task process that started them (PR_SET_PDEATHSIG), even on kill -9."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from newsflow.stages.extraction_pool import ExtractionStream
from tests.support.procs import alive, kill, spawned_workers, wait_gone
from tests.unit.test_pipeline_streaming import _fetched_items

ROOT = Path(__file__).resolve().parents[2]


def test_kill_9_of_a_worker_fails_only_pages_in_flight(tmp_path, data_env):
    from tests.support.crashing_worker import slow_extract

    items = _fetched_items(tmp_path, "k")
    seen = []
    before = set(spawned_workers(_self()))  # workers other tests' pools may still be winding down

    def ours() -> list[int]:
        return sorted(set(spawned_workers(_self())) - before)

    with ExtractionStream(2, chunk=4, work=slow_extract) as stream:
        for item in items[:24]:
            seen.extend(stream.submit(item))
        deadline = time.monotonic() + 60
        while len(ours()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim = ours()[0]
        kill(victim, signal.SIGKILL)
        for item in items[24:]:
            seen.extend(stream.submit(item))
        seen.extend(stream.finish())
    assert not alive(victim)
    seqs = sorted(r["seq"] for r in seen)
    assert seqs == sorted(i["seq"] for i in items)  # every page has exactly one result
    errors = {r["error"] for r in seen if r["error"]}
    assert errors <= {"extract_crashed"}
    # the killed worker had at most its own batch in flight; the pool's other pages were redone or went on
    assert len([r for r in seen if r["error"]]) <= 4
    assert stream.crashed <= 4
    assert all(r["record"]["body"] for r in seen if not r["error"])


def _self() -> int:
    import os

    return os.getpid()


def test_workers_die_with_their_task_process(tmp_path, data_env):
    items = _fetched_items(tmp_path, "d")
    code = (
        "import json, sys, time\n"
        "from newsflow.stages.extraction_pool import ExtractionStream\n"
        "from tests.support.crashing_worker import slow_extract\n"
        f"items = json.loads(open({str(tmp_path / 'items.json')!r}).read())\n"
        "stream = ExtractionStream(2, chunk=2, work=slow_extract).__enter__()\n"
        "for item in items:\n"
        "    stream.submit(item)\n"
        "print('submitted', flush=True)\n"
        "time.sleep(600)\n"
    )
    import json

    (tmp_path / "items.json").write_text(json.dumps(items, default=str))
    task = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": f"{ROOT / 'plugins'}:{ROOT}", "PATH": "/usr/bin:/bin",
                                 **{k: v for k, v in __import__("os").environ.items() if k.startswith("NEWSFLOW")}})
    try:
        assert task.stdout.readline().strip() == "submitted"
        deadline = time.monotonic() + 60
        while len(spawned_workers(task.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = spawned_workers(task.pid)
        assert len(workers) == 2
        kill(task.pid, signal.SIGKILL)  # the task process dies without any chance to clean up
        task.wait(10)
        assert wait_gone(workers, 10) == []
    finally:
        kill(task.pid, signal.SIGKILL)
        task.wait(10)
