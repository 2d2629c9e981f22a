"""Staging left behind: a run's staging folder is needed only while the run is alive; once the run has finished
(its row in `runs` has a final status) or its process died (nothing in it changed for hours), it is removed.
"""

from __future__ import annotations

import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path

from newsflow import staging

log = logging.getLogger(__name__)

# longer than any stage may run without writing to its folder (fetch_extract's execution_timeout is 2 h, and it
# writes its articles file in batches as it goes): a folder untouched for this long belongs to a dead run
STALE_AFTER = timedelta(hours=6)


def finished_run_keys(warehouse: str | Path | None = None) -> set[str]:
    """Staging keys (newsflow.staging.run_key) of runs the warehouse records as finished."""
    from newsflow.warehouse import connect

    con = connect(warehouse, read_only=True)
    try:
        rows = con.execute("select run_id from runs where finished_at is not null").fetchall()
    finally:
        con.close()
    return {staging.run_key(run_id) for (run_id,) in rows}


def _newest_change(folder: Path) -> float:
    newest = folder.stat().st_mtime
    for path in folder.rglob("*"):
        try:
            newest = max(newest, path.lstat().st_mtime)
        except OSError:  # removed while we looked
            continue
    return newest


def clean_dead_staging(data_dir: Path | None = None, *, finished: set[str] | None = None,
                       stale_after: timedelta = STALE_AFTER, keep: set[str] | None = None,
                       now: float | None = None, dry_run: bool = False) -> list[Path]:
    """Remove the staging folders of finished runs (`finished`: run keys, see finished_run_keys) and of dead
    runs (nothing inside changed for `stale_after`); folders in `keep` (run keys of runs known to be active) stay
    whatever their age. Returns the folders removed (or that would be, with dry_run)."""
    from newsflow.config import data_dir as default_data_dir

    root = (data_dir or default_data_dir()) / "staging"
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    finished, keep = finished or set(), keep or set()
    removed = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        if folder.name in keep:
            continue
        idle = now - _newest_change(folder)
        if folder.name not in finished and idle < stale_after.total_seconds():
            continue
        why = "finished" if folder.name in finished else f"untouched for {idle / 3600:.1f} h"
        log.info("staging %s: %s, removing", folder, why)
        if not dry_run:
            shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed
