"""Plan a run: parse and check the sources file once, pick the sources, and make one typed Job per source with
its staging folder and the warehouse it loads into.
"""

from __future__ import annotations

import logging
from pathlib import Path

from newsflow import staging
from newsflow.config import ConfigError, load_sources, password_problem, project_root, warehouse_location
from newsflow.stages.job import Job
from newsflow.warehouse import memory_limit

log = logging.getLogger(__name__)


def resolve_sources_file(sources_file: str) -> str:
    """A relative path is looked up from the working directory, then from the project root (where the DAG's
    default `config/sources.yaml` lives), since workers do not all start in the same folder."""
    path = Path(sources_file)
    if not path.is_absolute() and not path.exists() and (project_root() / path).exists():
        path = project_root() / path
    return str(path.resolve())


def split_names(source_filter: list[str] | str | None) -> list[str] | None:
    if isinstance(source_filter, str):
        source_filter = [s.strip() for s in source_filter.split(",") if s.strip()]
    return source_filter or None


def make_jobs(sources_file: str, names: list[str] | None, run_id: str, warehouse: str | None) -> list[Job]:
    sources_file = resolve_sources_file(sources_file)
    config = load_sources(sources_file)
    memory_limit()  # the load's setting: a typo fails the run here, before a page is fetched
    selected = config.selected(names)
    known = tuple(s.name for s in config.sources)
    # the one place the default ($NEWSFLOW_WAREHOUSE, else <data dir>/warehouse) is read: the job carries it on
    lake = warehouse_location(warehouse)
    problem = password_problem(lake)
    if problem:  # the plan's jobs are its XCom and each mapped task's rendered arguments, shown in the UI
        raise ConfigError(f"warehouse {problem}")
    return [
        Job(run_id=run_id, source=config.source(name), settings=config.settings, known_sources=known,
            sources_file=sources_file, staging=staging.source_dir(run_id, name), warehouse=lake)
        for name in selected
    ]


def refuse_over_map_limit(jobs: list[Job]) -> None:
    """A run maps one task per source, and Airflow refuses a list longer than its [core] max_map_length (1024 by
    default) only when the plan's result is stored: "pushed value is too large to map", after the plan's retries,
    and the run loaded nothing. Said here instead, before a page is fetched, with what to change."""
    from airflow.sdk import conf

    limit = conf.getint("core", "max_map_length", fallback=1024)
    if len(jobs) > limit:
        raise ConfigError(
            f"{len(jobs)} sources in one run, more than Airflow's [core] max_map_length ({limit}), a task each: set "
            f"AIRFLOW__CORE__MAX_MAP_LENGTH to {len(jobs)} or more for every Airflow component, or run fewer "
            "sources at once (the `sources` param, or schedules: README, 'Scheduling')")


def plan_run(sources_file: str, source_filter: list[str] | str | None, run_id: str,
             warehouse: str | None = None, dag_id: str | None = None) -> list[Job]:
    """The run's jobs. With `dag_id` (the DAG task's), a source whose staging another DAG's run of the same id holds
    is left out (staging.claim): it would fetch every page that run fetches and its load would be refused. A run
    left with none has nothing to do, no job: the other run ingests them, and this DAG's next run; the stages after
    the plan skip (dag_tasks.skip_if_nothing_planned), so the run succeeds, writes nothing and alerts no one."""
    jobs = make_jobs(sources_file, split_names(source_filter), run_id, warehouse)
    refuse_over_map_limit(jobs)
    if dag_id is not None:
        held = {job.name: holder for job in jobs if (holder := staging.claim(job.staging, dag_id))}
        if held:
            said = ", ".join(f"{name} by {holder}" for name, holder in held.items())
            if len(held) == len(jobs):
                log.warning("run %s of %s: every source is ingested under this run id by another DAG's run (%s: a "
                            "source moved to another schedule while a run of its old one was in flight); nothing "
                            "to do, this DAG's next run takes them", run_id, dag_id, said)
                return []
            log.warning("run %s: left out, ingested under this run id by another DAG's run: %s (a source moved to "
                        "another schedule while a run of its old one was in flight)", run_id, said)
            jobs = [job for job in jobs if job.name not in held]
    log.info("run %s: %d source(s): %s", run_id, len(jobs), ", ".join(j.name for j in jobs))
    return jobs
