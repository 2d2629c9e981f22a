"""A lake catalogued in Postgres (the multi-machine layout), on a throwaway loopback PostgreSQL: a database no
load has made a lake in yet, a data folder nothing can write, and a password in the location, which no error shows
(errors reach the terminal and the task logs every Airflow user reads)."""

from __future__ import annotations

import traceback

import pytest

from newsflow.config import shown_location
from newsflow.stages.http import http_cache
from newsflow.warehouse import (
    WarehouseConfigError,
    WarehouseUnreadable,
    connect,
    exists,
    in_transaction,
    lake,
    open_for_write,
    open_read_only,
    table_names,
)
from tests.support import cluster

SECRET = "S3cret-pw"


@pytest.fixture(scope="module")
def postgres():
    if cluster.postgres_bindir() is None:
        pytest.skip("no PostgreSQL server binaries here (apt-get install postgresql)")
    server = cluster.Postgres().start()
    yield server
    server.stop()


def test_a_fresh_catalog_database_holds_no_lake_until_the_first_load(postgres, tmp_path, monkeypatch):
    """The first ingest into a new Postgres database reads validators before its load creates the lake: the
    readers must see no lake there (as for a folder without its catalog), not fail every discover task (2.5 minutes
    of retries, then a failed run)."""
    monkeypatch.setenv("NEWSFLOW_LAKE_DATA", str(tmp_path / "lake"))
    location = "postgres:" + postgres.libpq("postgres")  # a database no load has written yet

    assert not exists(location)
    assert http_cache(["http://127.0.0.1:9/feed.xml"], location) == {}
    with pytest.raises(FileNotFoundError, match="no warehouse at"):
        connect(location, read_only=True)

    open_for_write(location).close()
    assert exists(location)
    assert http_cache(["http://127.0.0.1:9/feed.xml"], location) == {}


def test_an_unwritable_lake_data_folder_is_refused_before_the_catalog_names_it(postgres, tmp_path, monkeypatch):
    """DuckLake writes the data folder into the catalog at the first attach: a mistyped or unmounted
    NEWSFLOW_LAKE_DATA bound the new lake to it for good (every later run with the right one was refused)."""
    location = "postgres:" + postgres.libpq(cluster.AIRFLOW_DB)  # a database no load has written yet
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the share should be mounted\n", encoding="utf-8")
    monkeypatch.setenv("NEWSFLOW_LAKE_DATA", str(blocker / "lake"))

    with pytest.raises(WarehouseConfigError, match="NEWSFLOW_LAKE_DATA=.*cannot be written"):
        open_for_write(location)

    monkeypatch.setenv("NEWSFLOW_LAKE_DATA", str(tmp_path / "lake"))
    con = open_for_write(location)  # the mended setting makes the lake
    try:
        assert "articles" in table_names(con)
    finally:
        con.close()


def test_missing_lake_data_error_hides_the_password(monkeypatch):
    monkeypatch.delenv("NEWSFLOW_LAKE_DATA", raising=False)
    with pytest.raises(WarehouseConfigError, match="NEWSFLOW_LAKE_DATA") as caught:
        lake(f"postgres:dbname=lake host=127.0.0.1 port=5432 user=nf password={SECRET}", for_write=True)
    assert SECRET not in str(caught.value)
    assert "password=***" in str(caught.value)
    # what the CLI and `status` print of a location, in either of libpq's forms
    assert shown_location(f"postgres:dbname=lake password='{SECRET} x' port=5") == "postgres:dbname=lake password=*** port=5"
    assert shown_location(f"postgresql://nf:{SECRET}@db.internal/lake") == "postgresql://nf:***@db.internal/lake"
    assert shown_location("/srv/newsflow/warehouse") == "/srv/newsflow/warehouse"


def test_an_unreachable_catalog_database_is_named_without_the_password(postgres, tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_LAKE_DATA", str(tmp_path / "lake"))
    location = "postgres:" + postgres.libpq("no_such_db") + f" password={SECRET}"

    with pytest.raises(WarehouseUnreadable, match="no_such_db") as caught:
        open_read_only(location)  # newsflow sql, shell, report
    assert SECRET not in "".join(traceback.format_exception(caught.value))

    with pytest.raises(Exception, match="no_such_db") as caught:
        connect(location)  # a load's writer: the exception ends in the task log, traceback and all
    assert SECRET not in "".join(traceback.format_exception(caught.value))


def test_two_loads_in_flight_at_once_into_a_new_lake_store_each_article_once(postgres, tmp_path, monkeypatch):
    """The duckdb_write pool keeps one deployment's loads apart, not two deployments on one catalog (nor two
    `newsflow ingest` without the service: `airflow dags test` uses no pool). Two first loads into a new lake only insert: DuckLake saw no
    conflict, both committed, and every article was stored twice. The load token makes the later commit fail (a
    transient error: Airflow retries the load), and the retry finds the first load's rows."""
    import duckdb

    from newsflow.stages.failures import classify
    from newsflow.stages.load import load_run, write_run
    from tests.support.loads import D1, WIRE, load, record, stage

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSFLOW_LAKE_DATA", str(tmp_path / "lake"))
    location = "postgres:" + postgres.libpq(postgres.create_database("two_loads"))
    open_for_write(location).close()  # a new lake: its tables, no rows
    story = record("alpha", 1, D1, "Talks", WIRE)
    (tmp_path / "elsewhere").mkdir()
    elsewhere = stage(tmp_path / "elsewhere", "scheduled__2024-03-04", {"alpha": [story]}, location)

    other = connect(location)  # the other deployment's load, in flight
    other.execute("begin transaction")
    write_run(other, elsewhere, run_id="scheduled__2024-03-04", dag_id="news_ingest_b", now=story["fetched_at"],
              started_at=story["fetched_at"], wait_s=0.0)
    assert load(tmp_path, "manual__1", {"alpha": [story]}, location)["counts"]["loaded"] == 1
    with pytest.raises(duckdb.TransactionException, match="[Cc]onflict") as conflict:
        other.execute("commit")
    other.close()
    permanent, cause = classify(conflict.value)  # what the load task's log says; Airflow retries it
    assert not permanent and cause.startswith("warehouse: another writer committed to the lake first; retried:")
    # Airflow's retry of the load that lost
    retried = load_run(elsewhere, run_id="scheduled__2024-03-04", dag_id="news_ingest_b")
    assert retried["counts"] == {"loaded": 0, "unchanged": 1, "rejected": 0, "failed": 0, "skipped": 0}

    con = open_read_only(location)
    try:
        assert con.execute("select count(*), count(distinct article_id) from articles").fetchone() == (1, 1)
        assert con.execute("select loads, dag_id from load_serial").fetchall() == [(2, "news_ingest_b")]
    finally:
        con.close()


def test_the_plan_keeps_a_password_out_of_what_every_airflow_user_reads(monkeypatch):
    """The plan's jobs (its XCom, each mapped task's rendered arguments) and the load's asset event carried the
    location whole: a `password=` in NEWSFLOW_WAREHOUSE or --warehouse was in the Airflow UI for every user, though
    the service refuses it in a run's conf for that very reason."""
    from newsflow.config import ConfigError, project_root
    from newsflow.stages.plan import make_jobs

    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", f"postgres:dbname=lake host=127.0.0.1 user=nf password={SECRET}")
    with pytest.raises(ConfigError, match="carries a password.*PGPASSWORD") as caught:
        make_jobs(str(project_root() / "config" / "sources.demo.yaml"), None, "manual__1", None)
    assert SECRET not in str(caught.value) and "password=***" in str(caught.value)


def test_a_catalog_lost_inside_a_transaction_is_the_error_raised_not_the_rollback(postgres, tmp_path, monkeypatch):
    """The lake's Postgres restarted during a load (a Celery deployment on a bad day): the load's statement failed on
    the lost connection, the ROLLBACK that followed failed on it too, and that second error, `Failed to execute
    query "ROLLBACK": ` with nothing after it, was what the task log's `newsflow-error: load:` line and Airflow's
    exception said. The lost connection is the cause, and a transient one (Airflow retries the load)."""
    import duckdb

    from newsflow.stages.failures import classify

    monkeypatch.setenv("NEWSFLOW_LAKE_DATA", str(tmp_path / "lake"))
    database = postgres.create_database("restarted")
    con = open_for_write("postgres:" + postgres.libpq(database))

    def catalog_restarts_midway():
        con.execute("select count(*) from articles").fetchall()
        postgres.psql(database, "select pg_terminate_backend(pid) from pg_stat_activity "
                                f"where datname = '{database}' and pid <> pg_backend_pid()")
        con.execute("select count(*) from fetch_log").fetchall()  # the catalog is read again: the connection is gone

    try:
        with pytest.raises(duckdb.Error) as caught:
            in_transaction(con, catalog_restarts_midway)
    finally:
        con.close()
    assert "ROLLBACK" not in str(caught.value)
    assert "server closed the connection" in str(caught.value) or "terminating connection" in str(caught.value)
    permanent, cause = classify(caught.value)
    assert not permanent and ("server closed the connection" in cause or "terminating connection" in cause), cause


def test_a_catalog_down_behind_its_unix_socket_is_retried_not_failed_at_once(tmp_path, monkeypatch):
    """A catalog on the lake's own machine is reached through its unix socket (`host=/var/run/postgresql`, or no
    host at all): while that Postgres restarts, libpq says `connection to server on socket ... failed: No such file
    or directory`. That is no lake data file gone: every stage failed at once, without the retries a TCP catalog's
    `Connection refused` gets."""
    import duckdb

    from newsflow.stages.failures import classify

    if cluster.postgres_bindir() is None:
        pytest.skip("no PostgreSQL server binaries here (apt-get install postgresql)")
    monkeypatch.setenv("NEWSFLOW_LAKE_DATA", str(tmp_path / "lake"))
    server = cluster.Postgres().start()  # a cluster of its own: this test stops it
    location = f"postgres:dbname={cluster.AIRFLOW_DB} host={server.folder} port={server.port} user={server.user}"
    try:
        open_for_write(location).close()  # the lake, over the socket
    finally:
        server.stop()
    with pytest.raises(duckdb.Error, match="No such file or directory") as caught:
        open_for_write(location)
    permanent, cause = classify(caught.value)
    assert not permanent and "Unable to connect to Postgres" in cause, cause
