"""news_ingest: the manual Airflow ingest DAG (`newsflow ingest`, `newsflow demo`, the Trigger button): sources file ->
discover -> fetch_extract (mapped per source) -> validate (all sources) -> load -> index_terms, account. Wiring in
newsflow.ingest_dag.
"""

from __future__ import annotations

from newsflow.ingest_dag import build_ingest_dag, deployment_sources_file

news_ingest = build_ingest_dag(
    "news_ingest", schedule=None, sources_file=deployment_sources_file(),
    what="Manual runs: one run ingests every source in the sources file (or those named in `sources`).",
)
