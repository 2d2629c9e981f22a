"""The always-on service, really run: `newsflow up --demo` on a temporary Airflow home and data dir starts the
scheduler, dag-processor, triggerer, api-server and the live newsroom; the newsroom's sources are scheduled every
minute and at least three scheduled runs succeed, each loading articles the newsroom published since the last one.
Unknown conf keys and wrong types are refused before a run exists (past the api-server, by the run's first task,
without retries), a missing sources file without retries; each component logs through a size-rotating writer
and Great Expectations' import chatter stays out of the logs; the housekeeper's metadata clean deletes an old run's
rows while the scheduler runs on; `newsflow ingest` goes through
the REST API and news_quality follows the warehouse it loaded; a failed run that loaded (every source failed)
shows its outcomes, under `ingest --quality` then its quality run, and under `reprocess` too; `newsflow down`
fails the run it cuts short, says so, leaves no process and frees the ports;
a service then started on another sources file fails the unfinished runs of the schedule that file lacks.
Timings are printed (pytest -s), not asserted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.faultserver import FaultServer
from tests.support.reprocess_faults import failing_reprocess_extract
from tests.support.stage_run import write_sources
from tests.support.webhook import Webhook

ROOT = Path(__file__).resolve().parents[2]
NEWSFLOW = [sys.executable, "-m", "newsflow.cli"]
SCHEDULED = "news_ingest_every_minute"
SOURCE_STAGES = ("discover", "fetch_extract")  # mapped per source; validate is one task a run
pytestmark = pytest.mark.integration


def _run(*args: str, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*NEWSFLOW, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.fixture(scope="module")
def service():
    """`newsflow up --demo`; yields (env, state, client, timings) and runs `newsflow down` at the end."""
    import shutil
    import tempfile

    from newsflow.service import free_port

    # not under pytest's basetemp: a concurrent pytest session of the same user may prune it while this runs
    base = Path(tempfile.mkdtemp(prefix="newsflow-service-test-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSFLOW_", "AIRFLOW"))}
    hook = Webhook().__enter__()  # every failed run is posted here by the dag-processor
    env.update({"AIRFLOW_HOME": str(base / "home"), "NEWSFLOW_DATA_DIR": str(base / "data"),
                "PYTHONPATH": str(ROOT / "plugins"), "NEWSFLOW_ALERT_WEBHOOK": hook.url})
    port = free_port(18080)
    timings = {}
    started = time.monotonic()
    up = _run("up", "--demo", "--port", str(port), env=env)
    timings["up_s"] = time.monotonic() - started
    assert up.returncode == 0, up.stdout + up.stderr
    state = json.loads((base / "data" / "service" / "service.json").read_text())
    saved = {k: os.environ.get(k) for k in ("AIRFLOW_HOME", "NEWSFLOW_DATA_DIR")}
    os.environ.update({"AIRFLOW_HOME": env["AIRFLOW_HOME"], "NEWSFLOW_DATA_DIR": env["NEWSFLOW_DATA_DIR"]})
    try:
        from newsflow.service import Client

        yield {"env": env, "state": state, "client": Client.for_service(state), "timings": timings, "up": up.stdout,
               "base": base, "hook": hook}
    finally:
        _run("down", env=env, timeout=180)
        hook.__exit__(None, None, None)
        shutil.rmtree(base, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _tasks(client, dag_id: str, run_id: str) -> dict[str, dict]:
    from urllib.parse import quote

    items = client.get(f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances")["task_instances"]
    return {t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else ""): t for t in items}


def test_up_prints_url_login_and_warehouse(service):
    out, state = service["up"], service["state"]
    assert f"newsflow is up: {state['url']}" in out and "login: admin / " in out
    assert state["url"].startswith("http://127.0.0.1:")
    assert f"warehouse: {service['base'] / 'data'}" in out
    hook_at = service["hook"].url.split("/hooks/")[0]
    assert f"  alerts: to {hook_at}/… (checks that start or stop failing, and failed runs)\n" in out, out
    assert "secret-token" not in out
    assert set(state["pids"]) == {"newsroom", "scheduler", "dag-processor", "triggerer", "api-server", "housekeeper"}
    # each component writes through its own log writer, in the service's process group
    assert set(state["log_writers"]) == set(state["pids"])
    assert {_pgid(pid) for pid in [*state["pids"].values(), *state["log_writers"].values()]} == {state["pgid"]}
    # each recorded with its start time (a pid a stale state file names may be another program's since), and the
    # Airflow home names the service that runs on it (a second one, from another data dir, is refused)
    assert set(state["started"]) == {str(pid) for pid in [*state["pids"].values(), *state["log_writers"].values()]}
    claim = json.loads((service["base"] / "home" / "newsflow-service.json").read_text())
    assert claim == {"state_file": str(service["base"] / "data" / "service" / "service.json")}
    # the demo schedules only the live newsroom, on loopback
    assert state["schedules"] == {"* * * * *": ["alhadath", "dailyherald", "novosti", "khabar"]}
    # the scheduler's and triggerer's log servers listen on the ports `up` chose (free ones when another service
    # holds Airflow's 8793/8794)
    from newsflow.service import port_free

    deadline = time.monotonic() + 60
    while any(port_free(p) for p in state["log_ports"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(port_free(p) for p in state["log_ports"]), state["log_ports"]
    print(f"\nup: {service['timings']['up_s']:.1f}s")


def test_unknown_conf_key_is_refused_before_a_run_exists(service):
    from newsflow.service import ServiceError

    client = service["client"]
    before = client.get("/dags/news_ingest/dagRuns?limit=1")["total_entries"]
    with pytest.raises(ServiceError, match="HTTP 400.*unknown conf key.*sources_fle.*No run was created"):
        client.trigger("news_ingest", {"sources_fle": "config/sources.demo.yaml"})
    with pytest.raises(ServiceError, match="HTTP 400.*sources_fle"):
        client.post("/backfills/dry_run", {"dag_id": "news_ingest", "from_date": "2026-01-01T00:00:00Z",
                                           "to_date": "2026-01-02T00:00:00Z",
                                           "dag_run_conf": {"sources_fle": "x.yaml"}})
    assert client.get("/dags/news_ingest/dagRuns?limit=1")["total_entries"] == before


def test_unknown_conf_key_past_the_api_server_fails_at_once_without_retries(service):
    # `airflow dags trigger` writes the run to the database itself, past the api-server's check: the run's first
    # task refuses it, once
    client = service["client"]
    started = time.monotonic()
    trigger = subprocess.run([str(Path(sys.executable).parent / "airflow"), "dags", "trigger", "news_ingest",
                              "--conf", json.dumps({"sources_fle": "config/sources.demo.yaml"}), "--output", "json"],
                             env=service["env"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert trigger.returncode == 0, trigger.stdout + trigger.stderr
    printed = next(line for line in reversed(trigger.stdout.splitlines()) if line.startswith("[{"))
    run_id = json.loads(printed)[0]["dag_run_id"]
    assert client.wait("news_ingest", run_id, echo=lambda _m: None, poll_s=1) == "failed"
    tasks = _tasks(client, "news_ingest", run_id)
    assert tasks["plan"]["state"] == "failed" and tasks["plan"]["try_number"] == 1
    # no source stage ran; validate, load and account run once whatever happened (trigger rule all_done): validate
    # has nothing to read, load and account fail at once
    assert all(t["try_number"] == 0 for name, t in tasks.items() if name.split("[")[0] in SOURCE_STAGES)
    assert all(t["try_number"] <= 1 for t in tasks.values())
    assert tasks["validate"]["state"] == "success" and tasks["load"]["state"] == "failed"
    print(f"\nsources_fle refused in {time.monotonic() - started:.1f}s (trigger to failed run)")


def test_wrong_conf_type_is_refused_before_a_run_exists(service):
    from newsflow.service import ServiceError

    with pytest.raises(ServiceError, match="HTTP 400.*sources"):
        service["client"].trigger("news_ingest", {"sources": "alhadath"})


def test_missing_sources_file_fails_at_once_without_retries(service, tmp_path):
    client = service["client"]
    started = time.monotonic()
    run = client.trigger("news_ingest", {"sources_file": str(tmp_path / "missing.yaml")})
    assert client.wait("news_ingest", run["dag_run_id"], echo=lambda _m: None, poll_s=1) == "failed"
    plan = _tasks(client, "news_ingest", run["dag_run_id"])["plan"]
    assert plan["state"] == "failed" and plan["try_number"] == 1
    print(f"\nmissing sources file failed in {time.monotonic() - started:.1f}s (trigger to failed run)")
    # the dag-processor runs the DAG's failure callback: the run is posted to the alert webhook, with its link
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        posted = [p for p in service["hook"].posts if p["newsflow"].get("run_id") == run["dag_run_id"]]
        if posted:
            break
        time.sleep(1)
    [alert] = posted
    assert alert["newsflow"]["kind"] == "run_failed" and alert["newsflow"]["reason"] == "task_failure", alert
    assert f"{service['state']['url']}/dags/news_ingest/runs/" in alert["text"], alert
    # the plan first, not only `account`, the failed task that ended last (it runs after any failure, to log URLs)
    assert alert["newsflow"]["failed_tasks"][0] == "plan" and "; failed tasks: plan, " in alert["text"], alert
    print(f"failed run posted {time.monotonic() - started:.1f}s after its trigger")


def test_dashboard_redirects_to_login_and_opens_with_a_token(service):
    import urllib.error
    import urllib.request

    url = f"{service['state']['url']}/newsflow/dashboard"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.build_opener(NoRedirect).open(url, timeout=10)
    assert answer.value.code == 303
    assert "/auth/login?next=" in answer.value.headers["location"]
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {service['client'].token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code  # 404: no dashboard written yet, still an HTML page for a signed-in user
    assert status in (200, 404)
    # an uptime monitor's HEAD, signed in: the GET's answer without its body
    probe = urllib.request.Request(url, method="HEAD", headers={"Authorization": f"Bearer {service['client'].token}"})
    try:
        with urllib.request.urlopen(probe, timeout=10) as response:
            assert (response.status, response.read()) == (200, b"")
    except urllib.error.HTTPError as error:
        assert error.code == 404 == status


def test_ingest_uses_the_service_and_quality_follows_its_warehouse(service, tmp_path):
    from urllib.parse import quote

    # a password in the location would be kept in the run's conf, which every Airflow user reads: refused, no run
    secret = "postgres:dbname=lake host=127.0.0.1 user=nf password=S3cret-pw"
    refused = _run("ingest", "--sources", str(Path(service["state"]["sources_file"])), "--warehouse", secret,
                   env=service["env"])
    assert refused.returncode == 2 and "carries a password" in refused.stderr, refused.stdout + refused.stderr
    assert "S3cret-pw" not in refused.stdout + refused.stderr and "triggered" not in refused.stdout

    other = tmp_path / "other" / "warehouse.duckdb"
    started = time.monotonic()
    # --quality on the service waits for the news_quality run the scheduler starts from this load's asset event (it
    # used to be ignored there); on a busy 2-core machine, behind the newsroom's runs that share the write pool, such
    # a run once took over 300 s
    done = _run("ingest", "--sources", str(Path(service["state"]["sources_file"])), "--source", "alhadath",
                "--warehouse", str(other), "--quality", env=service["env"], timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "triggered manual__" in done.stdout and "plan: success" in done.stdout and "load: success" in done.stdout
    assert re.search(r"^ +[0-9.]+s  run: (queued|running)$", done.stdout, re.M), done.stdout  # before any task's line
    print(f"\ningest and its quality run through the service: {time.monotonic() - started:.1f}s")
    [quality_run] = re.findall(r"^news_quality: (\S+) \(started by this run's load\)$", done.stdout, re.M)
    assert "Quality checks (this run): " in done.stdout, done.stdout
    # the UI's dashboard stays the service's own warehouse; the one this run loaded gets a file of its own beside it,
    # which names it
    [side] = re.findall(r"^dashboard: (.+)$", done.stdout, re.M)
    reports = Path(service["state"]["data_dir"]) / "reports"
    assert Path(side).parent == reports and re.fullmatch(r"dashboard-[0-9a-f]+\.html", Path(side).name), side
    assert str(other) in Path(side).read_text(encoding="utf-8")
    if (reports / "dashboard.html").exists():  # written once a quality run has checked the newsroom's warehouse
        assert str(other) not in (reports / "dashboard.html").read_text(encoding="utf-8")
    # the run it waited for checked the warehouse `--warehouse` loaded, not the service's own
    target = service["client"].get(f"/dags/news_quality/dagRuns/{quote(quality_run, safe='')}/taskInstances"
                                   "/targets/xcomEntries/return_value")
    assert str(other) in str(target.get("value")), target


def test_a_failed_run_that_loaded_shows_its_outcomes_and_is_judged_on_the_service(service, tmp_path):
    """A run whose every source failed fails, but its load committed (every URL logged) and its Asset event starts
    news_quality. `newsflow ingest --quality` on the service said only that the run failed: no outcome, no failed
    source, no wait for that quality run. It says them now, as without the service; the exit stays 1."""
    from newsflow.warehouse import connect

    archive = Path(service["state"]["data_dir"]) / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    (archive / "doomed").write_text("not a folder")  # the source cannot archive a page: it fails in fetch_extract
    other = tmp_path / "other" / "warehouse.duckdb"
    try:
        with FaultServer() as server:
            sources = write_sources(tmp_path, server,
                                    f"  - {{name: doomed, kind: urls, urls: ['{server.url('/ok/d1')}']}}\n")
            done = _run("ingest", "--sources", str(sources), "--warehouse", str(other), "--quality",
                        env=service["env"], timeout=1200)
    finally:
        (archive / "doomed").unlink()
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert re.search(r"^newsflow: news_ingest run \S+ failed; see ", done.stderr, re.M), output
    assert "Outcomes per source (this run):" in done.stdout, output
    assert "newsflow: 1 source(s) failed: doomed" in done.stderr, output
    assert re.search(r"^news_quality: \S+ \(started by this run's load\)$", done.stdout, re.M), output
    assert "Quality checks (this run): " in done.stdout, output
    con = connect(other, read_only=True)
    try:
        assert con.execute("select status from runs where loaded_at is not null").fetchall() == [("failed",)]
        assert con.execute("select source from quality_checks where check_name = 'fetch_failure_rate' "
                           "and status = 'fail'").fetchall() == [("doomed",)]
    finally:
        con.close()


def test_reprocess_runs_on_the_service(service):
    """`newsflow reprocess` with the service up is a run of the service, as `newsflow ingest` is: an `airflow dags
    test` run beside the scheduler had its tasks taken by the scheduler too, each one taken twice killed in one
    process (`TI is already running elsewhere`) and tried again."""
    from urllib.parse import quote

    done = _run("reprocess", "--sources", str(Path(service["state"]["sources_file"])), "--source", "alhadath",
                env=service["env"], timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    [run_id] = re.findall(r"^news_reprocess: triggered (\S+) on ", done.stdout, re.M)
    run = service["client"].get(f"/dags/news_reprocess/dagRuns/{quote(run_id, safe='')}")
    assert (run["state"], run["run_type"]) == ("success", "manual"), run
    assert "account: success" in done.stdout and "Outcomes per source (this run):" in done.stdout, done.stdout


def test_a_failed_reprocess_that_loaded_shows_its_outcomes_on_the_service(service):
    """A reprocess whose every source failed in extract fails, but its load committed: `newsflow reprocess` on the
    service said only that the run failed. It shows the outcomes and the failed sources, as without the service."""
    data = Path(service["state"]["data_dir"])
    deadline = time.monotonic() + 600
    # something to reprocess: a scheduled run of the newsroom's has loaded alhadath's articles
    while _run("sql", "select count(*) as n from articles where source = 'alhadath'", "--format", "csv",
               env=service["env"]).stdout.splitlines()[-1:] in ([], ["0"]):
        assert time.monotonic() < deadline, "no scheduled run loaded alhadath's articles"
        time.sleep(5)
    with failing_reprocess_extract(data, {"alhadath"}):
        done = _run("reprocess", "--sources", str(Path(service["state"]["sources_file"])), "--source", "alhadath",
                    env=service["env"], timeout=1200)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert re.search(r"^newsflow: news_reprocess run \S+ failed; see ", done.stderr, re.M), output
    assert "Outcomes per source (this run):" in done.stdout, output
    assert "newsflow: 1 source(s) failed: alhadath" in done.stderr, output


def test_demo_runs_on_the_service(service):
    """`newsflow demo` with the service up ingests the sample site through it, as `newsflow ingest` does: its
    `airflow dags test` run beside the scheduler registered the default sources file's schedules on the --demo
    service (news_ingest_hourly and news_ingest_every_30m, runs that can never finish)."""
    from newsflow.service import free_port

    done = _run("demo", "--port", str(free_port(18765)), env=service["env"], timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    dags = {d["dag_id"] for d in service["client"].get("/dags?exclude_stale=false&limit=100")["dags"]}
    assert not dags & {"news_ingest_hourly", "news_ingest_every_30m"}, dags
    assert re.search(r"^news_ingest: triggered \S+ on ", done.stdout, re.M), done.stdout


def test_backfill_runs_on_the_service_for_its_date(service):
    """`ingest --logical-date` with the service up is a run of the service too: under `airflow dags test` the
    scheduler queued and ran the test run's tasks as well, and the test parsed every DAG file without the service's
    sources file. Its quality run (`--quality`) is for that date, as without the service."""
    from urllib.parse import quote

    done = _run("ingest", "--sources", str(Path(service["state"]["sources_file"])), "--source", "alhadath",
                "--logical-date", "2026-01-15", "--quality", env=service["env"], timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    [run_id] = re.findall(r"^news_ingest: triggered (\S+) on ", done.stdout, re.M)
    run = service["client"].get(f"/dags/news_ingest/dagRuns/{quote(run_id, safe='')}")
    assert (run["state"], run["logical_date"]) == ("success", "2026-01-15T00:00:00Z"), run
    [quality_run] = re.findall(r"^news_quality: triggered (\S+) for 2026-01-15T00:00:00\+00:00$", done.stdout, re.M)
    dated = _run("sql", f"select distinct cast(checked_at as date) as day from quality_checks where run_id = '{quality_run}'",
                 "--format", "csv", env=service["env"])
    assert dated.stdout.splitlines() == ["day", "2026-01-15"], dated.stdout + dated.stderr


def test_three_scheduled_runs_each_load_new_articles(service):
    client = service["client"]
    # quality is proven above; paused, it does not compete with the ingest runs for this machine's cores
    client.patch("/dags/news_quality", {"is_paused": True})
    started = time.monotonic()
    succeeded = []
    while time.monotonic() - started < 900:
        runs = client.get(f"/dags/{SCHEDULED}/dagRuns?order_by=run_after&limit=50")["dag_runs"]
        succeeded = [r for r in runs if r["state"] == "success" and r["run_type"] == "scheduled"]
        if len(succeeded) >= 3:
            break
        assert not [r for r in runs if r["state"] == "failed"], runs
        time.sleep(5)
    print(f"\nthree scheduled runs after {time.monotonic() - started:.1f}s more "
          f"({[r['dag_run_id'] for r in succeeded]})")
    assert len(succeeded) >= 3
    service["scheduled_runs"] = [r["dag_run_id"] for r in succeeded[:3]]

    status = _run("status", env=service["env"])
    assert status.returncode == 0, status.stderr
    assert "scheduler" in status.stdout and SCHEDULED in status.stdout and "success" in status.stdout
    assert "\n  alerts: to http://127.0.0.1:" in status.stdout  # as the service was started, not this shell
    # what the latest quality run found: its run is a success whatever its checks say
    assert re.search(r"^quality: (no quality run yet|run \S+ at .+: \d+ fail, \d+ warn, \d+ pass; \d+ alert\(s\) "
                     r"standing \(open_alerts\(\)\))$", status.stdout, re.M), status.stdout
    # the schedule, in its zone, and when it runs next
    schedule = _line_after(status.stdout, "schedules:")
    assert schedule.split()[:6] == [SCHEDULED, "*", "*", "*", "*", "*"] and "next run 20" in schedule, schedule
    housekeeper = next(line for line in status.stdout.splitlines() if line.strip().startswith("housekeeper"))
    # what it said last: before its first pass (10 minutes after `up`), when that pass comes; after it, what it did
    # (a busy machine's suite reaches this line either side of those 10 minutes)
    assert "running  last: " in housekeeper, housekeeper
    assert ("metadata history is cleaned in 600s" in housekeeper
            or re.search(r"metadata history before .+ cleaned: done in", housekeeper)), housekeeper
    # what the service keeps on disk: the scheduled runs' task logs, under the data dir, deleted after 30 days
    disk = {line.split("  ")[1].strip(): line for line in status.stdout.splitlines() if line.startswith("  ")}
    logs = disk["task logs"]
    assert str(service["base"] / "data" / "logs" / "airflow") in logs and "after 30 days" in logs
    assert int(logs.split(" files")[0].split()[-1].replace(",", "")) > 0
    assert str(service["base"] / "data" / "warehouse") in disk["warehouse"]
    assert "rotated at 20.0 MB, 4 older files kept per component" in disk["service logs"]
    # Great Expectations' import chatter (thousands of INFO lines a validate task) is in neither the task logs nor
    # the scheduler's output, which repeats them; the tasks' own lines are
    logs = service["base"] / "data" / "logs"
    validate_logs = list((logs / "airflow").rglob("task_id=validate/**/*.log"))
    assert validate_logs and all(b"Skipping registering function" not in f.read_bytes() for f in validate_logs)
    # the DAG processor's per-file logs (a folder a day) are with the task logs, where clean_logs prunes them
    assert list((logs / "airflow" / "dag_processor").rglob("news_ingest.py.log"))
    assert not (service["base"] / "home" / "logs" / "dag_processor").exists()
    scheduler_log = (logs / "service" / "scheduler.log").read_bytes()
    assert b"task_id=validate" in scheduler_log and b"Skipping registering function" not in scheduler_log
    print(f"validate task logs: {max(f.stat().st_size for f in validate_logs)} bytes at most; "
          f"service logs: { {f.name: f.stat().st_size for f in (logs / 'service').iterdir()} }")


def test_the_housekeepers_clean_beside_the_live_scheduler(service):
    """Airflow's `airflow db clean`, as the housekeeper runs it once a day, while the scheduler keeps scheduling:
    the first scheduled run's rows go (its XComs with it), the later ones stay, and the next run still succeeds."""
    runs = service.get("scheduled_runs")
    if not runs:
        pytest.skip("the scheduled runs did not happen")
    import sqlite3
    from datetime import datetime, timedelta

    from newsflow.housekeeper import clean_metadata

    client, home = service["client"], service["base"] / "home"

    def xcoms(run_id: str) -> int:
        con = sqlite3.connect(f"file:{home / 'airflow.db'}?mode=ro", uri=True, timeout=30)
        try:
            return con.execute("select count(*) from xcom where run_id = ?", [run_id]).fetchall()[0][0]
        finally:
            con.close()

    by_id = {r["dag_run_id"]: r for r in client.get(f"/dags/{SCHEDULED}/dagRuns?limit=100")["dag_runs"]}
    first, second = by_id[runs[0]], by_id[runs[1]]
    assert xcoms(runs[0]) > 0
    # the second run started after the first ended (one active run per DAG): a cut between them
    cut = datetime.fromisoformat(first["end_date"]) + timedelta(milliseconds=1)
    assert datetime.fromisoformat(second["start_date"]) > cut
    # by hand, keeping less than a day would take the rows of runs in progress: refused while the service is up
    refused = _run("clean-metadata", "--days", "0", env=service["env"], timeout=120)
    assert refused.returncode == 2 and "would delete the rows of runs in progress" in refused.stderr, refused.stderr
    done = clean_metadata(before=cut)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    left = {r["dag_run_id"] for r in client.get(f"/dags/{SCHEDULED}/dagRuns?limit=100")["dag_runs"]}
    assert runs[0] not in left and {runs[1], runs[2]} <= left
    assert xcoms(runs[0]) == 0 and xcoms(runs[2]) > 0
    # and the service goes on: a run scheduled after the clean succeeds
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        later = [r for r in client.get(f"/dags/{SCHEDULED}/dagRuns?order_by=-run_after&limit=5")["dag_runs"]
                 if r["run_type"] == "scheduled" and datetime.fromisoformat(r["run_after"]) > cut
                 and r["dag_run_id"] not in runs]
        if any(r["state"] == "success" for r in later):
            break
        assert not any(r["state"] == "failed" for r in later), later
        time.sleep(5)
    else:
        pytest.fail("no scheduled run succeeded after the clean")
    housekeeper_log = (service["base"] / "data" / "logs" / "service" / "housekeeper.log").read_text()
    assert "newsflow housekeeper: Airflow's metadata history is cleaned in 600s, then every 24h" in housekeeper_log


def test_status_lists_the_last_runs_of_every_dag_however_many_runs_came_since(service):
    """The REST API answers 100 runs at most ([api] maximum_page_limit): `status` read the latest runs of all DAGs in
    one list, so after an hour or two of the every-minute schedule and its quality runs the daily news_maintenance
    (and any manual run) was gone from "last runs", and after 100 runs of one DAG every other DAG was."""
    from urllib.parse import quote

    client = service["client"]
    deadline = time.monotonic() + 300
    while not client.get(f"/dags/{SCHEDULED}/dagRuns?limit=1")["dag_runs"]:
        assert time.monotonic() < deadline, "the every-minute schedule made no run"
        time.sleep(3)
    paused = client.get("/dags/news_reprocess")["is_paused"]
    client.patch("/dags/news_reprocess", {"is_paused": True})  # its runs stay queued: they start nothing
    made = []
    try:
        for _ in range(100):
            made.append(client.trigger("news_reprocess", {})["dag_run_id"])
        status = _run("status", env=service["env"])
        listed = status.stdout.split("\nlast runs:\n")[1].split("\nquality:")[0]
        assert f"  {SCHEDULED} " in listed, status.stdout
        assert listed.count("  news_reprocess ") == 3, listed
    finally:
        for run_id in made:
            client.call("DELETE", f"/dags/news_reprocess/dagRuns/{quote(run_id, safe='')}")
        client.patch("/dags/news_reprocess", {"is_paused": paused})


def test_queue_a_run_of_the_schedule_the_next_sources_file_lacks(service):
    """Sets up the last test: a run of the every-minute DAG that is still queued when the service goes down (its DAG
    paused, so the scheduler never starts it)."""
    client = service["client"]
    client.patch(f"/dags/{SCHEDULED}", {"is_paused": True})
    run = client.trigger(SCHEDULED, {})
    assert run["state"] == "queued", run
    service["queued_run"] = run["dag_run_id"]
    status = _run("status", env=service["env"])
    assert _line_after(status.stdout, "schedules:").split()[-1] == "PAUSED", status.stdout


@pytest.fixture(scope="module")
def stalled_site():
    """A loopback site whose every page hangs (10 minutes): a run fetching it is still running when the test stops
    the service."""
    import http.server
    import threading

    class Hang(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            time.sleep(600)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hang)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_start_a_run_the_stop_will_cut_short(service, stalled_site, tmp_path):
    """Sets up the next test: a manual run of news_ingest still fetching a page that never answers."""
    client = service["client"]
    (tmp_path / "urls.txt").write_text(f"http://{stalled_site}/story-1.html\n")
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "settings:\n"
        f"  allow_private_hosts: ['{stalled_site}']\n"
        "  respect_robots: false\n  read_timeout_s: 900\n  total_timeout_s: 900\n"
        "sources:\n  - {name: stalled, kind: urls, urls_file: urls.txt}\n")
    run = client.trigger("news_ingest", {"sources_file": str(sources)})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        tasks = _tasks(client, "news_ingest", run["dag_run_id"])
        if tasks.get("fetch_extract[0]", {}).get("state") == "running":
            break
        assert all(t.get("state") not in ("failed", "upstream_failed") for t in tasks.values()), tasks
        time.sleep(2)
    else:
        pytest.fail(f"fetch_extract never started: {tasks}")
    service["cut_run"] = run["dag_run_id"]


def test_down_leaves_no_process_and_frees_the_ports(service):
    import psutil

    from newsflow.service import port_free

    state = service["state"]
    tree = set(state["pids"].values()) | set(state["log_writers"].values())
    for pid in list(tree):
        try:
            tree.update(c.pid for c in psutil.Process(pid).children(recursive=True))
        except psutil.NoSuchProcess:
            pass
    started = time.monotonic()
    # the shell running `down` need not have the service's alert settings: the service's own are used
    shell = {k: v for k, v in service["env"].items() if k != "NEWSFLOW_ALERT_WEBHOOK"}
    done = _run("down", env=shell, timeout=180)
    print(f"\ndown: {time.monotonic() - started:.1f}s, {len(tree)} processes stopped")
    assert done.returncode == 0, done.stdout + done.stderr
    # the run it cut short is said and failed (while the api-server answered); the queued run is left to start later
    if service.get("cut_run"):
        assert f"news_ingest run {service['cut_run']} was running: stopped and marked failed" in done.stdout, \
            done.stdout
        # no DAG callback runs for a run failed through the REST API: `down` posts it, as any failed run is
        [posted] = [p for p in service["hook"].posts if p["newsflow"].get("run_id") == service["cut_run"]]
        assert posted["newsflow"]["reason"] == "stopped by `newsflow down`", posted
        assert posted["text"].startswith(f"newsflow: news_ingest run {service['cut_run']} failed (stopped by"), posted
        # and it stays so at rest: failed, every task over (read from the metadata DB, no api-server left to ask),
        # so the next `up` has nothing of it to resume
        assert _run_at_rest(service["base"] / "home" / "airflow.db", service["cut_run"]) == ("failed", []), \
            done.stdout
    if service.get("queued_run"):
        assert f"{SCHEDULED} run {service['queued_run']} is queued" in done.stdout, done.stdout
    assert [pid for pid in tree if _running(pid)] == []
    # `up` ran in a process that has exited: its stopped children are reaped by init, which may take a moment
    deadline = time.monotonic() + 10
    while (group := [p.pid for p in psutil.process_iter() if _pgid(p.pid) == state["pgid"] and _running(p.pid)]) \
            and time.monotonic() < deadline:
        time.sleep(0.5)
    assert group == []
    live_port = int(state["live_url"].split(":")[2].split("/")[0])
    ports = [state["port"], live_port, *state["log_ports"]]
    assert len(ports) == 4
    assert [p for p in ports if not port_free(p) and _listener_home(p) in (None, str(service["base"] / "home"))] == []
    assert not (service["base"] / "data" / "service" / "service.json").exists()
    assert not (service["base"] / "home" / "newsflow-service.json").exists()
    # the scheduler was stopped before the runs in progress were failed: none started while the service stopped
    assert "started while the service was stopping" not in done.stdout, done.stdout


def _listener_home(port: int) -> str | None:
    """The AIRFLOW_HOME of the process listening on loopback `port`, None when it cannot be told. Another service
    on this machine (a second `newsflow up`, as a developer's beside a test run) picks the log ports ours freed the
    moment `down` freed them: a CI run failed so. One of ours left behind shows our home."""
    import psutil

    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            try:
                return psutil.Process(conn.pid).environ().get("AIRFLOW_HOME")
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                return None
    return None


def test_each_scheduled_run_loaded_the_newsrooms_new_articles(service):
    """Read after `down`: the warehouse has one writer at a time."""
    runs = service.get("scheduled_runs")
    if not runs:
        pytest.skip("the scheduled runs did not happen")
    from newsflow.warehouse import connect

    con = connect(service["state"]["warehouse"], read_only=True)
    try:
        loaded = {
            run: {url for (url,) in con.execute(
                "select url from fetch_log where run_id = ? and outcome = 'loaded' and url like '%/story-%'",
                [run]).fetchall()}
            for run in runs
        }
        outcomes = con.execute(
            "select run_id, url_kind, outcome, reason, count(*) from fetch_log group by all order by all").fetchall()
    finally:
        con.close()
    for run, urls in loaded.items():
        assert urls, f"{run} loaded no new live article; outcomes: {outcomes}"
        # the Arabic outlet's pages are named in Arabic (IRIs): each run fetched and loaded some
        assert any("/live/alhadath/" in url and not url.isascii() for url in urls), (run, sorted(urls))
    first, second, third = loaded.values()
    assert not (first & second) and not (second & third) and not (first & third)


def test_up_with_another_sources_file_fails_the_runs_of_schedules_it_lacks(service, tmp_path):
    """A service started on a sources file without the every-minute schedule (a plain `make up` after `up --demo`)
    fails that DAG's unfinished runs before its scheduler starts: otherwise the run stays queued or running for
    ever, its first task ending in "Dag not found" at every try, and resumes if the schedule comes back."""
    from urllib.parse import quote

    from newsflow.service import Client, free_port

    queued = service.get("queued_run")
    if not queued:
        pytest.skip("no run was queued")
    (tmp_path / "urls.txt").write_text("")
    sources = tmp_path / "sources.yaml"
    sources.write_text("settings:\n  schedule: '@yearly'\nsources:\n  - {name: quiet, kind: urls, urls_file: urls.txt}\n")
    env = service["env"]
    # this service only waits for its dag-processor to read the sources file again and for its housekeeper's looks:
    # both made more often than their defaults (30 s, 60 s), which is what this test waited for (~2.5 min)
    up = _run("up", "--port", str(free_port(18090)), "--sources", str(sources),
              env={**env, "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5", "NEWSFLOW_HOUSEKEEPER_WATCH_S": "5"})
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        # the every-minute DAG was retired before this scheduler started: it runs no last time on the old file
        state = json.loads((service["base"] / "data" / "service" / "service.json").read_text())
        assert Client.for_service(state).get(f"/dags/{SCHEDULED}")["is_stale"] is True
        assert f"{SCHEDULED} run {queued} is of a schedule no longer in the sources file: marked failed" in up.stdout, \
            up.stdout
        [posted] = [p for p in service["hook"].posts if p["newsflow"].get("run_id") == queued]
        assert posted["newsflow"]["reason"] == "its schedule is no longer in the sources file", posted
        state = json.loads((service["base"] / "data" / "service" / "service.json").read_text())
        assert state["schedules"] == {"@yearly": ["quiet"]}
        client = Client.for_service(state)
        run = client.get(f"/dags/{SCHEDULED}/dagRuns/{quote(queued, safe='')}")
        assert run["state"] == "failed", run
        left = client.get("/dags/~/dagRuns?state=queued&state=running&limit=100")["dag_runs"]
        assert [r["dag_run_id"] for r in left if r["dag_id"] == SCHEDULED] == []
        cut = service.get("cut_run")
        if cut:  # failed by `down` already: this `up` has nothing left to say about it
            assert client.get(f"/dags/news_ingest/dagRuns/{quote(cut, safe='')}")["state"] == "failed"
            assert cut not in up.stdout, up.stdout
        # `down`'s second pass, once its scheduler has stopped, on a run the first one left unfinished (as a
        # scheduler writing back what it read before the first PATCH leaves it): a queued run, its tasks not begun
        from newsflow.dead_runs import settle_stopped_runs

        client.patch("/dags/news_reprocess", {"is_paused": True})
        stale = ("news_reprocess", client.trigger("news_reprocess", {})["dag_run_id"])
        again, newly = settle_stopped_runs(client, [stale])
        assert again == [stale] and stale not in newly
        after = client.get(f"/dags/news_reprocess/dagRuns/{quote(stale[1], safe='')}")
        tis = client.get(f"/dags/news_reprocess/dagRuns/{quote(stale[1], safe='')}/taskInstances")["task_instances"]
        assert after["state"] == "failed" and tis and {ti["state"] for ti in tis} == {"skipped"}, (after, tis)
        assert settle_stopped_runs(client, [stale])[0] == []
        # a run of a schedule about to leave the sources file (paused: it stays queued); the housekeeper's look
        # (made here in-process too, as its loop makes it every minute) leaves it while its schedule is in the file
        from newsflow.alerts import alert_settings
        from newsflow.housekeeper import RetiredScheduleRuns

        client.patch("/dags/news_ingest_yearly", {"is_paused": True})
        waiting = ("news_ingest_yearly", client.trigger("news_ingest_yearly", {})["dag_run_id"])
        said: list[str] = []
        retired = RetiredScheduleRuns(said.append, alert_settings(env))
        assert retired.look(state) == [] and retired.look(state) == [], said
        # the sources file broken under the running service: its scheduled DAGs go, and `status` says why
        sources.write_text("settings:\n  schedule: [oops\nsources: []\n")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = _run("status", env=env).stdout
            # the import error shows a moment before the DAG it made is marked stale (a 5 s dag-processor here)
            if "IMPORT ERROR" in status and "schedules:\n  none:" in status:
                break
            time.sleep(3)
        said = status.split("schedules:\n")[1].split("last runs:")[0]
        assert said.startswith("  none: the file that makes them does not import (below)\n"), status
        assert f"IMPORT ERROR news_scheduled.py: ConfigError: {sources}: not valid YAML" in said, said
        assert "schedule: [oops" in said and "Traceback" not in said, said
        # the housekeeper's look at the files that do not import (made here in-process too): posted once
        from newsflow.housekeeper import ImportErrorWatch

        imports = ImportErrorWatch(lambda _line: None, alert_settings(env))
        new, cleared = imports.look(state)
        assert [name.rpartition("/")[2] for name, _lines in new] == ["news_scheduled.py"] and cleared == [], new
        assert any(p["newsflow"].get("kind") == "dag_import_error" and "not valid YAML" in p["newsflow"]["error"]
                   and p["newsflow"]["stops"] == "no scheduled run starts until the sources file is mended"
                   for p in service["hook"].posts), service["hook"].posts
        assert imports.look(state) == ([], [])
        # while the file does not import, the run of its schedule waits: the file may be mended
        assert retired.look(state) == [] and retired.look(state) == []
        assert client.get(f"/dags/news_ingest_yearly/dagRuns/{quote(waiting[1], safe='')}")["state"] == "queued"
        # mended without that schedule: the run can never finish, and the housekeeper fails it at its second look
        sources.write_text("settings:\n  schedule: '@monthly'\nsources:\n  - {name: quiet, kind: urls, "
                           "urls_file: urls.txt}\n")
        mended = time.monotonic()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            errors = client.get("/importErrors?limit=100")["import_errors"]
            if [d["dag_id"] for d in client.scheduled_dags()] == ["news_ingest_monthly"] and not errors:
                break
            time.sleep(3)
        else:
            pytest.fail(f"the mended file's DAGs never replaced the yearly one: {client.scheduled_dags()}, {errors}")
        stale_after = time.monotonic() - mended
        assert [name.rpartition("/")[2] for name in imports.look(state)[1]] == ["news_scheduled.py"]
        # (the service's own housekeeper, whose looks are 5 s apart here: two looks after the DAG went stale)
        deadline = time.monotonic() + 240
        while client.get(f"/dags/news_ingest_yearly/dagRuns/{quote(waiting[1], safe='')}")["state"] != "failed":
            assert time.monotonic() < deadline, "the housekeeper did not fail the run of the retired schedule"
            time.sleep(3)
        print(f"\nthe retired schedule's run failed by the housekeeper {time.monotonic() - mended:.1f}s after the "
              f"file was mended ({stale_after:.1f}s for its DAG to go)")
        housekeeper_log = (service["base"] / "data" / "logs" / "service" / "housekeeper.log").read_text()
        assert (f"newsflow housekeeper: news_ingest_yearly run {waiting[1]} is of a schedule no longer in the "
                "sources file: marked failed") in housekeeper_log, housekeeper_log
        [posted] = [p for p in service["hook"].posts if p["newsflow"].get("run_id") == waiting[1]]
        assert posted["newsflow"]["reason"] == "its schedule is no longer in the sources file", posted
    finally:
        down = _run("down", env=env, timeout=180)
        assert down.returncode == 0, down.stdout + down.stderr


def _run_at_rest(metadata_db: Path, run_id: str) -> tuple[str, list[tuple]]:
    """(state, unfinished task instances) of a run, read from a stopped service's SQLite metadata DB."""
    import sqlite3

    from newsflow.dead_runs import FINISHED_TASK_STATES

    db = sqlite3.connect(f"file:{metadata_db}?mode=ro", uri=True)
    try:
        [(state,)] = db.execute("select state from dag_run where run_id = ?", [run_id]).fetchall()
        tis = db.execute("select task_id, map_index, state from task_instance where run_id = ?", [run_id]).fetchall()
    finally:
        db.close()
    return state, [ti for ti in tis if ti[2] not in FINISHED_TASK_STATES]


def _line_after(text: str, heading: str) -> str:
    lines = text.splitlines()
    return lines[lines.index(heading) + 1]


def _running(pid: int) -> bool:
    """Alive and not a zombie (a zombie holds no resources: only its exit status, until its parent reaps it)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None
