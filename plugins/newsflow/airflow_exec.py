"""The `airflow` command line, run in this process, leaving without Python's interpreter teardown (2-3 s after a
`dags test` run). For `dags test` (every task in this one process): the in-process execution API serves only the
API versions its client speaks, the garbage collector runs less often and skips the imported modules, and the
SQLite metadata DB commits without an fsync each. With NEWSFLOW_AIRFLOW_WAIT_FOR_GO=1 the command waits for a
`go` line on stdin after the imports (newsflow.airflow_runner.dags_test's `check`).
"""

from __future__ import annotations

import logging
import os
import sys

# the names only: airflow_runner imports nothing heavy at module level
from newsflow.airflow_runner import GO, GO_ENV

log = logging.getLogger(__name__)


def serve_current_execution_api_only() -> list[str] | None:
    """Trim the execution API's version bundle to the versions an in-process `dags test` client can use.

    `dags test` runs every task against an in-process copy of Airflow's execution API, and its first request
    waits while cadwyn generates routes and schemas for every API version Airflow still supports (nine in 3.3:
    ~2.8 s of a run that takes ~9 s when nothing changed; each version kept costs ~0.25 s of CPU). That client
    is the task SDK of this very installation, which speaks only the newest version.

    Kept: the newest version and the one before it as the plain base cadwyn requires (~0.7 s). Both are served
    exactly as in Airflow's full bundle: the newest version's changes are what turn it into the one before.
    Routes marked as existing only in older versions (cadwyn refuses a bundle that never restores them) exist
    in neither, so the router handed to the app leaves them out; Airflow's own router object is not touched.
    If the newest version itself restores such a route, the bundle is kept down to the oldest version that
    restores one instead, plus a plain base below it, and the router is left whole.
    tests/unit/test_runner_speedups.py checks that the kept versions serve the same routes (path, methods,
    name, response schema) as before. Anything unexpected leaves Airflow's bundle and router as they are.
    Returns the version values kept, or None when nothing was changed.
    """
    try:
        from copy import copy

        from airflow.api_fastapi.execution_api import routes, versions
        from airflow.sdk.api.datamodels._generated import API_VERSION
        from cadwyn import HeadVersion, Version, VersionBundle
        from cadwyn.route_generation import _DELETED_ROUTE_TAG
        from cadwyn.structure.endpoints import EndpointExistedInstruction
        from fastapi.routing import APIRoute

        full = versions.bundle
        if not full.versions or full.versions[0].value != API_VERSION:
            return None
        last = 0
        for at, version in enumerate(full.versions):
            if any(isinstance(step, EndpointExistedInstruction)
                   for change in version.changes for step in change.alter_endpoint_instructions):
                last = at
        newest_restores = any(isinstance(step, EndpointExistedInstruction)
                              for change in full.versions[0].changes for step in change.alter_endpoint_instructions)
        # only older versions restore older-only routes: serve the newest two, which have none of them
        drop_older_only = not newest_restores
        keep = 1 if drop_older_only else last + 1
        if keep + 1 >= len(full.versions):
            return None
        kept = full.versions[:keep]
        changes = [change for version in (full.head_version, *full.versions) for change in version.changes]
        # a version change may belong to one bundle only: release them from Airflow's before building the new one
        bound = {change: change._bound_version_bundle for change in changes}
        for change in changes:
            change._bound_version_bundle = None
        try:
            trimmed = VersionBundle(
                HeadVersion(*full.head_version.changes),
                *(Version(version.value, *version.changes) for version in kept),
                Version(full.versions[keep].value),
            )
        except Exception:
            for change, owner in bound.items():
                change._bound_version_bundle = owner
            raise
        if drop_older_only:
            router = copy(routes.execution_api_router)  # same route objects, own list
            router.routes = [route for route in router.routes
                             if not (isinstance(route, APIRoute) and _DELETED_ROUTE_TAG in route.tags)]
            # create_task_execution_api_app imports the router from this module when it builds the app
            routes.execution_api_router = router
        versions.bundle = trimmed
        return [version.value for version in trimmed.versions]
    except Exception:  # noqa: BLE001 - an optimisation only: Airflow's own bundle always works
        log.debug("execution API versions left as they are", exc_info=True)
        return None


def sqlite_commits_without_fsync() -> None:
    """`PRAGMA synchronous=NORMAL` on every connection to a SQLite metadata DB in WAL mode (Airflow's own).

    A `dags test` run commits Airflow's metadata ~100 times (task starts, XComs, states, the run loop); at
    the default FULL each commit waits for an fsync of the WAL (~0.2 s a run on this disk, in the stretch
    between two tasks). In WAL mode NORMAL is SQLite's documented setting for this: the database stays
    consistent on a crash, and a power cut can lose only the last commits of that run's bookkeeping; the
    WAL is still synced at each checkpoint. Other databases (Postgres, MySQL) and rollback-journal SQLite
    files are left alone. The newsflow warehouse is DuckDB and is not affected.
    """
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _wal_commits_without_fsync(dbapi_connection, _record) -> None:
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        cursor = dbapi_connection.cursor()
        try:
            # Airflow switches its SQLite file to WAL at `db migrate`; the mode is stored in the file
            (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
            if str(mode).lower() == "wal":
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()


# a young-generation collection every 10,000 net container allocations instead of Python's default 700
GC_THRESHOLD0 = 10_000


def fewer_gc_passes() -> None:
    """Let Python's cyclic garbage collector run less often in this process (called before Airflow's imports).

    A 2,000-page rerun where nothing changed spent ~1.2 s in the collector (gc.callbacks): at the default
    threshold of 700, the imports and Airflow's set-up (cadwyn's pydantic models and routes, the DAG's
    serialisation) triggered ~1,150 young and eight full collections, each full one walking every object the
    imported modules keep alive (~0.13 s each). With 10,000 the same run makes ~75 young collections and no
    full one (~0.35 s in all). Reference counting still frees everything at once as before; only garbage in
    reference cycles waits longer, as each generation is collected ~14 times less often.
    """
    import gc

    gc.set_threshold(GC_THRESHOLD0, *gc.get_threshold()[1:])


def freeze_startup_objects() -> None:
    """Move everything the imports created into the collector's permanent generation: those modules, classes
    and functions live until the process ends, and a full collection (one in a long first run) then walks
    only what the run itself allocated."""
    import gc

    gc.freeze()


def main() -> None:
    code = 1
    try:
        if sys.argv[1:3] == ["dags", "test"]:
            fewer_gc_passes()
            sqlite_commits_without_fsync()
            serve_current_execution_api_only()
        from airflow.__main__ import main as airflow_main

        if sys.argv[1:3] == ["dags", "test"]:
            freeze_startup_objects()

        if os.environ.pop(GO_ENV, None) == "1" and sys.stdin.readline().strip() != GO:
            # the runner's check failed (newsflow.airflow_runner.dags_test): leave before Airflow's DB is touched
            code = 0
            return
        sys.argv[0] = "airflow"
        result = airflow_main()
        code = result if isinstance(result, int) else 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int | None):
            print(exc.code, file=sys.stderr)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        # everything the run wrote is already committed and closed; only buffered output is left to write
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    main()
