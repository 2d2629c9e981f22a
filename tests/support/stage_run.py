"""Every stage of one news_ingest run, called in process the way the DAG's tasks call them, for tests that need
the real stages without Airflow's start-up (the DAG itself is exercised by the integration tests)."""

from __future__ import annotations

from newsflow.stages.account import check_accounting
from newsflow.stages.discover import discover_source
from newsflow.stages.fetch_extract import fetch_extract_source
from newsflow.stages.load import load_run
from newsflow.stages.plan import plan_run
from newsflow.stages.validate import validate_run


def write_sources(tmp_path, server, sources_yaml: str, settings: str = ""):
    """The sources file of a test run: `sources_yaml`'s entries, the loopback `server` allowed (if any), no pause
    between requests, one try, one extraction worker; `settings` lines replace the defaults of the same keys (a key
    given twice is an error in a sources file)."""
    sources = tmp_path / "sources.yaml"
    defaults = {"min_host_interval_s": "0", "max_tries": "1", "extract_workers": "1"}
    if server is not None:
        defaults["allow_private_hosts"] = f"['127.0.0.1:{server.port}']"
    given = {line.split(":", 1)[0].strip() for line in settings.splitlines() if ":" in line}
    lines = "".join(f"  {key}: {value}\n" for key, value in defaults.items() if key not in given)
    sources.write_text("settings:\n" + lines + settings + "sources:\n" + sources_yaml, encoding="utf-8")
    return sources


def run(tmp_path, server, run_id: str, sources_yaml: str, settings: str = "", dag_id: str | None = None,
        names: list[str] | None = None) -> dict:
    """Write a sources file (write_sources) and run plan -> ... -> account over it, as `dag_id`'s run if given;
    `names`: only those sources (the DAG's `sources` param, `newsflow ingest --source`)."""
    sources = write_sources(tmp_path, server, sources_yaml, settings)
    jobs = [fetch_extract_source(discover_source(j)).to_xcom()
            for j in plan_run(str(sources), names, run_id, dag_id=dag_id)]
    jobs = validate_run(jobs)
    load_run(jobs, run_id=run_id, dag_id=dag_id or "test")
    return check_accounting(jobs, run_id=run_id, dag_id=dag_id)
