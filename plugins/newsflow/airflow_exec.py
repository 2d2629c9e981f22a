"""The `airflow` command line, run in this process, leaving without Python's interpreter teardown (2-3 s after a
`dags test` run); for `dags test`, the in-process execution API serves only the API versions its client speaks.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)


def serve_current_execution_api_only() -> list[str] | None:
    """Trim the execution API's version bundle to the versions an in-process `dags test` client can use.

    `dags test` runs every task against an in-process copy of Airflow's execution API, and its first request
    waits while cadwyn generates routes and schemas for every API version Airflow still supports (nine in 3.3:
    ~2.8 s of a run that takes ~9 s when nothing changed). That client is the task SDK of this very installation,
    which speaks only the newest version. Kept: the newest version down to the oldest one whose changes bring
    back a route (cadwyn refuses a bundle where a route marked as older-only is never restored), and one plain
    version below it as the base cadwyn requires (~1.0 s). The routes of the newest version are unchanged
    (tests/unit/test_runner_speedups.py compares them). Anything unexpected leaves Airflow's bundle as it is.
    Returns the version values kept, or None when nothing was changed.
    """
    try:
        from airflow.api_fastapi.execution_api import versions
        from airflow.sdk.api.datamodels._generated import API_VERSION
        from cadwyn import HeadVersion, Version, VersionBundle
        from cadwyn.structure.endpoints import EndpointExistedInstruction

        full = versions.bundle
        if not full.versions or full.versions[0].value != API_VERSION:
            return None
        last = 0
        for at, version in enumerate(full.versions):
            if any(isinstance(step, EndpointExistedInstruction)
                   for change in version.changes for step in change.alter_endpoint_instructions):
                last = at
        if last + 2 >= len(full.versions):
            return None
        kept = full.versions[: last + 1]
        changes = [change for version in (full.head_version, *full.versions) for change in version.changes]
        # a version change may belong to one bundle only: release them from Airflow's before building the new one
        bound = {change: change._bound_version_bundle for change in changes}
        for change in changes:
            change._bound_version_bundle = None
        try:
            trimmed = VersionBundle(
                HeadVersion(*full.head_version.changes),
                *(Version(version.value, *version.changes) for version in kept),
                Version(full.versions[last + 1].value),
            )
        except Exception:
            for change, owner in bound.items():
                change._bound_version_bundle = owner
            raise
        versions.bundle = trimmed
        return [version.value for version in trimmed.versions]
    except Exception:  # noqa: BLE001 - an optimisation only: Airflow's own bundle always works
        log.debug("execution API versions left as they are", exc_info=True)
        return None


def main() -> None:
    code = 1
    try:
        if sys.argv[1:3] == ["dags", "test"]:
            serve_current_execution_api_only()
        from airflow.__main__ import main as airflow_main

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
