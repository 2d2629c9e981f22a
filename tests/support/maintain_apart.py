"""A maintenance pass in a child process, as news_maintenance's task runs it (a task process per try): a DuckDB
abort inside the pass fails the one test that asked for it, not the test worker and with it the whole run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from newsflow import maintenance

# The pass runs in a process of its own, as news_maintenance's task does (a task process per try). In the long-lived
# test worker, DuckDB 1.5.5 aborted the process inside ducklake_merge_adjacent_files four times in about twenty
# suite runs (`malloc(): unaligned tcache chunk detected`: heap corruption; DuckDB has open reports of the kind,
# duckdb/duckdb#21749), never when the test ran alone, and not in 284 passes over the compaction test's lake in fresh
# processes (session 43). A dead worker ends the whole run; a child that dies fails its test, with its signal named.
CHILD = """
import json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s\t%(message)s")
from newsflow import maintenance
for name, value in json.loads(sys.argv[3]).items():
    if not hasattr(maintenance, name):  # a misspelt constant would be added, and the test run without it
        sys.exit(f"newsflow.maintenance has no {name}")
    setattr(maintenance, name, value)
print(json.dumps(maintenance.maintain(sys.argv[1], **json.loads(sys.argv[2]))))
"""


def maintain_apart(lake, said: list | None = None, constants: dict | None = None, **kwargs) -> dict:
    """maintenance.maintain(lake, **kwargs) in a child process (the environment is this test's); its log lines go
    to `said`, and `constants` of the maintenance module are set first."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(lake), json.dumps(kwargs), json.dumps(constants or {})],
                          capture_output=True, text=True, timeout=600)
    if done.returncode < 0:
        pytest.fail(f"the maintenance pass died of {signal.Signals(-done.returncode).name}:\n{done.stderr[-3000:]}")
    assert done.returncode == 0, done.stderr[-3000:]
    if said is not None:
        said += [line.split("\t", 1)[1] for line in done.stderr.splitlines()
                 if line.startswith(maintenance.__name__ + "\t")]
    return json.loads(done.stdout.splitlines()[-1])
