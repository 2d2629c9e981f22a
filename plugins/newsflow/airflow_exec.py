"""The `airflow` command line, run in this process, leaving without Python's interpreter teardown: after a
`dags test` run that teardown (module and object cleanup of Airflow, pandas, Great Expectations) takes 2-3 s.
"""

from __future__ import annotations

import logging
import os
import sys


def main() -> None:
    code = 1
    try:
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
