"""What an always-on service leaves behind: a run's staging folder, needed only while the run is alive (removed
once the run has finished or its process died), and Airflow's log files, kept for a retention period.
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
# task logs: a demo news_ingest run (four sources) and its news_quality run write ~100 KB of them, ~10 MB a day at
# a 15-minute schedule, ~3.5 GB a year
DEFAULT_LOG_RETENTION_DAYS = 30.0
# a log file written within this is never deleted, whatever the retention asked (0 days included): it may be a
# running task's, which the UI still shows
LOG_GRACE_S = 3600.0


def finished_run_keys(warehouse: str | Path | None = None) -> set[str]:
    """Staging keys (newsflow.staging.run_key) of runs the warehouse records as finished."""
    from newsflow.warehouse import connect

    con = connect(warehouse, read_only=True)
    try:
        # a run id every DAG that ran it has finished: two schedules firing at one instant share the id (and its
        # staging folder, a subfolder per source), and one finishing first must not clear the other's
        rows = con.execute("select run_id from runs group by run_id having count(finished_at) = count(*)").fetchall()
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


def log_retention_days() -> float:
    """$NEWSFLOW_LOG_RETENTION_DAYS (default 30): how long Airflow's log files are kept."""
    from newsflow.env_settings import days_setting

    return days_setting("NEWSFLOW_LOG_RETENTION_DAYS", DEFAULT_LOG_RETENTION_DAYS)


def prune_logs(folder: Path, *, older_than_days: float, now: float | None = None) -> dict:
    """Delete the files under `folder` (Airflow's base_log_folder: task logs by dag, run and task, the
    dag-processor's logs by day) not written for `older_than_days` (nor within LOG_GRACE_S), then the folders left
    empty. Returns the files and bytes removed."""
    folder = Path(folder)
    now = time.time() if now is None else now
    cutoff = min(now - older_than_days * 86400, now - LOG_GRACE_S)
    removed = {"files": 0, "bytes": 0}
    if not folder.is_dir():
        return removed
    for path in folder.rglob("*"):
        try:
            info = path.lstat()
            if path.is_file() and not path.is_symlink() and info.st_mtime < cutoff:
                path.unlink()
                removed["files"] += 1
                removed["bytes"] += info.st_size
        except OSError:  # removed while we looked
            continue
    remove_empty_folders(folder)
    log.info("logs under %s older than %g days: removed %d files (%d bytes)", folder, older_than_days,
             removed["files"], removed["bytes"])
    return removed


def remove_empty_folders(root: Path) -> None:
    """Remove the folders under `root` left empty, deepest first (links not followed; `root` itself stays)."""
    if not root.is_dir():
        return
    for sub in sorted((p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()), key=lambda p: -len(p.parts)):
        try:
            sub.rmdir()  # only an empty one goes
        except OSError:
            continue


def _size(path: Path) -> tuple[int, int]:
    """Bytes and files under `path` (links not followed)."""
    if path.is_file():
        return path.stat().st_size, 1
    total = files = 0
    for item in path.rglob("*") if path.is_dir() else ():
        try:
            if item.is_file() and not item.is_symlink():
                total += item.stat().st_size
                files += 1
        except OSError:  # removed while we looked
            continue
    return total, files


def footprint(data_dir: Path, warehouse: str, airflow_home: Path) -> list[tuple[str, Path, int, int, str]]:
    """What newsflow keeps on disk, each with who clears it: (what, where, bytes, files, kept how)."""
    from newsflow.housekeeper import metadata_retention_days
    from newsflow.maintenance import quality_retention_days, retention_days
    from newsflow.quality_checks import DATA_DOCS_VALIDATIONS

    lake = lake_files_folder(warehouse)
    logs_kept = _said(lambda: f"deleted by news_maintenance after {log_retention_days():g} days",
                      "NOT deleted: {} (news_maintenance's clean_logs fails on it)")
    metadata_kept = _said(lambda: f"run history older than {metadata_retention_days():g} days deleted daily by the "
                                  "service's housekeeper (`newsflow clean-metadata` without it)",
                          "NOT cleaned: {} (`newsflow up` refuses to start with it)")
    service_kept = _said(_service_logs_kept, "{} (`newsflow up` refuses to start with it)")
    lake_kept = _said(lambda: f"compacted, snapshots older than {retention_days():g} days expired, quality_checks "
                              f"rows kept {quality_retention_days():g} days by news_maintenance",
                      "NOT maintained: {} (news_maintenance's maintain_lake fails on it)")
    parts = [
        ("warehouse", lake, lake_kept) if lake is not None and lake.is_absolute() else None,
        ("raw archive (WARC)", data_dir / "archive", "kept on purpose, articles point into it and reprocess reads it"),
        ("staging", data_dir / "staging", "removed by news_maintenance once its run has finished"),
        # the service's components log their tasks and DAG parsing under the data dir; `airflow dags test` runs
        # (`newsflow ingest` without the service, `make demo`) write one file per DAG under Airflow home
        ("task logs", data_dir / "logs" / "airflow", logs_kept),
        ("last runs, dags test", airflow_home / "logs", "each DAG's last run without the service, overwritten by "
                                                        "the next"),
        ("service logs", data_dir / "logs" / "service", service_kept),
        ("Data Docs", data_dir / "data_docs", f"the newest {DATA_DOCS_VALIDATIONS} validations"),
        ("Airflow metadata", airflow_home / "airflow.db", metadata_kept),
    ]
    return [(what, path, *_size(path), kept) for what, path, kept in filter(None, parts)]


DISK_LOW_VAR = "NEWSFLOW_DISK_LOW_GB"
DEFAULT_DISK_LOW_GB = 2.0
# a million GB (a petabyte): more is a typo (an exponent, extra zeros), and past ~1.7e299 the bytes overflow
MAX_DISK_LOW_GB = 1_000_000
# told recovered only once a quarter more is free than the limit: a disk that hovers at the limit (a run's staging
# written, then removed) would otherwise be told low and recovered at every look
DISK_RECOVERED = 1.25


def disk_low_bytes() -> int:
    """$NEWSFLOW_DISK_LOW_GB (default 2) in bytes: less free space than this on a disk newsflow writes is low."""
    from newsflow.env_settings import number_setting

    return int(number_setting(DISK_LOW_VAR, DEFAULT_DISK_LOW_GB, maximum=MAX_DISK_LOW_GB,
                              expected="a number of GB (GiB)") * 1024**3)


def lake_files_folder(warehouse: str) -> Path | None:
    """Where a lake's files are on this machine: a folder lake's folder, a Postgres lake's data files folder
    (NEWSFLOW_LAKE_DATA: its catalog is in Postgres, its Parquet files are not); None for object storage or unset."""
    from newsflow.config import lake_data_location

    if not str(warehouse).startswith("postgres:"):
        return Path(warehouse)
    data = lake_data_location()
    return Path(data) if data and "://" not in data else None


def free_space(data_dir: Path, warehouse: str, airflow_home: Path) -> list[tuple[str, Path, int, int]]:
    """Each disk newsflow writes to, once: (what is on it, a folder on it, bytes free, bytes in all). A full disk
    fails every load (the lake cannot commit), every fetch (the archive) and the scheduler's own writes; a lake in
    Postgres is judged by the disk of its data files (NEWSFLOW_LAKE_DATA), its catalog is not on this machine."""
    parts = [("data dir", Path(data_dir)), ("warehouse", lake_files_folder(warehouse)),
             ("Airflow home", Path(airflow_home))]
    disks: dict[int, tuple[list[str], Path, int, int]] = {}
    for what, path in parts:
        if path is None or not path.is_absolute():
            continue
        while not path.exists() and path != path.parent:  # what is not made yet will be made on its parent's disk
            path = path.parent
        try:
            device = path.stat().st_dev
            usage = shutil.disk_usage(path)
        except OSError as exc:
            log.warning("cannot read the free space of %s: %s", path, exc)
            continue
        disks.setdefault(device, ([], path, usage.free, usage.total))[0].append(what)
    return [(", ".join(names), path, free, total) for names, path, free, total in disks.values()]


def _said(describe, broken: str) -> str:
    """What `describe()` says, or its setting's error in `broken`: status is where an operator looks, so a malformed
    setting is said there, never raised."""
    try:
        return describe()
    except ValueError as exc:
        return broken.format(exc)


def _service_logs_kept() -> str:
    from newsflow.service_logs import rotation

    max_bytes, files = rotation()
    return f"rotated at {human_bytes(max_bytes)}, {files} older files kept per component"


def human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
