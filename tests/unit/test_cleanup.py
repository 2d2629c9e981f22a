"""Staging of dead and finished runs is removed; a live run's folder stays, however old the run."""

from __future__ import annotations

import os
import time

from newsflow.cleanup import clean_dead_staging, finished_run_keys
from newsflow.staging import run_key, source_dir
from tests.support.stage_run import run


def _age(folder, hours: float) -> None:
    then = time.time() - hours * 3600
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (then, then))


def test_dead_and_finished_staging_is_removed(tmp_path, data_env):
    # a finished run, through the real stages (its runs row has a final status)
    run(tmp_path, None, "finished_run", "  - {name: empty, kind: urls, urls: ['http://127.0.0.1:9/x']}\n",
        settings="  allow_private_hosts: ['127.0.0.1:9']\n  connect_timeout_s: 1\n")
    dead = source_dir("dead_run", "a")
    (dead / "ledger.discover.parquet").write_bytes(b"x")
    _age(dead.parent, 7)
    live_old = source_dir("live_but_old", "a")
    _age(live_old.parent, 30)
    fresh = source_dir("fresh_run", "a")
    (fresh / "articles.parquet").write_bytes(b"x")

    finished = finished_run_keys()
    assert run_key("finished_run") in finished
    removed = clean_dead_staging(finished=finished, keep={run_key("live_but_old")})
    assert sorted(p.name for p in removed) == ["dead_run", "finished_run"]
    left = sorted(p.name for p in (data_env / "staging").iterdir())
    assert left == ["fresh_run", "live_but_old"]
    assert clean_dead_staging(finished=finished, keep={run_key("live_but_old")}) == []


def test_dry_run_removes_nothing(data_env):
    dead = source_dir("dead_run", "a")
    _age(dead.parent, 10)
    assert [p.name for p in clean_dead_staging(dry_run=True)] == ["dead_run"]
    assert dead.exists()
