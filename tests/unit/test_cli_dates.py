"""The dates a run is given are checked before anything starts: `ingest --logical-date` (a day before the DAGs'
start_date made Airflow create no task and call the run a success; `yesterday` ended "state unknown") and
`reprocess --start/--end` (2018-13-01 failed in DuckDB, was retried for minutes, and its cause stayed in the log)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import newsflow.airflow_runner as airflow_runner
import newsflow.cli as cli

ROOT = Path(__file__).resolve().parents[2]
SOURCES = str(ROOT / "config" / "sources.demo.yaml")


@pytest.fixture
def nothing_starts(monkeypatch, data_env):
    """run_ingest and dags_test record what they were given instead of starting Airflow."""
    started: list[dict] = []

    def run_ingest(sources_file, sources=None, *, logical_date=None, on_success=None, **_kw):
        started.append({"logical_date": logical_date})
        return {"elapsed_s": 0.0, "run_id": "manual__test"}

    def dags_test(dag_id, conf, **_kw):
        started.append({"dag_id": dag_id, "conf": conf})
        return 0.0

    monkeypatch.setattr(cli, "run_ingest", run_ingest)
    monkeypatch.setattr(airflow_runner, "dags_test", dags_test)
    return started


def _in(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


@pytest.mark.parametrize(("value", "why"), [
    ("yesterday", "is not an ISO 8601 date or time"),
    ("", "is not an ISO 8601 date or time"),
    ("2018-13-01", "is not an ISO 8601 date or time"),
    ("1999-12-31", "is before 2000-01-01"),
    ("2000-01-01T00:30:00+01:00", "is before 2000-01-01"),  # 23:30 UTC the day before
    ((datetime.now(UTC).date() + timedelta(days=3)).isoformat(), "is in the future"),
    (_in(2).isoformat(timespec="seconds"), "is in the future"),
    # ids of their own: ids made of the clock differ between two xdist workers collecting a second apart
], ids=["word", "empty", "no_such_month", "1999", "before_2000_in_utc", "in_three_days", "in_two_hours"])
def test_a_logical_date_airflow_cannot_use_or_runs_nothing_for_is_refused_before_anything_starts(
        value, why, nothing_starts, capsys):
    assert cli.main(["ingest", "--sources", SOURCES, "--logical-date", value]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsflow: --logical-date ") and why in lines[0], lines
    assert nothing_starts == []


@pytest.mark.parametrize(("value", "given"), [
    ("2018-06-01", "2018-06-01T00:00:00+00:00"),  # a 2018 WARC's backfill
    ("2000-01-01", "2000-01-01T00:00:00+00:00"),
    ("2018-06-01T06:00:00+02:00", "2018-06-01T06:00:00+02:00"),
    ("2018-06-01T06:00", "2018-06-01T06:00:00+00:00"),  # no offset: UTC, whatever zone Airflow is set to
    ("2018-06-01T04:00:00Z", "2018-06-01T04:00:00+00:00"),
])
def test_a_historic_logical_date_reaches_airflow_with_its_offset_written_out(value, given, nothing_starts):
    assert cli.main(["ingest", "--sources", SOURCES, "--logical-date", value]) == 0
    assert nothing_starts == [{"logical_date": given}]


def test_today_anywhere_on_earth_is_not_the_future(nothing_starts):
    """A day starts at midnight UTC: at UTC+14 it is already that day 14 hours before."""
    today_at_kiribati = _in(13.5).date().isoformat()
    assert cli.main(["ingest", "--sources", SOURCES, "--logical-date", today_at_kiribati]) == 0
    assert nothing_starts == [{"logical_date": f"{today_at_kiribati}T00:00:00+00:00"}]


@pytest.mark.parametrize(("args", "why"), [
    (["--start", "2018-13-01"], "--start '2018-13-01' is not a day: month must be in 1..12"),
    (["--start", "2018-02-30"], "--start '2018-02-30' is not a day: day is out of range for month"),
    (["--end", "2018-1-1"], "--end '2018-1-1' is not a day written YYYY-MM-DD"),
    (["--end", "20180101"], "--end '20180101' is not a day written YYYY-MM-DD"),
    (["--start", "2018-06-01", "--end", "2018-01-31"], "--start 2018-06-01 is after --end 2018-01-31"),
])
def test_reprocess_refuses_a_day_that_is_not_one_before_anything_starts(args, why, nothing_starts, capsys):
    assert cli.main(["reprocess", "--sources", SOURCES, *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"newsflow: {why}"), lines
    assert nothing_starts == []


def test_reprocess_hands_the_dag_its_days_and_null_for_an_open_bound(nothing_starts):
    assert cli.main(["reprocess", "--sources", SOURCES, "--start", "2018-01-01"]) == 0
    [run] = nothing_starts
    assert run["dag_id"] == "news_reprocess"
    # null, not "": the params' "format": "date" refuses an empty string
    assert (run["conf"]["start_date"], run["conf"]["end_date"]) == ("2018-01-01", None)


def test_the_plan_fails_a_bad_day_at_once_with_its_cause():
    """A run triggered in the UI or through the REST API is checked by the plan: a permanent error, which fail_task
    turns into AirflowFailException (no retries) with its `newsflow-error:` console line."""
    from newsflow.stages.failures import PermanentError, classify
    from newsflow.stages.reprocess import publication_days

    assert publication_days("2018-01-01", None) == (date(2018, 1, 1), None)
    assert publication_days("", "2018-01-31") == (None, date(2018, 1, 31))
    for start, end in (("2018-13-01", None), (None, 20180101), ("2018-06-01", "2018-01-01")):
        with pytest.raises(PermanentError) as refused:
            publication_days(start, end)
        assert classify(refused.value)[0] is True


def test_the_params_refuse_a_day_that_is_not_one_when_the_run_is_created():
    """Airflow 3.3 validates a param's "format" (jsonschema's FormatChecker) when the run is created."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.exceptions import ParamValidationError

    params = DagBag(dag_folder=str(ROOT / "dags" / "news_reprocess.py")).dags["news_reprocess"].params
    for name in ("start_date", "end_date"):
        param = params.get_param(name)
        assert param.resolve(None) is None and param.resolve("2018-01-31") == "2018-01-31"
        for bad in ("2018-13-01", "2018-02-30", "yesterday"):
            with pytest.raises(ParamValidationError):
                param.resolve(bad)


def test_every_dag_runs_its_tasks_for_a_historic_date_and_none_catches_up():
    """Airflow creates a task for a run only from the task's start_date on: the DAGs start in 2000, so a backfill of
    an old archive runs. With catchup off a scheduled DAG still begins with the latest interval, not one run per
    interval since then."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {} and len(bag.dags) >= 4
    for dag_id, dag in bag.dags.items():
        assert dag.catchup is False, dag_id
        assert dag.start_date == airflow_runner.START_DATE == datetime(2000, 1, 1, tzinfo=UTC), dag_id
        assert all(task.start_date <= datetime(2000, 1, 1, tzinfo=UTC) for task in dag.tasks), dag_id
