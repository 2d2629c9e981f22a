"""`python tests/support/run_at.py DAG_FILE DAG_ID WHEN SOURCES_FILE`: one run of an ingest DAG through Airflow's
own DAG.test, as `airflow dags test` runs it, with `run_after` WHEN, so its run id (`manual__WHEN`) is known
before it starts; `airflow dags test` takes it from the clock. Prints `RUN <run id> <state>`."""

import runpy
import sys
from datetime import datetime

dag_file, dag_id, when, sources_file = sys.argv[1:5]
dag = runpy.run_path(dag_file)[dag_id]
at = datetime.fromisoformat(when)
run = dag.test(run_after=at, logical_date=at, run_conf={"sources_file": sources_file})
print("RUN", run.run_id, run.state, flush=True)
