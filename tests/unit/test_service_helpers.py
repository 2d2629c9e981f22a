"""The service's small helpers: a free port when the preferred one is taken (the API, the live newsroom, Airflow's
log servers), sources files moved to that port, and the task slots sized to the machine."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from newsflow.config import load_sources, project_root
from newsflow.service import free_port, parallelism, port_free, sources_on_port


def test_a_taken_port_is_replaced_and_the_sources_file_follows(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        assert not port_free(busy)
        port = free_port(busy)
        assert port != busy and port_free(port)
    moved = sources_on_port(project_root() / "config" / "sources.demo.yaml", 8765, port, tmp_path)
    config = load_sources(moved)
    assert config.settings.allow_private_hosts == [f"127.0.0.1:{port}"]
    assert all(f"127.0.0.1:{port}/" in (s.url if s.kind != "urls" else s.urls_file) for s in config.sources)


def test_a_port_listened_on_every_interface_is_taken_and_chosen_ports_are_avoided():
    # Airflow's log servers listen on [::] (dual stack): a loopback probe must see such a port as taken
    with socket.create_server(("", 0), family=socket.AF_INET6, dualstack_ipv6=True) as taken:
        busy = taken.getsockname()[1]
        assert not port_free(busy)
        first = free_port(busy)
        assert first != busy
        # two ports chosen before either is bound: the second is never the first
        assert free_port(first, avoid={first}) not in (first, busy)


def test_same_port_keeps_the_bundled_file(tmp_path):
    bundled = project_root() / "config" / "sources.demo.yaml"
    assert sources_on_port(bundled, 8765, 8765, tmp_path) == bundled


def test_a_lake_reads_the_sample_site_from_the_port_it_read_it_from_before(tmp_path, monkeypatch, capsys):
    """A page's URL, port included, is its article's identity: a `make demo` that fell back to a free port, then
    one on 8765, stored every sample page twice. The port a lake read the site from is kept per lake and used again
    when free; when it is taken, `newsflow demo` refuses (exit 2, before serving or running anything) unless told
    a port."""
    from newsflow.cli import main
    from newsflow.service import record_site_port, site_port
    from newsflow.warehouse import open_for_write

    record = tmp_path / "ports.json"
    assert site_port(8765, record, "lake-a") == (free_port(8765), None)  # none recorded: as before
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        last = held.getsockname()[1]
        record_site_port(record, "lake-a", last)
        record_site_port(record, "lake-b", 8765)
        port, said = site_port(8765, record, "lake-a")
        assert said == last and port != last
    assert site_port(8765, record, "lake-a") == (last, last)  # free again: the same port, the same URLs
    record.write_text("{not json", encoding="utf-8")
    assert site_port(8765, record, "lake-a") == (free_port(8765), None)

    data = tmp_path / "data"
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(data))
    lake = data / "lake"
    open_for_write(lake).close()
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        record_site_port(data / "demo" / "site-ports.json", str(lake), taken)
        assert main(["demo", "--warehouse", str(lake)]) == 2
    err = capsys.readouterr().err
    assert f"port {taken} is taken. The sample pages in {lake} were read from it" in err
    assert "pass --port N" in err


def test_task_slots_follow_the_cores():
    assert parallelism() == max(2, os.cpu_count() or 2)


def test_an_import_error_is_said_by_its_exception_not_its_frames():
    from newsflow.service import _echo_schedules

    yaml_error = (
        'Traceback (most recent call last):\n  File "/x/newsflow/config.py", line 496, in load_sources\n'
        '    return parse_sources(text, str(path))\n           ^^^^^^^^^^^^^^^^^\n'
        'newsflow.config.ConfigError: /srv/sources.yaml: not valid YAML: while parsing a flow sequence\n'
        '  in "<unicode string>", line 2, column 13:\n      schedule: [أخبار\n                ^\n')
    said: list[str] = []
    _echo_schedules({"schedules": {"CRON_TZ=Asia/Tokyo 0 6 * * 1-5": ["tokyo"]}},
                    [{"dag_id": "news_ingest_cron_0_6_x_x_1_5_asia_tokyo", "is_paused": False,
                      "next_dagrun_run_after": "2026-12-06T21:00:00Z", "timetable_summary": "0 6 * * 1-5"},
                     {"dag_id": "news_ingest_hourly", "is_paused": True, "timetable_summary": "@hourly"}],
                    [{"filename": "news_scheduled.py", "stack_trace": yaml_error},
                     {"filename": "other.py", "stack_trace": "SyntaxError: invalid syntax\n"},
                     {"filename": "odd.py", "stack_trace": "something broke\n"}], said.append)
    assert [line.split() for line in said[:3]] == [
        ["schedules:"],
        ["news_ingest_cron_0_6_x_x_1_5_asia_tokyo", "CRON_TZ=Asia/Tokyo", "0", "6", "*", "*", "1-5", "next", "run",
         "2026-12-06T21:00:00Z", "(2026-12-07", "06:00", "Asia/Tokyo)"],
        ["news_ingest_hourly", "@hourly", "PAUSED"]]
    assert said[3:] == [
        "  IMPORT ERROR news_scheduled.py: ConfigError: /srv/sources.yaml: not valid YAML: while parsing a flow "
        "sequence",
        '      in "<unicode string>", line 2, column 13:', "          schedule: [أخبار", "                    ^",
        "  IMPORT ERROR other.py: SyntaxError: invalid syntax",
        "  IMPORT ERROR odd.py: something broke"]


def test_status_says_what_the_latest_quality_run_found(tmp_path):
    """A news_quality run is `success` whatever its checks find: without a webhook, nothing an operator reads said
    that checks fail."""
    from datetime import UTC, datetime, timedelta

    from newsflow.quality_checks import write_checks
    from newsflow.service import _echo_quality
    from newsflow.warehouse import open_for_write

    said = []
    # right after `up`, before the first load: Airflow's error at opening no lake was printed cut mid-word
    _echo_quality(str(tmp_path / "none"), said.append)
    assert said == ["quality: no quality run yet (no load has made the warehouse)"]
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "catalog.sqlite").write_bytes(b"not a database at all" * 100)
    said.clear()
    _echo_quality(str(tmp_path / "broken"), said.append)
    assert said and said[0].startswith("quality: not read (")
    lake = tmp_path / "lake"
    open_for_write(lake).close()
    said.clear()
    _echo_quality(str(lake), said.append)
    assert said == ["quality: no quality run yet"]

    def check(name, source, status):
        return {"check_name": name, "source": source, "observed": 1.0, "expected": "x", "status": status,
                "details": None}

    at = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
    con = open_for_write(lake)
    write_checks(con, "q1", [check("volume_latest_day", "khabar", "fail")], checked_at=at - timedelta(hours=1))
    write_checks(con, "q2", [check("freshness_published_hours", "khabar", "fail"), check("volume_latest_day",
                 "khabar", "warn")] + [check("null_rate_title", f"s{i}", "fail") for i in range(6)]
                 + [check("duplicate_rate", "*", "pass")], checked_at=at)
    con.close()
    said.clear()
    _echo_quality(str(lake), said.append)
    assert said[0] == "quality: run q2 at 2026-12-05 06:00 UTC: 7 fail, 1 warn, 1 pass; 0 alert(s) standing (open_alerts())"
    assert said[1:] == ["  fail  freshness_published_hours [khabar]"] + [
        f"  fail  null_rate_title [s{i}]" for i in range(4)] + ["  … and 2 more (the dashboard, or newsflow sql)"]
    said.clear()
    # a service up without a webhook posts nothing: no count of alerts that can only be 0
    _echo_quality(str(lake), said.append, alerts_on=False)
    assert said[0] == "quality: run q2 at 2026-12-05 06:00 UTC: 7 fail, 1 warn, 1 pass; alerts off: none posted"


def test_a_stopped_scheduler_is_said_first_and_in_the_exit_status_and_ingest_refuses(tmp_path, monkeypatch, capsys):
    """After a kill -9 of the scheduler nothing restarts it: `status` said "newsflow is up" and exited 0, and
    `newsflow ingest` triggered a run that waited, queued, for up to two hours."""
    import json
    import os
    import subprocess

    from newsflow import service
    from newsflow.cli import main

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    dead = subprocess.Popen(["true"])
    dead.wait()
    state = {"url": "http://127.0.0.1:9", "pids": {"api-server": os.getpid(), "scheduler": dead.pid},
             "logs": str(tmp_path / "logs"), "sources_file": "config/sources.live.yaml",
             "warehouse": str(tmp_path / "data" / "warehouse"), "airflow_home": str(tmp_path / "home")}
    service.state_file().parent.mkdir(parents=True)
    service.state_file().write_text(json.dumps(state))

    said: list[str] = []
    assert service.status(said.append) == 1
    assert said[1] == "  STOPPED: scheduler; nothing restarts it: `newsflow down`, then `newsflow up`"
    assert any(line.split()[:4] == ["scheduler", "pid", str(dead.pid), "STOPPED"] for line in said)

    sources = project_root() / "config" / "sources.demo.yaml"
    assert main(["ingest", "--sources", str(sources)]) == 1
    assert "scheduler is not running" in capsys.readouterr().err


def test_a_run_of_a_schedule_the_file_no_longer_has_is_said_to_be_stuck():
    """Its DAG gone, such a run stays `running` for good (and would resume if the schedule came back): `status`
    listed it as plain `running`. While the file does not import it only waits."""
    from newsflow.service import _echo_last_runs

    def run(state, when, run_id):
        return {"state": state, "run_type": "scheduled", "run_after": when, "dag_run_id": run_id}

    runs = {"news_ingest_every_minute": [run("running", "2026-12-05T13:16:00Z", "scheduled__13:16"),
                                         run("success", "2026-12-05T13:15:00Z", "scheduled__13:15")],
            "news_ingest_cron_x_2_x_x_x_x": [run("running", "2026-12-05T13:18:00Z", "scheduled__13:18")],
            "news_quality": [run("running", "2026-12-05T13:17:00Z", "asset_triggered__1")]}
    said: list[str] = []
    _echo_last_runs(runs, [{"dag_id": "news_ingest_cron_x_2_x_x_x_x"}], [], said.append)
    stuck = [line for line in said if "no longer in the sources file" in line]
    assert len(stuck) == 1 and "news_ingest_every_minute" in stuck[0] and "scheduled__13:16" in stuck[0]
    assert stuck[0].endswith("it cannot finish; the housekeeper fails it at its second look, two minutes by default)")
    said.clear()
    _echo_last_runs(runs, [], [{"filename": "/srv/dags/news_scheduled.py", "stack_trace": "ConfigError"}],
                    said.append)
    waiting = [line for line in said if line.endswith("(waits: the file that makes its DAG does not import)")]
    assert [line.split()[0] for line in waiting] == ["news_ingest_cron_x_2_x_x_x_x", "news_ingest_every_minute"]


def test_the_last_runs_stand_in_columns_whatever_the_run_type():
    """`asset_triggered` (news_quality's runs) is longer than the run-type column was wide: its lines pushed the
    run time and id right of every other line's."""
    from newsflow.service import _echo_last_runs

    runs = {"news_ingest_every_minute": [{"state": "success", "run_type": "scheduled", "dag_run_id": "scheduled__1",
                                          "run_after": "2026-12-05T13:15:00Z"}],
            "news_quality": [{"state": "success", "run_type": "asset_triggered", "dag_run_id": "asset_triggered__1",
                              "run_after": "2026-12-05T13:15:41.123456Z"}],
            "news_ingest": [{"state": "queued", "run_type": "manual", "dag_run_id": "manual__1", "run_after": None}]}
    said: list[str] = []
    _echo_last_runs(runs, [{"dag_id": "news_ingest_every_minute"}], [], said.append)
    lines = said[1:]
    assert len(lines) == 3
    # each column starts at the same place on every line
    starts = {line.index(run_id) for line, run_id in zip(lines, ("manual__1", "scheduled__1", "asset_triggered__1"),
                                                         strict=True)}
    types = {line.index(kind) for line, kind in zip(lines, ("manual", "scheduled", "asset_triggered"), strict=True)}
    assert len(starts) == 1 and len(types) == 1, lines


def test_the_housekeeper_tells_a_component_that_stopped_for_good_once(tmp_path, monkeypatch):
    """Nothing restarts a component that died; its line in `status` was the only sign. The housekeeper says it in
    its log and posts it to the webhook, once, after two looks (`newsflow down` stops the housekeeper within
    seconds of the others, and must not be announced as a crash)."""
    import json
    import subprocess

    from newsflow import service
    from newsflow.housekeeper import stopped_for_good, watch_forever
    from tests.support.webhook import Webhook

    dead = subprocess.Popen(["true"])
    dead.wait()
    state = {"url": "http://127.0.0.1:8080", "pids": {"api-server": os.getpid(), "scheduler": dead.pid,
                                                      "housekeeper": dead.pid}}
    seen, told = set(), set()
    assert stopped_for_good(state, seen, told) == []  # one look: maybe `newsflow down` at work
    assert stopped_for_good(state, seen, told) == ["scheduler"]
    assert stopped_for_good(state, seen, told) == []  # told once
    assert stopped_for_good({**state, "pids": {"scheduler": os.getpid()}}, seen, told) == []  # running again
    assert stopped_for_good(state, seen, told) == [] and stopped_for_good(state, seen, told) == ["scheduler"]
    assert stopped_for_good(None, seen, told) == []  # the service is down: nothing to watch

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    service.state_file().parent.mkdir(parents=True)
    service.state_file().write_text(json.dumps(state))
    said: list[str] = []
    with Webhook() as hook:
        monkeypatch.setenv("NEWSFLOW_ALERT_WEBHOOK", hook.url)
        watch_forever(every=0, echo=said.append, looks=3)
    assert [p["newsflow"] for p in hook.posts] == [{"kind": "component_stopped", "component": "scheduler",
                                                    "pid": dead.pid}]
    assert hook.posts[0]["text"].startswith(f"newsflow: the service's scheduler (pid {dead.pid}) has stopped and "
                                            "nothing restarts it; no scheduled run starts until")
    told_stopped = [line for line in said if "has stopped" in line]
    assert len(told_stopped) == 1 and told_stopped[0].endswith(
        f"newsflow housekeeper: the scheduler (pid {dead.pid}) has stopped; nothing restarts it: `newsflow down`, "
        "then `newsflow up`")
    # this api-server (the test's own pid) answers no REST call: its look for runs of retired schedules says so
    # once, not at every look
    assert len([line for line in said if "could not look for runs of retired schedules" in line]) == 1, said
    assert len(said) == 2, said


def test_up_demo_refuses_a_sources_file_before_starting_anything(tmp_path, monkeypatch, capsys):
    """`up --demo` schedules the sample newsroom's sources only: a --sources given with it was ignored in silence,
    and the service ran other sources than the ones asked for."""
    from newsflow import service
    from newsflow.cli import main

    def started(**_):
        raise AssertionError("newsflow up started the service")

    monkeypatch.setattr(service, "up", started)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    sources = project_root() / "config" / "sources.demo.yaml"
    assert main(["up", "--demo", "--sources", str(sources), "--port", "18190"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("newsflow: --sources cannot be given with --demo")
    assert not (tmp_path / "home").exists() and not (tmp_path / "data").exists()


def _write_state(state: dict) -> None:
    import json

    from newsflow import service

    service.state_file().parent.mkdir(parents=True, exist_ok=True)
    service.state_file().write_text(json.dumps(state))


def test_a_state_file_whose_pids_other_programs_have_now_is_stale(tmp_path, monkeypatch):
    """A state file a reboot or a kill of the whole service left behind names pids that other programs may have
    since: `status` said the service was up (exit 0), `up` refused to start, and `down` killed the other program
    and its process group."""
    import subprocess

    import psutil

    from newsflow import service

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    stranger = subprocess.Popen(["sleep", "120"], start_new_session=True)
    try:
        then = psutil.Process(stranger.pid).create_time() - 3600  # the service's processes started an hour before
        state = {"url": "http://127.0.0.1:9", "pgid": stranger.pid, "port": 9, "log_ports": [],
                 "pids": {"api-server": stranger.pid, "scheduler": stranger.pid}, "log_writers": {},
                 "started": {str(stranger.pid): then}, "logs": str(tmp_path / "logs"), "sources_file": "x.yaml",
                 "warehouse": str(tmp_path / "data" / "warehouse"), "airflow_home": str(tmp_path / "home")}
        _write_state(state)
        assert not service.is_running()
        said: list[str] = []
        assert service.status(said.append) == 3
        assert said[0] == "newsflow is not up (stale state file removed)"
        assert not service.state_file().exists()

        _write_state(state)
        said.clear()
        assert service.down(said.append) is False
        assert said == ["newsflow is not up (stale state file removed)"]
        assert stranger.poll() is None, "down killed a program that had the service's pid since"
        # the very processes, as recorded, are the service's
        _write_state({**state, "started": {str(stranger.pid): then + 3600}})
        assert service.is_running()
    finally:
        stranger.kill()
        stranger.wait()


def test_a_second_service_on_one_airflow_home_is_refused(tmp_path, monkeypatch):
    """`up` refused a second service on the same data dir only: with another data dir and the same Airflow home, a
    second scheduler, dag-processor and api-server shared the first's metadata DB, ran its tasks and failed its runs
    at their `down`."""
    import json
    import os

    import psutil
    import pytest

    from newsflow import service

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "first"))
    me = os.getpid()  # a running process stands for the first service's components
    _write_state({"url": "http://127.0.0.1:18301", "pids": {"scheduler": me}, "data_dir": str(tmp_path / "first"),
                  "started": {str(me): psutil.Process(me).create_time()}})
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "newsflow-service.json").write_text(json.dumps({"state_file": str(service.state_file())}))

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "second"))
    with pytest.raises(service.ServiceError) as info:
        service.up(port=free_port(18302), echo=lambda _line: None)
    assert str(info.value).startswith(f"another newsflow service runs on the Airflow home {tmp_path / 'home'} "
                                      f"(data dir {tmp_path / 'first'}, http://127.0.0.1:18301)")
    assert not (tmp_path / "second").exists()


def test_status_measures_the_running_services_lake_not_the_shells(tmp_path, monkeypatch):
    """`NEWSFLOW_WAREHOUSE=data/live make up-demo`, then `newsflow status` from a plain shell: the header and the
    quality line named the service's lake, and the "on disk" lines measured data/warehouse, the shell's."""
    from newsflow.service import _echo_footprint

    service_data, shell_data = tmp_path / "service-data", tmp_path / "shell-data"
    (service_data / "live").mkdir(parents=True)
    (service_data / "live" / "catalog.sqlite").write_bytes(b"c" * 3000)
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(shell_data))
    monkeypatch.delenv("NEWSFLOW_WAREHOUSE", raising=False)
    said: list[str] = []
    _echo_footprint(said.append, {"data_dir": str(service_data), "warehouse": str(service_data / "live"),
                                  "airflow_home": str(tmp_path / "home")})
    assert said[0] == f"on disk (data dir {service_data}):"
    [lake] = [line for line in said if line.lstrip().startswith("warehouse ")]
    assert f"{service_data / 'live'}:" in lake and "2.9 KB" in lake and "1 files" in lake
    said.clear()
    _echo_footprint(said.append)  # not up: what this shell's settings name
    assert said[0] == f"on disk (data dir {shell_data}):"


def test_status_without_an_answering_api_still_says_quality_and_what_is_on_disk(tmp_path, monkeypatch):
    """A kill -9 of the api-server (or one stuck on a full disk): `status` said NOT ANSWERING and stopped there, so the
    quality line and the "on disk" lines, which read the lake and the folders and need no REST API, were missing
    exactly when the operator looks for why the service is unwell. Still exit 1."""
    import json
    import os
    import subprocess

    from newsflow import service
    from newsflow.warehouse import open_for_write

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    lake = tmp_path / "data" / "warehouse"
    open_for_write(lake).close()
    dead = subprocess.Popen(["true"])
    dead.wait()
    with socket.socket() as closed:  # a loopback port nothing listens on: the api-server's, after its kill
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    state = {"url": f"http://127.0.0.1:{port}", "pids": {"api-server": dead.pid, "scheduler": os.getpid()},
             "logs": str(tmp_path / "logs"), "sources_file": "config/sources.live.yaml", "warehouse": str(lake),
             "data_dir": str(tmp_path / "data"), "airflow_home": str(tmp_path / "home")}
    service.state_file().parent.mkdir(parents=True)
    service.state_file().write_text(json.dumps(state))

    said: list[str] = []
    assert service.status(said.append) == 1
    assert said[1] == "  STOPPED: api-server; nothing restarts it: `newsflow down`, then `newsflow up`"
    assert any(line.startswith("  NOT ANSWERING: the REST API (") for line in said), said
    assert "quality: no quality run yet" in said, said
    assert f"on disk (data dir {tmp_path / 'data'}):" in said, said
    assert any(line.lstrip().startswith("warehouse ") and f"{lake}:" in line for line in said), said


def test_a_component_that_runs_without_a_heartbeat_is_silent():
    """`kill -STOP` of the scheduler (or one hung on a lock): its process runs, so `status` said `running` and exit
    0 while no run started; Airflow's health answer has its latest heartbeat. Shaped as /api/v2/monitor/health
    answers it (Airflow 3.3: airflow/api/common/airflow_health.py)."""
    from datetime import UTC, datetime

    from newsflow.service import SILENT_AFTER_S, silent_components

    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC).timestamp()
    health = {
        "metadatabase": {"status": "healthy"},
        # 40 s late: "unhealthy" to Airflow (30 s), a busy two-core machine to us
        "scheduler": {"status": "unhealthy", "latest_scheduler_heartbeat": "2026-12-06T11:59:20+00:00"},
        "triggerer": {"status": "unhealthy", "latest_triggerer_heartbeat": "2026-12-06T11:55:00.123456+00:00"},
        "dag_processor": {"status": None, "latest_dag_processor_heartbeat": None},
    }
    silent = silent_components(health, ["scheduler", "triggerer", "dag-processor"], now)
    assert silent == {"triggerer": pytest.approx(299.88, abs=0.01)}
    # a stopped triggerer is the STOPPED line's to say; a naive stamp is UTC, as the metadata DB keeps it
    assert silent_components(health, ["scheduler"], now) == {}
    naive = {"scheduler": {"latest_scheduler_heartbeat": "2026-12-06T11:50:00"}}
    assert silent_components(naive, ["scheduler"], now) == {"scheduler": 600.0}
    assert 30 < SILENT_AFTER_S <= 300


def test_a_login_the_api_server_is_too_busy_to_answer_is_asked_again():
    """A just-started api-server under a load average of 25 once answered no login within the 30 s allowed: the
    command that logs in (`newsflow up` failing a dead run, `ingest` on the service) failed with a bare timeout.
    Here the first connection is never answered and the second is."""
    import json
    import threading

    from newsflow.service import Client

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        held = []

        def serve() -> None:
            held.append(server.accept()[0])  # the busy server: read, never answered
            answering, _ = server.accept()
            with answering:
                answering.recv(65536)
                body = json.dumps({"access_token": "jwt"}).encode()
                answering.sendall(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: "
                                  + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        client = Client.login(f"http://127.0.0.1:{port}", "admin", "pw", timeout=1)
        thread.join(10)
        for connection in held:
            connection.close()
    assert client.token == "jwt" and len(held) == 1
    with socket.socket() as silent:  # never answers at all: the timeout, after the tries
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        with pytest.raises(TimeoutError):
            Client.login(f"http://127.0.0.1:{silent.getsockname()[1]}", "admin", "pw", timeout=0.5, tries=2)


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "NEWSFLOW_PORT='abc': expected a port number"),
    ("70000", "NEWSFLOW_PORT='70000': must be at most 65535"),
    ("-5", "NEWSFLOW_PORT='-5': must be at least 1"),
])
def test_up_refuses_a_bad_port_variable_by_name_before_starting_anything(tmp_path, value, message):
    """NEWSFLOW_PORT that is no port: `up` ended in a traceback (int() or bind()), or with 0 started every component
    and waited four minutes for an api-server at http://127.0.0.1:0."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSFLOW_", "AIRFLOW"))}
    env.update({"AIRFLOW_HOME": str(tmp_path / "home"), "NEWSFLOW_DATA_DIR": str(tmp_path / "data"),
                "NEWSFLOW_PORT": value})
    done = subprocess.run([sys.executable, "-m", "newsflow.cli", "up", "--demo"], env=env, cwd=project_root(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stderr == f"newsflow: {message}\n"
    assert not (tmp_path / "home").exists() and not (tmp_path / "data").exists()


@pytest.mark.parametrize(("value", "message"), [
    ("0", "NEWSFLOW_HOUSEKEEPER_WATCH_S='0': must be at least 1"),
    ("soon", "NEWSFLOW_HOUSEKEEPER_WATCH_S='soon': expected a number of seconds"),
])
def test_up_refuses_a_bad_housekeeper_interval_by_name_before_starting_anything(tmp_path, value, message):
    """The housekeeper reads NEWSFLOW_HOUSEKEEPER_WATCH_S when it starts: a value it cannot use is refused by `up`,
    not by a housekeeper that dies in the background while the rest of the service runs on unwatched."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSFLOW_", "AIRFLOW"))}
    # a bad disk limit too, checked after the interval: were the interval not checked, `up` still starts nothing
    env.update({"AIRFLOW_HOME": str(tmp_path / "home"), "NEWSFLOW_DATA_DIR": str(tmp_path / "data"),
                "NEWSFLOW_HOUSEKEEPER_WATCH_S": value, "NEWSFLOW_DISK_LOW_GB": "plenty"})
    done = subprocess.run([sys.executable, "-m", "newsflow.cli", "up", "--demo", "--port", str(free_port(19431))],
                          env=env, cwd=project_root(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stderr == f"newsflow: {message}\n"
    assert not (tmp_path / "home").exists() and not (tmp_path / "data").exists()


def test_the_housekeeper_looks_every_minute_unless_told_otherwise(monkeypatch):
    from newsflow.housekeeper import watch_seconds

    monkeypatch.delenv("NEWSFLOW_HOUSEKEEPER_WATCH_S", raising=False)
    assert watch_seconds() == 60
    monkeypatch.setenv("NEWSFLOW_HOUSEKEEPER_WATCH_S", "5")
    assert watch_seconds() == 5


def test_status_says_what_is_kept_as_the_service_was_started_not_as_the_shell_says(tmp_path, monkeypatch):
    """`NEWSFLOW_LOG_RETENTION_DAYS=7 NEWSFLOW_SERVICE_LOG_MB=5 make up`, then `make status` from another shell: the
    "on disk" lines said 30 days and 20 MB, this shell's defaults, while the service's news_maintenance, log writers
    and housekeeper go by 7 days and 5 MB (the data dir, lake and Airflow home were already the service's)."""
    import json
    import subprocess
    import sys

    from newsflow import service

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    for name in ("NEWSFLOW_LOG_RETENTION_DAYS", "NEWSFLOW_SERVICE_LOG_MB", "NEWSFLOW_METADATA_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEWSFLOW_SNAPSHOT_RETENTION_DAYS", "3")  # this shell's, which the service was not given
    # a log writer `up` started with the components' environment
    writer = subprocess.Popen([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                              env={**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(project_root() / "dags"),
                                   "NEWSFLOW_LOG_RETENTION_DAYS": "7", "NEWSFLOW_SERVICE_LOG_MB": "5",
                                   "NEWSFLOW_METADATA_RETENTION_DAYS": "60", "NEWSFLOW_SNAPSHOT_RETENTION_DAYS": ""},
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline() == "up\n"
        state = {"url": "http://127.0.0.1:9", "pids": {"scheduler": os.getpid()},
                 "log_writers": {"scheduler": writer.pid}, "logs": str(tmp_path / "logs"),
                 "sources_file": "config/sources.yaml", "warehouse": str(tmp_path / "data" / "warehouse"),
                 "data_dir": str(tmp_path / "data"), "airflow_home": str(tmp_path / "home")}
        service.state_file().parent.mkdir(parents=True)
        service.state_file().write_text(json.dumps(state))
        said: list[str] = []
        assert service.status(said.append) == 1
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()

    def kept(what: str) -> str:
        return next(line for line in said if line.lstrip().startswith(what + " "))

    assert kept("task logs").endswith(": deleted by news_maintenance after 7 days"), said
    assert kept("service logs").endswith(": rotated at 5.0 MB, 4 older files kept per component"), said
    assert "run history older than 60 days" in kept("Airflow metadata"), said
    assert "snapshots older than 7 days expired" in kept("warehouse"), said  # the service's default, not 3
    assert os.environ["NEWSFLOW_SNAPSHOT_RETENTION_DAYS"] == "3" and "NEWSFLOW_SERVICE_LOG_MB" not in os.environ


def test_down_says_runs_in_progress_cannot_be_checked_when_the_api_server_has_stopped(tmp_path, monkeypatch):
    """`newsflow down` on a service whose api-server died (the OOM killer) said nothing of the runs it cut short:
    no REST API marks them failed, and the operator was not told that the next `up` does."""
    import json
    import subprocess

    from newsflow import service

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    dead = subprocess.Popen(["true"])
    dead.wait()
    # a component still running, in a group of its own as `up` starts them
    alive = subprocess.Popen(["sleep", "60"], process_group=0)
    try:
        state = {"url": "http://127.0.0.1:9", "port": 9, "pgid": alive.pid,
                 "pids": {"api-server": dead.pid, "triggerer": alive.pid}}
        service.state_file().parent.mkdir(parents=True)
        service.state_file().write_text(json.dumps(state))
        said: list[str] = []
        assert service.down(said.append) is True
        assert alive.wait(timeout=30) is not None
    finally:
        if alive.poll() is None:
            alive.kill()
            alive.wait()
    assert said[0] == ("newsflow: the api-server has stopped: runs in progress cannot be checked; the next `up` marks "
                       "any left running failed"), said
    assert said[-1].startswith("newsflow is down (stopped api-server, triggerer)"), said


@pytest.mark.parametrize("value", ["70000", "-5"])
def test_up_refuses_a_bad_port_option_before_starting_anything(tmp_path, value):
    """`up --port` that is no port is refused as NEWSFLOW_PORT is: it ended in bind()'s OverflowError traceback."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSFLOW_", "AIRFLOW"))}
    env.update({"AIRFLOW_HOME": str(tmp_path / "home"), "NEWSFLOW_DATA_DIR": str(tmp_path / "data")})
    done = subprocess.run([sys.executable, "-m", "newsflow.cli", "up", "--demo", "--port", value], env=env,
                          cwd=project_root(), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stderr == f"newsflow: --port {value}: a port is 1 to 65535\n"
    assert not (tmp_path / "home").exists() and not (tmp_path / "data").exists()


@pytest.mark.parametrize("before", [None, 0o644])
def test_the_admin_password_file_is_readable_by_this_user_only(tmp_path, monkeypatch, before):
    """The simple auth manager wrote the admin password it generated with the umask's permissions (0644) and printed
    it to the api-server's log: any user of the machine could read it and log in through loopback. `up` makes it
    first, for this user only (a file an older home has is made so)."""
    import json
    import stat

    from newsflow.service import password, service_env

    home = tmp_path / "home"
    monkeypatch.setenv("AIRFLOW_HOME", str(home))
    path = home / "simple_auth_manager_passwords.json.generated"
    if before is not None:
        home.mkdir()
        path.write_text(json.dumps({"admin": "kept"}))
        path.chmod(before)
    service_env(18080, "sources.yaml", tmp_path / "data", str(tmp_path / "lake"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert password(home) == "kept" if before else len(password(home)) >= 16


def test_up_hands_its_components_the_lake_data_folder_its_shell_names(tmp_path, monkeypatch):
    """`cd ~/ops && NEWSFLOW_LAKE_DATA=lake newsflow up` with a Postgres catalog: the components run in the project
    folder, so the first load put the lake's data files in <project>/lake, and `newsflow ingest` (its summary) and
    `newsflow sql` in that shell were refused: NEWSFLOW_LAKE_DATA is ~/ops/lake/ but the data files are at
    <project>/lake/. A relative NEWSFLOW_WAREHOUSE and NEWSFLOW_DATA_DIR were already made absolute."""
    from newsflow.service import service_env

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    catalog = "postgres:dbname=lake host=127.0.0.1 port=5432 user=newsflow"
    monkeypatch.setenv("NEWSFLOW_LAKE_DATA", "lake")
    env = service_env(18303, str(tmp_path / "sources.yaml"), tmp_path / "data", catalog)
    assert env["NEWSFLOW_LAKE_DATA"] == str(tmp_path / "lake")
    assert Path(env["NEWSFLOW_LAKE_DATA"]) != project_root() / "lake"
    monkeypatch.setenv("NEWSFLOW_LAKE_DATA", "s3://bucket/lake/")  # object storage: as given
    assert service_env(18303, str(tmp_path / "sources.yaml"), tmp_path / "data", catalog)[
        "NEWSFLOW_LAKE_DATA"] == "s3://bucket/lake/"


def test_a_partial_run_is_said_with_the_warehouse_verdict_and_its_failed_source(tmp_path, data_env):
    """A source whose listing answers 404 next to a healthy one: the run is `partial` in the warehouse and a
    `success` to Airflow, and `status` listed it as a plain `success`. Its line now says the warehouse's verdict
    and the source that failed; a warehouse absent or unreadable leaves Airflow's states alone."""
    from newsflow.service import _echo_last_runs, _echo_quality, lake_reader, run_verdicts
    from tests.support import stage_run
    from tests.support.faultserver import FaultServer

    dag_id, run_id = "news_ingest_every_minute", "scheduled__2026-12-07T17:10:00+00:00"
    with FaultServer() as server:
        verdict = stage_run.run(tmp_path, server, run_id,
                                f"  - {{name: alhadath, kind: urls, urls: ['{server.url('/ok/a1')}']}}\n"
                                f"  - {{name: gone, kind: feed, url: '{server.url('/status/404')}'}}\n", dag_id=dag_id)
    assert verdict["status"] == "partial"

    def run(state, at, run_id):
        return {"state": state, "run_type": "scheduled", "run_after": at, "dag_run_id": run_id}

    runs = {dag_id: [run("success", "2026-12-07T17:10:00Z", run_id),
                     run("success", "2026-12-07T17:09:00Z", "scheduled__2026-12-07T17:09:00+00:00")]}
    lake = lake_reader(str(data_env / "warehouse"))
    try:
        verdicts = run_verdicts(lake, runs)
        said: list[str] = []
        # the quality line reads the same connection, which stays open for its caller to close
        _echo_quality(str(data_env / "warehouse"), said.append, con=lake)
        assert said == ["quality: no quality run yet"]
    finally:
        lake.close()
    assert verdicts == {(dag_id, run_id): ("partial", ["gone"])}
    said.clear()
    # a WARC cut short: its `warc` row failed, the pages read before the cut loaded. The account step counts the
    # articles' rows too (listing_unread), so the source did not fail; status judged its listing rows alone
    from datetime import UTC, datetime

    from newsflow.warehouse import connect

    cut = "manual__2026-12-07T17:20:00+00:00"
    now = datetime.now(UTC)
    con = connect(data_env / "warehouse")
    try:
        con.execute("insert into runs (run_id, dag_id, started_at, loaded_at, status, sources) "
                    "values (?, 'news_ingest', ?, ?, 'partial', ['crawl'])", [cut, now, now])
        con.executemany("insert into fetch_log (run_id, source, url_kind, seq, url, outcome, reason, fetched_at, "
                        "logged_at) values (?, 'crawl', ?, ?, ?, ?, ?, ?, ?)",
                        [[cut, "warc", 0, "/crawls/c.warc.gz", "failed", "warc_truncated:at=4096", None, now],
                         [cut, "article", 1, "https://c.example/a", "loaded", "new", now, now]])
    finally:
        con.close()
    lake = lake_reader(str(data_env / "warehouse"))
    try:
        assert run_verdicts(lake, {"news_ingest": [run("success", "2026-12-07T17:20:00Z", cut)]}) == {
            ("news_ingest", cut): ("partial", [])}
    finally:
        lake.close()
    _echo_last_runs(runs, [{"dag_id": dag_id}], [], said.append, verdicts=verdicts)
    [partial] = [line for line in said if run_id in line]
    assert partial.split()[:2] == [dag_id, "success"] and partial.endswith(f"{run_id}  (warehouse: partial; failed: gone)")
    # a run the warehouse does not know (its load never ran) stays as Airflow says it
    assert said[-1].endswith("scheduled__2026-12-07T17:09:00+00:00")
    # no warehouse, or one that cannot be read: Airflow's states alone, no error
    assert lake_reader(str(tmp_path / "none")) is None and run_verdicts(None, runs) == {}
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "catalog.sqlite").write_bytes(b"not a database at all" * 100)
    assert lake_reader(str(tmp_path / "broken")) is None
