"""news_ingest_<schedule>: one scheduled ingest DAG per schedule in the deployment's sources file
($NEWSFLOW_SOURCES, the Airflow Variable `newsflow_sources`, else config/sources.yaml).

A broken sources file is an import error of this file only, with the file and the entry in its message.
"""

from __future__ import annotations

from newsflow.ingest_dag import build_scheduled_dags, deployment_sources_file

globals().update(build_scheduled_dags(deployment_sources_file()))
