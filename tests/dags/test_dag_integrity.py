"""DAG integrity: every DAG file imports cleanly through Airflow's DagBag, carries tags, retries and docs, and
does no heavy imports at parse time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("trafilatura", "great_expectations", "duckdb", "pandas", "pyarrow", "lxml", "aiohttp")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "news_ingest" in dagbag.dags


def test_dags_have_tags_docs_retries_and_failure_alerts(dagbag):
    from newsflow.alerts import announce_failed_run

    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        assert dag.on_failure_callback is announce_failed_run, f"{dag_id}: a failed run would not be announced"
        for task in dag.tasks:
            # account too: its verdict is not retried (a permanent error), a warehouse it could not read is (the
            # lake's Postgres catalog restarting under a Celery deployment failed a run whose URLs were accounted for)
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_tasks_push_one_xcom_each_and_do_not_print_it(dagbag):
    # a task returning a dict would push each key as its own XCom besides return_value: ten more execution-API
    # calls and metadata rows per mapped task (1,102 XCom rows in seven runs of the demo service), and nothing reads
    # them; printed to the log besides, the plan's jobs were 18 % of the service's scheduler output
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            # a mapped operator keeps its arguments until it is expanded
            kwargs = getattr(task, "partial_kwargs", None) or vars(task)
            name = f"{dag_id}.{task.task_id}"
            assert kwargs.get("multiple_outputs", getattr(task, "multiple_outputs", None)) is False, name
            assert kwargs.get("show_return_value_in_logs",
                              getattr(task, "show_return_value_in_logs", None)) is False, name


def test_ingest_shape(dagbag):
    dag = dagbag.dags["news_ingest"]
    assert dag.max_active_runs == 1
    ids = {t.task_id for t in dag.tasks}
    assert {"plan", "discover", "fetch_extract", "validate", "load", "account"} <= ids
    # one validate task for every source, once each source's fetch_extract is done (failed ones too): Great
    # Expectations is imported once a run, not once a source
    validate = dag.get_task("validate")
    assert validate.get_closest_mapped_task_group() is None and not hasattr(validate, "expand_input")
    assert validate.trigger_rule == "all_done" and validate.upstream_task_ids == {"plan", "fetch_extract"}
    assert dag.get_task("fetch_extract").get_closest_mapped_task_group() is not None
    assert dag.get_task("load").upstream_task_ids == {"plan", "validate"}
    load = dag.get_task("load")
    assert load.pool == "duckdb_write"
    # one Asset per warehouse: load names the warehouse's Asset at run time, through the alias
    assert [o.name for o in load.outlets] == ["newsflow_articles"]
    assert dag.get_task("account").pool == "duckdb_write"
    # the term table is filled after the load's transaction, not in it; accounting does not wait for it
    index = dag.get_task("index_terms")
    assert index.upstream_task_ids == {"load"} and index.pool == "duckdb_write" and index.retries >= 1
    assert "index_terms" not in dag.get_task("account").upstream_task_ids
    assert set(dag.params.keys()) == {"sources_file", "sources", "warehouse"}
    assert dag.timetable.__class__.__name__ == "NullTimetable"


def test_reprocess_indexes_what_it_reloads(dagbag):
    dag = dagbag.dags["news_reprocess"]
    assert dag.get_task("index_terms").upstream_task_ids == {"load"}
    # validated in one task once every source is extracted, failed ones too: as news_ingest, a source whose
    # extract failed does not stop the others (validate, load and account take the planned jobs)
    validate = dag.get_task("validate")
    assert not hasattr(validate, "expand_input") and validate.upstream_task_ids == {"plan", "extract"}
    assert validate.trigger_rule == "all_done"
    assert dag.get_task("load").upstream_task_ids == {"plan", "validate"}
    assert dag.get_task("load").trigger_rule == "all_done"
    assert dag.get_task("account").trigger_rule == "all_done"
    assert dag.get_task("account").upstream_task_ids == {"plan", "load"}


def test_quality_follows_the_articles_alias(dagbag):
    dag = dagbag.dags["news_quality"]
    assert [(type(o).__name__, o.name) for o in dag.timetable.asset_condition.objects] == [("AssetAlias", "newsflow_articles")]


def test_articles_asset_names_the_warehouse():
    from newsflow.dag_tasks import articles_asset

    first, again, other = articles_asset("/a/lake"), articles_asset("/a/lake"), articles_asset("/b/lake")
    assert first.uri == again.uri != other.uri
    assert first.uri.startswith("newsflow://warehouse/") and first.uri.endswith("/articles")


def test_scheduled_dags_come_from_the_sources_file(dagbag):
    """config/sources.yaml: @hourly by default, one source every 30 minutes, two manual-only sources."""
    hourly, every_30m = dagbag.dags["news_ingest_hourly"], dagbag.dags["news_ingest_every_30m"]
    assert hourly.params["sources"] == ["bbc_world", "aljazeera_ar", "meduza"]
    assert every_30m.params["sources"] == ["guardian_sitemap"]
    assert not any("curated" in d.params.get("sources", []) for d in dagbag.dags.values())
    for dag in (hourly, every_30m):
        assert dag.catchup is False and dag.max_active_runs == 1
        assert "scheduled" in dag.tags
        assert dag.params["sources_file"] == str(ROOT / "config" / "sources.yaml")
    assert hourly.timetable.__class__.__name__ == "CronTriggerTimetable"
    assert every_30m.timetable.__class__.__name__ == "DeltaTriggerTimetable"


_PARSE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"dags": sorted(bag.dags), "errors": {k.rsplit('/', 1)[-1]: v for k, v in bag.import_errors.items()}}))
"""


@pytest.mark.parametrize("content, message", [
    (None, "sources file not found"),
    ("sources: [ {name: a, kind: feed", "not valid YAML"),
    ("sources:\n  - {name: late, kind: feed, url: 'http://x', schedule: 'often'}\n",
     "sources[0] (name 'late'), field 'schedule'"),
])
def test_a_broken_sources_file_breaks_only_the_scheduled_dags(tmp_path, content, message):
    sources = tmp_path / "sources.yaml"
    if content is not None:
        sources.write_text(content)
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "home"), "NEWSFLOW_SOURCES": str(sources),
           "PYTHONPATH": str(ROOT / "plugins")}
    out = subprocess.run([sys.executable, "-c", _PARSE, str(ROOT / "dags")], capture_output=True, text=True,
                         env=env, check=True)
    import json

    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result["errors"]) == {"news_scheduled.py"}
    assert message in result["errors"]["news_scheduled.py"]
    assert str(sources) in result["errors"]["news_scheduled.py"]
    assert {"news_ingest", "news_quality", "news_reprocess"} <= set(result["dags"])


@pytest.mark.parametrize("dag_file", sorted(p.name for p in (ROOT / "dags").glob("*.py")))
def test_parse_time_imports_stay_light(dag_file):
    """Parsing a DAG file must not import the heavy libraries (they load inside tasks)."""
    code = (
        "import sys, runpy; runpy.run_path(sys.argv[1]); "
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "dags" / dag_file)], capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT / "plugins"), "PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), f"{dag_file} imports {out.stdout.strip()} at parse time"


def test_ruff_air3_clean():
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "AIR3", "dags", "plugins"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_plugin_folder_exposes_only_the_ui_plugin(tmp_path):
    """Airflow loads every .py under plugins/ as a top-level module; the package must stay out of that."""
    code = (
        "import sys, json\n"
        "from airflow import plugins_manager\n"
        "info = plugins_manager.get_plugin_info()\n"
        "print(json.dumps({'plugins': [p['name'] for p in info], 'errors': plugins_manager.get_import_errors(),\n"
        "  'stray': [m for m in ('config', 'stages', 'dates', 'server', 'warehouse') if m in sys.modules]}))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    import json

    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"plugins": ["newsflow"], "errors": {}, "stray": []}


def test_maintenance_shape(dagbag):
    dag = dagbag.dags["news_maintenance"]
    assert dag.max_active_runs == 1 and not dag.catchup
    assert dag.timetable.expression == "0 0 * * *"  # @daily
    task = dag.get_task("maintain_lake")
    assert task.pool == "duckdb_write"  # never at the same time as a load
    assert "retention_days" in dag.params
    cleanup = dag.get_task("clean_staging")
    assert cleanup.upstream_task_ids == {"maintain_lake"} and cleanup.trigger_rule == "all_done"
    logs = dag.get_task("clean_logs")  # Airflow's files, not the lake's: no wait on the write pool or on compaction
    assert logs.upstream_task_ids == set() and logs.pool != "duckdb_write" and "log_retention_days" in dag.params
