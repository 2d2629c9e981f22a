"""The local always-on service behind `make up` / `make down`: Airflow's scheduler, dag-processor, triggerer and
api-server (127.0.0.1 only, LocalExecutor sized to the cores) and newsflow's housekeeper (newsflow.housekeeper) in one
process group, and with --demo the live newsroom.

State (pids, URL, sources file) is kept in `<data dir>/service/service.json`; each component's output goes through a
newsflow.service_logs writer to `<data dir>/logs/service/<component>.log`, rotated by size.
The REST client here (JWT from the simple auth manager) lets `newsflow ingest` and `status` use a running service.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from newsflow.airflow_runner import airflow_command, airflow_env, airflow_home, ensure_airflow, project_root
from newsflow.alerts import AlertError, AlertSettings, alert_settings, alerts_said, post, run_message
from newsflow.env_settings import number_setting
from newsflow.housekeeper import last_said, metadata_retention_days, watch_seconds
from newsflow.service_logs import rotation

DEFAULT_PORT = 8080
LIVE_PORT = 8766
USER = "admin"
PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"  # the simple auth manager's
# the api-server first: runs left `running` by dead processes are failed through it before the scheduler starts
# the dag-processor before the scheduler: the scheduled DAGs are read from this start's sources file first (see
# _wait_for_schedules)
COMPONENTS = ("api-server", "dag-processor", "scheduler", "triggerer")
# The scheduler (LocalExecutor) and the triggerer serve running tasks' logs to the UI on these ports, on every
# interface (Airflow has no host setting for them; a request must carry a token signed with this home's secret).
# When another service on the machine holds one, a free port is used: else that log server fails to bind
# and the UI cannot show a running task's log.
WORKER_LOG_PORT, TRIGGER_LOG_PORT = 8793, 8794
LIVE_SOURCES = "config/sources.live.yaml"
SCHEDULED_FILE = "news_scheduled.py"  # the DAG file that makes a DAG per schedule of the sources file


class ServiceError(RuntimeError):
    """The service could not be started, reached or stopped; the message says why and where the logs are."""


def _data_dir() -> Path:
    from newsflow.config import data_dir

    return data_dir()


def state_file() -> Path:
    return _data_dir() / "service" / "service.json"


def read_state(path: Path | None = None) -> dict | None:
    try:
        return json.loads((path or state_file()).read_text())
    except (OSError, ValueError):
        return None


def _home_claim() -> Path:
    """Which service runs on this Airflow home: the path of its state file. The state file is the data dir's, and a
    second `up` with another data dir and the same home started a second scheduler, dag-processor and api-server
    on the one metadata DB, which ran each other's tasks and failed each other's runs at `down`."""
    return airflow_home() / "newsflow-service.json"


def _service_on_home() -> dict | None:
    """The state of the service running on this Airflow home, if one does."""
    try:
        claimed = Path(json.loads(_home_claim().read_text())["state_file"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    state = read_state(claimed)
    return state if is_running(state) else None


def _release_home() -> None:
    try:
        if json.loads(_home_claim().read_text()).get("state_file") == str(state_file()):
            _home_claim().unlink(missing_ok=True)
    except (OSError, ValueError, AttributeError):
        pass


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred: int, avoid: set[int] | frozenset[int] = frozenset()) -> int:
    """`preferred` when it is free, else a port the kernel picks (never one in `avoid`: ports chosen but not yet bound)."""
    if preferred not in avoid and port_free(preferred):
        return preferred
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            return port


def site_port(preferred: int, record: Path, warehouse: str) -> tuple[int, int | None]:
    """The port to serve a loopback sample site on, and the one `warehouse` last read it from (None: never): that one
    when it is free, else `preferred` when free, else one the kernel picks. A page's URL, its port included, is its
    article's identity: the site read on another port is stored again, every page a new article (a `make demo` on
    8765 after one that had fallen back to a free port doubled the demo lake)."""
    last = _site_ports(record).get(warehouse)
    if last is not None and port_free(last):
        return last, last
    return free_port(preferred), last


def record_site_port(record: Path, warehouse: str, port: int) -> None:
    """Remember that `warehouse` read the sample site on `port` (site_port)."""
    ports = _site_ports(record)
    ports[warehouse] = port
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(ports, indent=1, sort_keys=True), encoding="utf-8")


def _site_ports(record: Path) -> dict[str, int]:
    try:
        ports = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or a damaged one: the preferred port, as on a first run
        return {}
    return {k: v for k, v in ports.items() if isinstance(v, int)} if isinstance(ports, dict) else {}


def sources_on_port(sources_file: Path, old_port: int, new_port: int, folder: Path) -> Path:
    """The loopback sources file with its port changed (the demo and the live newsroom move when theirs is
    taken); unchanged when the port is the file's own."""
    if old_port == new_port:
        return sources_file
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / sources_file.name
    target.write_text(sources_file.read_text(encoding="utf-8").replace(f"127.0.0.1:{old_port}", f"127.0.0.1:{new_port}"),
                      encoding="utf-8")
    return target


def _secret(name: str) -> str:
    """A secret shared by every component (the execution API's JWTs must verify across processes), kept in the
    Airflow home, readable by this user only."""
    path = airflow_home() / f".newsflow-{name}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _private_password_file() -> None:
    """The admin's password, made before the api-server's first start in a file readable by this user only. The
    simple auth manager wrote the one it generates with the umask's permissions (0644) and printed it to the
    api-server's log (0644 too): any user of the machine could read it and log in through loopback. It generates
    none, and prints none, for a user the file already names."""
    path = airflow_home() / PASSWORD_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(json.dumps({USER: secrets.token_urlsafe(12)}) + "\n")
    path.chmod(0o600)


def parallelism() -> int:
    """One task slot per core (at least two: a load waits on its pool while another task runs)."""
    return max(2, os.cpu_count() or 2)


def service_env(port: int, sources_file: str, data_dir: Path, warehouse: str,
                log_ports: tuple[int, int] = (WORKER_LOG_PORT, TRIGGER_LOG_PORT)) -> dict[str, str]:
    url = f"http://127.0.0.1:{port}"
    _private_password_file()
    return airflow_env({
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism()),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": _secret("jwt-secret"),
        "AIRFLOW__API__SECRET_KEY": _secret("api-secret"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(data_dir / "logs" / "airflow"),
        # a line per DAG file at every parse (3 MB a day here), in a folder a day: kept where news_maintenance's
        # clean_logs deletes what is past the retention, not in Airflow home where nothing does
        "AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY": str(data_dir / "logs" / "airflow" /
                                                                          "dag_processor"),
        # the log servers' address cannot be set: Airflow 3.3's serve_logs binds every interface (host="" in
        # airflow/utils/serve_logs/core.py), and the README says so
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_ports[0]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(log_ports[1]),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        # how soon the dag-processor retires a DAG its file no longer makes (a schedule gone from the sources file),
        # which `up` waits for before it starts the scheduler: it looks every 60 s by default, for DAGs parsed
        # last 50 s before their file (a margin for slow parses; these files parse in a second or two). The
        # scheduler's asset and trigger cleanups run on the same clock (two small queries)
        "AIRFLOW__SCHEDULER__PARSING_CLEANUP_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD": "10",
        "NEWSFLOW_SOURCES": sources_file,
        "NEWSFLOW_DATA_DIR": str(data_dir),
        "NEWSFLOW_WAREHOUSE": warehouse,
        **_lake_data_env(),
    })


def _lake_data_env() -> dict[str, str]:
    """NEWSFLOW_LAKE_DATA made absolute as NEWSFLOW_WAREHOUSE is: the components run in the project folder, so a
    relative one put a Postgres lake's data files there, and this shell's `newsflow sql` was refused."""
    from newsflow.config import lake_data_location

    data = lake_data_location()
    return {"NEWSFLOW_LAKE_DATA": data} if data else {}


def password(home: str | Path | None = None) -> str | None:
    """The admin password the simple auth manager generated (it writes it at the api-server's first start)."""
    path = Path(home or airflow_home()) / PASSWORD_FILE
    try:
        return json.loads(path.read_text()).get(USER)
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours still answers kill(0): look at its state
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _started_at(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _ours(state: dict, pid: int) -> bool:
    """Alive, and the very process `up` started: the pids of a state file that a reboot or a kill of the whole
    service left behind may name other programs since (pids are reused), which `status` took for the service and
    `down` killed. A state file written before start times were recorded is trusted by pid alone."""
    if not _alive(pid):
        return False
    recorded = (state.get("started") or {}).get(str(pid))
    started = _started_at(pid) if recorded is not None else None
    return recorded is None or (started is not None and abs(started - recorded) < 0.5)


def _own_group(state: dict) -> int | None:
    """The service's process group, None when another program now has the pid it is named by."""
    pgid = state.get("pgid")
    return pgid if pgid and (not _alive(pgid) or _ours(state, pgid)) else None


def is_running(state: dict | None = None) -> bool:
    state = state if state is not None else read_state()
    return bool(state) and any(_ours(state, pid) for pid in state["pids"].values())


def _get(url: str, token: str | None = None, timeout: float = 5.0):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def answers(url: str) -> bool:
    try:
        health = _get(f"{url}/api/v2/monitor/health", timeout=3)
    except (OSError, ValueError):
        return False
    return health.get("metadatabase", {}).get("status") == "healthy"


def up(*, port: int | None = None, demo: bool = False, sources_file: str | None = None, timeout: float = 240.0,
       echo=print) -> dict:
    """Start the service in the background and return once the UI answers; refuses when one is already up."""
    from newsflow.config import (
        load_sources,
        password_problem,
        scheduled_dag_id,
        shown_location,
        warehouse_path,
    )

    state = read_state()
    if is_running(state):
        raise ServiceError(f"newsflow is already up at {state['url']} (pids {sorted(state['pids'].values())}); "
                           "`newsflow down` stops it")
    other = _service_on_home()
    if other:
        raise ServiceError(f"another newsflow service runs on the Airflow home {airflow_home()} (data dir "
                           f"{other.get('data_dir')}, {other.get('url')}): two would share its metadata DB and run "
                           f"each other's tasks. Stop it (NEWSFLOW_DATA_DIR={other.get('data_dir')} newsflow down) "
                           "or give this one an AIRFLOW_HOME of its own")
    if problem := password_problem(warehouse_path()):  # the service's runs would show it to every user
        raise ServiceError(f"NEWSFLOW_WAREHOUSE {problem}")
    if port is not None and not 1 <= port <= 65535:  # as NEWSFLOW_PORT: bind() raised, 0 took the default
        raise ServiceError(f"--port {port}: a port is 1 to 65535")
    try:
        port = int(port or number_setting("NEWSFLOW_PORT", DEFAULT_PORT, kind=int, minimum=1, maximum=65535,
                                          expected="a port number"))
    except ValueError as exc:
        raise ServiceError(str(exc)) from None
    if not port_free(port):
        raise ServiceError(f"port {port} on 127.0.0.1 is taken: choose another with --port or NEWSFLOW_PORT")
    try:
        # checked here: a log writer that cannot start would leave its component without a log, the
        # housekeeper would fail every clean, the first ten minutes from now, and every alert would fail
        from newsflow.cleanup import disk_low_bytes

        rotation()
        metadata_retention_days()
        watch_seconds()
        disk_low = disk_low_bytes()
        alerts = alerts_said(alert_settings())
    except (ValueError, AlertError) as exc:
        raise ServiceError(str(exc)) from None
    data_dir = _data_dir()
    folder = data_dir / "service"
    logs = data_dir / "logs" / "service"
    logs.mkdir(parents=True, exist_ok=True)
    ensure_airflow()
    pids: dict[str, int] = {}
    writers: dict[str, int] = {}
    started: dict[str, float | None] = {}
    pgid = None
    live_url = None

    def start(name: str, cmd: list[str], env: dict[str, str]) -> None:
        nonlocal pgid
        # every component and its log writer in one new process group (the first one's): `down` signals the
        # group. Not a new session: a process may only join a group of its own session. Outside the terminal's
        # foreground group, Ctrl-C and a closed terminal leave the service running.
        writer = subprocess.Popen([sys.executable, "-m", "newsflow.service_logs", str(logs / f"{name}.log")],
                                  env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, cwd=project_root(), process_group=pgid or 0)
        pgid = pgid or writer.pid
        writers[name] = writer.pid
        started[str(writer.pid)] = _started_at(writer.pid)
        try:
            proc = subprocess.Popen(cmd, env=env, stdout=writer.stdin, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=project_root(), process_group=pgid)
        finally:
            writer.stdin.close()  # the component holds the pipe now: the writer stops when the component does
        pids[name] = proc.pid
        started[str(proc.pid)] = _started_at(proc.pid)

    try:
        if demo:
            live_port, last = site_port(LIVE_PORT, folder / "newsroom-ports.json", str(warehouse_path()))
            if last is not None and live_port != last:
                echo(f"note: port {last}, where this warehouse read the live newsroom before, is taken: serving it "
                     f"on {live_port}, the articles it still lists are stored again under that port (a URL's port "
                     "is part of its identity)")
            record_site_port(folder / "newsroom-ports.json", str(warehouse_path()), live_port)
            sources = sources_on_port(project_root() / LIVE_SOURCES, LIVE_PORT, live_port, folder)
            start("newsroom", [sys.executable, "-m", "newsflow.sample_site.server", "--live", "--port",
                               str(live_port)], airflow_env())
            live_url = f"http://127.0.0.1:{live_port}/live/"
        else:
            from newsflow.ingest_dag import deployment_sources_file

            sources = Path(sources_file).resolve() if sources_file else Path(deployment_sources_file())
        groups = load_sources(sources).schedule_groups()  # a broken file stops `up` here, with its message
        scheduled = {scheduled_dag_id(key) for key in groups}
        warehouse = str(warehouse_path())
        worker_log_port = free_port(WORKER_LOG_PORT)
        log_ports = (worker_log_port, free_port(TRIGGER_LOG_PORT, avoid={worker_log_port}))
        env = service_env(port, str(sources), data_dir, warehouse, log_ports)
        url = f"http://127.0.0.1:{port}"
        state = {"pgid": pgid, "pids": pids, "log_writers": writers, "url": url, "port": port,
                 "log_ports": list(log_ports), "sources_file": str(sources), "demo": demo,
                 "live_url": live_url, "warehouse": warehouse, "data_dir": str(data_dir),
                 "airflow_home": str(airflow_home()), "logs": str(logs), "started_at": time.time(),
                 "schedules": groups, "alerts": alerts, "alerts_on": alert_settings().webhook is not None,
                 "disk_low_bytes": disk_low, "started": started}
        folder.mkdir(parents=True, exist_ok=True)
        _home_claim().parent.mkdir(parents=True, exist_ok=True)
        _home_claim().write_text(json.dumps({"state_file": str(state_file())}))
        deadline = time.monotonic() + timeout
        for name in COMPONENTS:
            extra = ["--host", "127.0.0.1", "--port", str(port)] if name == "api-server" else []
            start(name, [*airflow_command(), name, *extra], env)
            state["pgid"] = pgid
            state_file().write_text(json.dumps(state, indent=1))
            if name == "api-server":
                _wait_until(lambda: answers(url), f"the api-server did not answer at {url} in time", deadline,
                            pids, logs)
                _fail_dead_runs_before_scheduling(url, scheduled, echo)
            elif name == "dag-processor":
                _wait_for_schedules(url, scheduled, state["started_at"], deadline, pids, logs)
        start("housekeeper", [sys.executable, "-m", "newsflow.housekeeper"], env)
        state_file().write_text(json.dumps(state, indent=1))
        _wait_for_dags(url, deadline, pids, logs)
    except BaseException:
        if pids or writers:
            _stop(pgid, [*pids.values(), *writers.values()])
        state_file().unlink(missing_ok=True)
        _release_home()
        raise
    state["password"] = password()
    echo(f"newsflow is up: {url}  (login: {USER} / {state['password'] or 'see the api-server log'}; "
         f"password file {airflow_home() / 'simple_auth_manager_passwords.json.generated'})")
    echo(f"  sources: {sources}; schedules: " + ("; ".join(f"{s}: {', '.join(n)}" for s, n in groups.items())
                                                   or "none (manual runs only)"))
    if live_url:
        echo(f"  live newsroom: {live_url}")
    echo(f"  warehouse: {shown_location(warehouse)}")
    echo(f"  alerts: {alerts}")
    echo(f"  logs: {logs} (tasks: {data_dir / 'logs' / 'airflow'}); stop with `make down` or `newsflow down`")
    return state


def _fail_dead_runs_before_scheduling(url: str, scheduled: set[str], echo) -> None:
    """Runs a killed `airflow dags test` or a crashed service left `running` would hold their pool slots until the
    scheduler's heartbeat timeout (5 min), and runs of schedules the sources file no longer has would never end.
    They are failed while no scheduler runs: on SQLite a scheduler evaluating the same run at that moment could
    read the run before the change and its tasks after it."""
    from newsflow.dead_runs import fail_unscheduled_runs

    try:
        client = Client.login(url, USER, password() or "")
    except (OSError, ValueError) as exc:
        echo(f"newsflow: could not log in to check for runs left running by dead processes ({exc})")
        return
    settings = alert_settings()  # checked by `up` already
    announce_runs(report_dead_runs(client, echo=echo), "left running by a dead process", settings, url, echo)
    try:
        failed = fail_unscheduled_runs(client, scheduled)
    except (OSError, ValueError, ServiceError) as exc:
        echo(f"newsflow: could not check for runs of schedules no longer in the sources file ({exc})")
        return
    for dag_id, run_id in failed:
        echo(f"newsflow: {dag_id} run {run_id} is of a schedule no longer in the sources file: marked failed")
    announce_runs(failed, "its schedule is no longer in the sources file", settings, url, echo)


def announce_runs(runs: list[tuple[str, str]], reason: str, settings, ui_url: str | None, echo) -> None:
    """Post runs failed through the REST API to the alert webhook: Airflow runs a DAG's failure callback only
    for a run its own scheduler fails, so these would go unsaid where every other failed run is posted."""
    if not settings.webhook:
        return
    for dag_id, run_id in runs:
        try:
            post(settings.webhook, run_message(dag_id, run_id, reason, None, ui_url), timeout=settings.timeout_s)
        except AlertError as exc:
            echo(f"newsflow: could not post the failed run {run_id} ({exc})")


def _wait_until(ready, what: str, deadline: float, pids: dict[str, int], logs: Path) -> None:
    """Poll `ready()` each second; a component that stops or the deadline passing ends `up` with the cause."""
    while not ready():
        dead = [name for name, pid in pids.items() if not _alive(pid)]
        if dead:
            raise ServiceError(f"{', '.join(dead)} stopped while starting; see {logs}/{dead[0]}.log")
        if time.monotonic() > deadline:
            raise ServiceError(f"{what}; see {logs}")
        time.sleep(1)


def _login_while_starting(url: str, logs: Path) -> Client:
    try:
        return Client.login(url, USER, password() or "")
    except (OSError, ValueError) as exc:
        raise ServiceError(f"cannot log in to the api-server at {url} as {USER}: {exc}; see {logs}") from None


def _wait_for_schedules(url: str, scheduled: set[str], since: float, deadline: float, pids: dict[str, int],
                        logs: Path) -> None:
    """Before the scheduler starts: the dag-processor has read the scheduled DAGs from this start's sources file,
    since this start (`since`). Else a scheduler started on the metadata of the last service would run, in its
    first minute, a schedule this file no longer has (on the old file's sources: after `up --demo`, the stopped
    newsroom)."""
    client = _login_while_starting(url, logs)

    def ready() -> bool:
        try:
            dags = client.scheduled_dags()
        except (OSError, ValueError, ServiceError):
            return False
        parsed = {d["dag_id"]: d.get("last_parsed_time") for d in dags}
        # a DAG the file no longer makes goes stale, out of this list, when its file is parsed again
        return set(parsed) == scheduled and all(
            when and _instant(when).timestamp() >= since - PARSE_CLOCK_SLACK_S for when in parsed.values())

    _wait_until(ready, "the dag-processor did not read the scheduled DAGs in time", deadline, pids, logs)


PARSE_CLOCK_SLACK_S = 5  # the api-server's clock is this machine's; a parse a moment before `since` is this start's


def _instant(iso: str):
    """A time the REST API gives (ISO 8601, `Z` for UTC) as an aware datetime."""
    from datetime import datetime

    return datetime.fromisoformat(iso)


def _wait_for_dags(url: str, deadline: float, pids: dict[str, int], logs: Path) -> None:
    """`up` returns once the scheduler reports healthy and the dag-processor has parsed news_ingest, so a
    `newsflow ingest` right after finds both."""
    client = _login_while_starting(url, logs)

    def ready() -> bool:
        try:
            client.get("/dags/news_ingest")
            health = _get(f"{url}/api/v2/monitor/health", timeout=5)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            return False
        except (OSError, ValueError):
            # a request timing out while the scheduler and dag-processor start on a busy machine: ask again;
            # _wait_until ends the wait at the deadline or when a component stops
            return False
        return (health.get("scheduler") or {}).get("status") == "healthy"

    _wait_until(ready, "the scheduler or the dag-processor did not come up in time", deadline, pids, logs)


def _tree(pids: list[int]) -> set[int]:
    """The pids and all their descendants (task processes, extraction workers, api-server workers)."""
    import psutil

    found = set()
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            found.add(pid)
            found.update(child.pid for child in proc.children(recursive=True))
        except psutil.NoSuchProcess:
            continue
    return found


def _group_members(pgid: int) -> set[int]:
    import psutil

    members = set()
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == pgid:
                members.add(proc.pid)
        except (ProcessLookupError, PermissionError):
            continue
    return members


def _stop(pgid: int | None, pids: list[int], timeout: float = 30.0) -> set[int]:
    """SIGTERM the group and every descendant, SIGKILL what is left after `timeout`; returns what survived."""
    targets = _tree(pids) | (_group_members(pgid) if pgid else set())
    if pgid:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in targets:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(targets)
        if not any(_alive(pid) for pid in targets):
            return set()
        time.sleep(0.3)
    for pid in targets:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(0.5)
    _reap(targets)
    return {pid for pid in targets if _alive(pid)}


def _reap(pids: set[int]) -> None:
    # components started by this very process (tests, `up` failing half-way) are our children: collect them
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def down(echo=print) -> bool:
    """Stop everything `up` started; False when nothing was running."""
    state = read_state()
    if not state:
        echo("newsflow is not up")
        return False
    if not is_running(state):
        # what is left of its process group, if anything; never a program that has one of its pids since
        _stop(_own_group(state), [])
        state_file().unlink(missing_ok=True)
        _release_home()
        echo("newsflow is not up (stale state file removed)")
        return False
    scheduler = state["pids"].get("scheduler")
    if scheduler and _ours(state, scheduler):
        # first: signalled, the scheduler leaves its loop and only waits for the tasks it runs (LocalExecutor.end),
        # so no run starts once those in progress are failed below; before, the next run of a schedule started
        # the moment its run in progress was failed (one active run per DAG), and was cut short and posted too
        os.kill(scheduler, signal.SIGTERM)
    client, stopped = _stop_runs_in_progress(state, echo)
    if client and scheduler:
        # the scheduler stopped before the rest, so that the runs this stop cuts short are checked once nothing
        # else writes their state, while the api-server still answers
        _stop(None, [scheduler] if _ours(state, scheduler) else [])
        _settle_stopped_runs(state, client, stopped, echo)
    mine = [pid for pid in [*state["pids"].values(), *state.get("log_writers", {}).values()] if _ours(state, pid)]
    left = _stop(_own_group(state), mine)
    if left:
        raise ServiceError(f"processes {sorted(left)} did not stop")
    taken = [port for port in (state["port"],) if not port_free(port)]
    state_file().unlink(missing_ok=True)
    _release_home()
    echo(f"newsflow is down (stopped {', '.join(state['pids'])})" + (f"; port {taken} still taken" if taken else ""))
    return True


def _stop_runs_in_progress(state: dict, echo) -> tuple[Client | None, list[tuple[str, str]]]:
    """Say which runs the stop cuts short, and mark them failed while the api-server answers; returns the client
    (None when the api-server does not answer) and those runs. Housekeeping, so a service that no longer answers
    is said, never raised: the next `up` fails such runs as left by dead processes."""
    from newsflow.dead_runs import stop_runs_in_progress

    api_server = state["pids"].get("api-server")
    if not api_server or not _ours(state, api_server):
        # said, as when it does not answer: an operator stopping a service whose api-server died (the OOM killer)
        # heard nothing of the runs it cuts short
        echo("newsflow: the api-server has stopped: runs in progress cannot be checked; the next `up` marks any "
             "left running failed")
        return None, []
    try:
        client = Client.for_service(state)
        stopped, queued = stop_runs_in_progress(client)
    except (OSError, ValueError, ServiceError) as exc:
        echo(f"newsflow: could not check for runs in progress ({exc}); the next `up` marks any left running failed")
        return None, []
    for dag_id, run_id in stopped:
        echo(f"newsflow: {dag_id} run {run_id} was running: stopped and marked failed")
    announce_runs(stopped, "stopped by `newsflow down`", service_alert_settings(state), state.get("url"), echo)
    for dag_id, run_id in queued:
        echo(f"newsflow: {dag_id} run {run_id} is queued: it starts when the service is up again")
    if stopped:
        try:
            _wait_for_tasks_to_end(client, stopped, [pid for pid in state["pids"].values() if _ours(state, pid)])
        except (OSError, ValueError, ServiceError):
            pass  # the stop below ends them anyway, by force if it must
    return client, stopped


def _settle_stopped_runs(state: dict, client: Client, stopped: list[tuple[str, str]], echo) -> None:
    """With the scheduler stopped: mark failed again a cut run the scheduler wrote back to unfinished, and fail
    a run it started meanwhile (newsflow.dead_runs.settle_stopped_runs says why)."""
    from newsflow.dead_runs import settle_stopped_runs

    try:
        again, newly = settle_stopped_runs(client, stopped)
    except (OSError, ValueError, ServiceError) as exc:
        echo(f"newsflow: could not check the stopped runs once the scheduler had stopped ({exc})")
        return
    for dag_id, run_id in again:
        echo(f"newsflow: {dag_id} run {run_id} was unfinished again once the scheduler had stopped: marked failed")
    for dag_id, run_id in newly:
        echo(f"newsflow: {dag_id} run {run_id} started while the service was stopping: stopped and marked failed")
    announce_runs(newly, "stopped by `newsflow down`", service_alert_settings(state), state.get("url"), echo)


def service_environ(state: dict) -> dict[str, str] | None:
    """The environment the running service's components were started with, which the shell running `down` or
    `status` need not have: read from a log writer `up` started with it (Airflow's own processes rewrite their title
    over theirs: an api-server's /proc environ reads empty). None when none can be read."""
    import psutil

    for pid in state.get("log_writers", {}).values():
        try:
            environ = psutil.Process(pid).environ()
        except psutil.Error:
            continue
        if "AIRFLOW__CORE__DAGS_FOLDER" in environ:  # airflow_env's, as every component has it
            return environ
    return None


def service_alert_settings(state: dict):
    """The alert settings the running service was started with (service_environ); this shell's own when none can
    be read."""
    environ = service_environ(state)
    if environ is not None:
        try:
            return alert_settings(environ)
        except AlertError:
            pass
    try:
        return alert_settings()
    except AlertError:
        return AlertSettings(None)


def _wait_for_tasks_to_end(client: Client, runs: list[tuple[str, str]], pids: list[int], timeout: float = 20.0) -> None:
    """The task processes of runs just marked failed end once their next heartbeat learns it (~10 s), but only
    while the api-server answers it: stopped together with it, a task fetching a slow page outlived SIGTERM and
    was killed after 30 s. Waited for here, by its process title (`airflow worker -- <task instance id>`)."""
    from urllib.parse import quote

    import psutil

    ids = {ti["id"] for dag_id, run_id in runs
           for ti in client.get(f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances?limit=1000")
           .get("task_instances", []) if ti.get("id")}
    deadline = time.monotonic() + timeout
    while ids and time.monotonic() < deadline:
        titles = []
        for pid in _tree(pids):
            try:
                titles.append(" ".join(psutil.Process(pid).cmdline()))
            except psutil.Error:
                continue
        if not any(ti_id in title for ti_id in ids for title in titles):
            return
        time.sleep(0.5)


class Client:
    """Airflow's REST API (stdlib only): the running service's, or any api-server given its URL and a token."""

    def __init__(self, url: str, token: str):
        self.url, self.token = url.rstrip("/"), token

    @classmethod
    def login(cls, url: str, username: str | None = None, secret: str | None = None, *, timeout: float = 30,
              tries: int = 3) -> Client:
        """A JWT from /auth/token: with a user and password (simple auth manager), or none when all are admins."""
        body = json.dumps({"username": username, "password": secret}).encode() if username else None
        request = urllib.request.Request(f"{url.rstrip('/')}/auth/token", data=body,
                                         headers={"Content-Type": "application/json"})
        # 30 s: a just-started api-server on a busy two-core machine took over 10 s to answer its first login, and
        # under a load average of 25 once over 30 s: asked again (a login changes nothing), not failed at once
        attempt = 1
        while True:
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    return cls(url, json.loads(response.read())["access_token"])
            except TimeoutError:
                if attempt >= tries:
                    raise
                attempt += 1
                print(f"newsflow: {url} gave no login within {timeout:.0f} s; asking again", file=sys.stderr)

    @classmethod
    def for_service(cls, state: dict) -> Client:
        secret = password(state.get("airflow_home"))
        if not secret:
            raise ServiceError(f"no password for {USER} in {state.get('airflow_home') or airflow_home()}")
        return cls.login(state["url"], USER, secret)

    def get(self, path: str) -> dict:
        return self.call("GET", path)

    def patch(self, path: str, body: dict) -> dict:
        return self.call("PATCH", path, body)

    def post(self, path: str, body: dict) -> dict:
        return self.call("POST", path, body)

    def call(self, method: str, path: str, body: dict | None = None, tries: int = 4) -> dict:
        """One API call. On SQLite (the local service) a write that meets the scheduler's or dag-processor's lock
        is answered 500 "Database error" after its transaction rolled back: tried again, up to `tries` times."""
        for attempt in range(1, tries + 1):
            request = urllib.request.Request(
                f"{self.url}/api/v2{path}", method=method,
                data=json.dumps(body).encode() if body is not None else None,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode("utf-8", "replace")
                if exc.code == 404 and method == "GET":
                    raise
                if exc.code >= 500 and "Database error" in detail and attempt < tries:
                    time.sleep(2 * attempt)
                    continue
                raise ServiceError(f"Airflow refused {method} {path}: HTTP {exc.code} {detail}") from None
        raise AssertionError("unreachable")

    def trigger(self, dag_id: str, conf: dict, logical_date: str | None = None) -> dict:
        """A run of `dag_id`; with `logical_date` (a backfill), a finished run of that date is replaced, as
        `airflow dags test` replaces it (Airflow keeps one run per DAG and logical date); a running one is refused."""
        if logical_date:
            from urllib.parse import quote

            day = quote(logical_date, safe="")
            for run in self.get(f"/dags/{dag_id}/dagRuns?logical_date_gte={day}&logical_date_lte={day}")["dag_runs"]:
                if run["state"] not in ("success", "failed"):
                    raise ServiceError(f"{dag_id} run {run['dag_run_id']} for {logical_date} is {run['state']}: "
                                       "wait for it to end (`newsflow status`)")
                self.call("DELETE", f"/dags/{dag_id}/dagRuns/{quote(run['dag_run_id'], safe='')}")
        return self.post(f"/dags/{dag_id}/dagRuns", {"logical_date": logical_date, "conf": conf})

    def wait(self, dag_id: str, run_id: str, echo=print, poll_s: float = 2.0, timeout: float = 7200) -> str:
        """Poll the run, printing each task's state changes; returns the run's final state."""
        from urllib.parse import quote

        seen: dict[str, str] = {}
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            run = self.get(f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")
            # the run's own state too: a run waits queued behind another of its DAG (one at a time), and its first
            # task's line came a minute later, after silence
            if seen.get("") != run["state"] and run["state"] not in ("success", "failed"):
                echo(f"  {time.monotonic() - started:6.1f}s  run: {run['state']}")
                seen[""] = run["state"]
            tasks = self.get(f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances?limit=1000")
            for ti in sorted(tasks["task_instances"], key=lambda t: (t.get("start_date") or "~", t["task_id"])):
                index = ti.get("map_index", -1)
                label = ti["task_id"] + (f"[{ti.get('rendered_map_index') or index}]" if index not in (-1, None) else "")
                state = ti.get("state") or "none"
                if seen.get(label) != state and state not in ("none", "scheduled", "queued"):
                    echo(f"  {time.monotonic() - started:6.1f}s  {label}: {state}")
                    seen[label] = state
            if run["state"] in ("success", "failed"):
                return run["state"]
            time.sleep(poll_s)
        raise ServiceError(f"{dag_id} run {run_id} did not finish within {timeout:.0f}s")

    def scheduled_dags(self) -> list[dict]:
        """The DAGs dags/news_scheduled.py makes from the sources file (not another DAG tagged `scheduled`)."""
        dags = self.get("/dags?tags=scheduled&limit=1000")["dags"]
        return [d for d in dags if Path(d.get("relative_fileloc") or d.get("fileloc") or "").name == SCHEDULED_FILE]

    def last_runs(self, per_dag: int = 3) -> dict[str, list[dict]]:
        """The latest `per_dag` runs of every DAG that has any (and of a retired schedule's DAG with a run in
        progress), asked DAG by DAG: the REST API answers 100 runs at most ([api] maximum_page_limit), and one list
        of the latest runs of all held only the every-minute schedule's and its quality runs after an hour or two."""
        from urllib.parse import quote

        dag_ids, offset = set(), 0
        while True:
            page = self.get(f"/dags?order_by=dag_id&limit=100&offset={offset}")
            dag_ids.update(dag["dag_id"] for dag in page["dags"])
            offset += len(page["dags"])
            if not page["dags"] or offset >= page["total_entries"]:
                break
        dag_ids.update(run["dag_id"] for run in
                       self.get("/dags/~/dagRuns?state=queued&state=running&limit=100")["dag_runs"])
        out: dict[str, list[dict]] = {}
        for dag_id in sorted(dag_ids):
            runs = self.get(f"/dags/{quote(dag_id, safe='')}/dagRuns?order_by=-run_after&limit={per_dag}")["dag_runs"]
            if runs:
                out[dag_id] = runs
        return out


def report_dead_runs(client: Client, echo=print) -> list[tuple[str, str]]:
    """fail_dead_runs, each one said in a line; housekeeping, so an API error is said, never raised."""
    from newsflow.dead_runs import fail_dead_runs

    try:
        failed = fail_dead_runs(client)
    except (OSError, ValueError, ServiceError) as exc:
        echo(f"newsflow: could not check for runs left running by dead processes ({exc})")
        return []
    for dag_id, run_id in failed:
        echo(f"newsflow: {dag_id} run {run_id} was left running by a dead process: marked failed")
    return failed


def status(echo=print) -> int:
    """What runs (pids, URL), the schedules and their next runs, DAG files Airflow cannot import, the last runs
    per DAG and what is kept on disk; 0 when up and well, 1 when up with a component stopped or silent (running
    without a heartbeat for SILENT_AFTER_S), a REST API that does not answer or a DAG file Airflow cannot import, 3
    when not up."""
    from newsflow.config import shown_location

    state = read_state()
    if not state or not is_running(state):
        echo("newsflow is not up" + (" (stale state file removed)" if state else ""))
        if state:
            state_file().unlink(missing_ok=True)
            _release_home()
        _echo_footprint(echo)
        return 3
    echo(f"newsflow is up at {state['url']}  (login {USER} / {password(state.get('airflow_home'))})")
    # nothing restarts a component that died (a kill, the OOM killer): without the scheduler no run starts, and a
    # triggered one waits queued; said first, and in the exit status, for a monitor that reads only that
    stopped = stopped_components(state)
    if stopped:
        echo(f"  STOPPED: {', '.join(stopped)}; nothing restarts {'it' if len(stopped) == 1 else 'them'}: "
             f"`newsflow down`, then `newsflow up`")
    for name, pid in state["pids"].items():
        said = last_said(Path(state["logs"]) / "housekeeper.log") if name == "housekeeper" else None
        line = f"  {name:<14} pid {pid:<8} {'running' if _ours(state, pid) else 'STOPPED'}"
        echo(line + (f"  last: {said}" if said else ""))
    echo(f"  sources: {state['sources_file']}")
    if state.get("live_url"):
        echo(f"  live newsroom: {state['live_url']}")
    echo(f"  warehouse: {shown_location(state['warehouse'])}")
    if state.get("alerts"):
        echo(f"  alerts: {state['alerts']}")
    silent: dict[str, float] = {}
    lake = None
    try:
        try:
            client = Client.for_service(state)
            runs = client.last_runs()
            scheduled = client.scheduled_dags()
            errors = client.get("/importErrors?limit=100")["import_errors"]
            running = [name for name in state["pids"] if name not in stopped]
            silent = silent_components(_get(f"{state['url']}/api/v2/monitor/health", timeout=5), running)
        except (OSError, ValueError, ServiceError) as exc:
            echo(f"  NOT ANSWERING: the REST API ({exc})")
            errors = None
        else:
            for name, age in silent.items():
                echo(f"  NOT WORKING: the {name} runs but has not beaten for {age / 60:.0f} min (hung, or stopped "
                     "with SIGSTOP): `newsflow down`, then `newsflow up`")
            _echo_schedules(state, scheduled, errors, echo)
            # one connection for the runs' verdicts and the quality line: opening the lake is most of their cost
            lake = lake_reader(state["warehouse"])
            _echo_last_runs(runs, scheduled, errors, echo, verdicts=run_verdicts(lake, runs))
        # read from the lake and the folders, not the REST API: said when it does not answer too (a full disk)
        _echo_quality(state["warehouse"], echo, alerts_on=state.get("alerts_on", True), con=lake)
    finally:
        if lake is not None:
            lake.close()
    low = _echo_footprint(echo, state)
    # a DAG file that does not import runs nothing (a broken sources file takes every schedule away)
    return 1 if stopped or silent or errors is None or errors or low else 0


def _echo_last_runs(runs: dict[str, list[dict]], scheduled: list[dict], errors: list[dict], echo,
                    verdicts: dict[tuple[str, str], tuple[str, list[str]]] | None = None) -> None:
    """The last runs per DAG. A run in progress of a schedule the sources file no longer has can never finish
    (every start of its tasks ends in "Dag not found" and a reschedule), and would resume if the schedule came
    back: said so, with what ends it, instead of a plain `running`. A finished run the warehouse did not record
    `succeeded` (`verdicts`, from run_verdicts) is said with its status there and its failed sources: a `partial`
    run, a source lost, is a plain `success` to Airflow."""
    from newsflow.dead_runs import SCHEDULED_PREFIX

    defined = {dag["dag_id"] for dag in scheduled}
    file_broken = any(Path(e.get("filename") or "").name == SCHEDULED_FILE for e in errors)
    echo("last runs:")
    listed = [(dag_id, run) for dag_id, items in sorted(runs.items()) for run in items]
    # columns as wide as their longest value: `asset_triggered` and a long schedule's DAG id pushed the rest right
    dag_w, state_w, type_w, after_w = (max([width, *(len(str(cell or "")) for cell in cells)]) for width, cells in (
        (28, [dag_id for dag_id, _ in listed]), (8, [run["state"] for _, run in listed]),
        (10, [run["run_type"] for _, run in listed]), (20, [run.get("run_after") for _, run in listed])))
    for dag_id, run in listed:
        note = ""
        if run["state"] in ("running", "queued") and dag_id.startswith(SCHEDULED_PREFIX) and dag_id not in defined:
            note = ("  (waits: the file that makes its DAG does not import)" if file_broken else
                    "  (its schedule is no longer in the sources file: it cannot finish; the housekeeper fails "
                    "it at its second look, two minutes by default)")
        elif (verdict := (verdicts or {}).get((dag_id, run["dag_run_id"]))) and run["state"] not in ("running",
                                                                                                    "queued"):
            status, failed = verdict
            note = f"  (warehouse: {status}" + (f"; failed: {', '.join(failed)})" if failed else ")")
        echo(f"  {dag_id:<{dag_w}} {run['state']:<{state_w}} {run['run_type']:<{type_w}} "
             f"{run.get('run_after') or '':<{after_w}}  {run['dag_run_id']}{note}")


# `status` waits this long at most for a catalog a load holds: the verdicts are a note, the rest is what it is for
VERDICTS_WAIT_S = 2.0


def lake_reader(warehouse: str):
    """A read-only connection to the lake for `status`, None when there is none yet or it cannot be opened now
    (busy past VERDICTS_WAIT_S, being made or upgraded, damaged): the quality line then opens its own and says
    why it could not."""
    from newsflow.warehouse import connect, exists

    try:
        return connect(warehouse, read_only=True, wait_s=VERDICTS_WAIT_S) if exists(warehouse) else None
    except Exception:  # noqa: BLE001 - a status line, never a failed status
        return None


def run_verdicts(con, runs: dict[str, list[dict]]) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """(dag_id, run_id) -> (status, failed sources) of the listed `runs` the lake `con` reads did not record
    `succeeded` (sql/status/run_verdicts.sql); empty without a lake or when it cannot be read now: `status` then
    lists Airflow's states alone."""
    from newsflow.config import sql_dir

    pairs = [(dag_id, run["dag_run_id"]) for dag_id, items in runs.items() for run in items]
    if con is None or not pairs:
        return {}
    try:
        rows = con.execute((sql_dir() / "status" / "run_verdicts.sql").read_text(encoding="utf-8"),
                           {"dag_ids": [d for d, _ in pairs], "run_ids": [r for _, r in pairs]}).fetchall()
    except Exception:  # noqa: BLE001 - a note on the list, never a failed status
        return {}
    return {(dag_id, run_id): (status, list(failed)) for dag_id, run_id, status, failed in rows}


def stopped_components(state: dict) -> list[str]:
    """The service's components that are no longer running (the service is up while any one is)."""
    return [name for name, pid in state["pids"].items() if not _ours(state, pid)]


# Airflow calls a component unhealthy 30 s after its last heartbeat, which a busy two-core machine reaches now and
# then; two minutes without one is a process that runs but does no work (stopped with SIGSTOP, hung on a lock)
SILENT_AFTER_S = 120
_HEARTBEATS = {"scheduler": "latest_scheduler_heartbeat", "triggerer": "latest_triggerer_heartbeat",
               "dag-processor": "latest_dag_processor_heartbeat"}


def silent_components(health: dict, running: list[str], now: float | None = None) -> dict[str, float]:
    """Of the `running` components, those whose latest heartbeat in Airflow's health answer (`/monitor/health`)
    is older than SILENT_AFTER_S: name -> seconds since it. A process alive is not a process at work, and only the
    heartbeat tells: a scheduler stopped this way starts no run while `ps` shows it."""
    from datetime import UTC, datetime

    now = time.time() if now is None else now
    out = {}
    for name, key in _HEARTBEATS.items():
        beat = (health.get(name.replace("-", "_")) or {}).get(key)
        if name not in running or not beat:
            continue
        try:
            at = datetime.fromisoformat(beat.replace("Z", "+00:00"))
            age = now - (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()  # the metadata DB keeps UTC
        except ValueError:
            continue
        if age > SILENT_AFTER_S:
            out[name] = age
    return out


def _echo_quality(warehouse: str, echo, shown: int = 5, alerts_on: bool = True, con=None) -> None:
    """What the latest quality run says of the warehouse and which alerts stand: a news_quality run is `success`
    whatever its checks found, so without a webhook nothing an operator reads said that checks fail. `con`: a
    read-only connection to it the caller opened and closes (lake_reader), else one is opened here."""
    from newsflow.warehouse import connect, exists

    if con is None and not exists(warehouse):
        echo("quality: no quality run yet (no load has made the warehouse)")
        return
    own = con is None
    try:
        con = connect(warehouse, read_only=True) if own else con
        try:
            latest = con.execute(
                "select run_id, max(checked_at), count(*) filter (where status = 'fail'), "
                "count(*) filter (where status = 'warn'), count(*) filter (where status = 'pass') from quality_checks "
                "where run_id = (select run_id from quality_checks order by checked_at desc limit 1) group by run_id"
            ).fetchone()
            failing = [] if latest is None else [name for (name,) in con.execute(
                "select check_name || ' [' || source || ']' from quality_checks where run_id = ? and status = 'fail' "
                "order by 1", [latest[0]]).fetchall()]
            standing = con.execute("select count(*) from open_alerts()").fetchone()[0]
        finally:
            if own:
                con.close()
    except Exception as exc:  # noqa: BLE001 - a status line, never a failed status: no lake yet, one being upgraded
        # whole words: a first load making the lake meanwhile gave DuckLake's error, which was cut mid-word
        echo(f"quality: not read ({textwrap.shorten(str(exc), 160, placeholder=' …')})")
        return
    if latest is None:
        echo("quality: no quality run yet")
        return
    run_id, at, fail, warn, passed = latest
    # without a webhook nothing is posted, so none stands: "0 alert(s) standing" read as "all clear"
    alerts = f"{standing} alert(s) standing (open_alerts())" if alerts_on else "alerts off: none posted"
    echo(f"quality: run {run_id} at {at:%Y-%m-%d %H:%M %Z}: {fail} fail, {warn} warn, {passed} pass; {alerts}")
    for name in failing[:shown]:
        echo(f"  fail  {name}")
    if len(failing) > shown:
        echo(f"  … and {len(failing) - shown} more (the dashboard, or newsflow sql)")


def _echo_schedules(state: dict, dags: list[dict], errors: list[dict], echo) -> None:
    """Each scheduled DAG with its schedule (in its zone: Airflow's own summary leaves the zone out) and its next
    run, or PAUSED; then every DAG file Airflow cannot import, with its exception's message (an edit of the
    sources file that broke it takes the scheduled DAGs away until it is mended)."""
    from zoneinfo import ZoneInfo

    from newsflow.config import UTC_ZONE, scheduled_dag_id, split_zone

    keys = {scheduled_dag_id(key): key for key in state.get("schedules") or {}}
    echo("schedules:")
    if not dags:
        echo("  none: " + ("the file that makes them does not import (below)" if errors
                           else "no source of the sources file has a schedule"))
    for dag in sorted(dags, key=lambda d: d["dag_id"]):
        schedule = keys.get(dag["dag_id"]) or dag.get("timetable_summary") or ""
        after = dag.get("next_dagrun_run_after")
        when = "PAUSED" if dag.get("is_paused") else f"next run {after or 'not planned yet'}"
        zone = split_zone(schedule)[1]
        if after and zone != UTC_ZONE and not dag.get("is_paused"):
            # the newsroom's own clock beside UTC: a 06:00 run shows as 06:00
            local = _instant(after).astimezone(ZoneInfo(zone))
            when += f" ({local:%Y-%m-%d %H:%M} {zone})"
        echo(f"  {dag['dag_id']:<40} {schedule:<32} {when}")
    for error in errors:
        message = exception_message(error.get("stack_trace") or "")
        echo(f"  IMPORT ERROR {error.get('filename')}: {message[0] if message else 'no message'}")
        for line in message[1:IMPORT_ERROR_LINES]:
            echo(f"    {line}")


IMPORT_ERROR_LINES = 8  # a YAML error quotes the lines around the mistake; a long traceback stays in the UI


def exception_message(trace: str) -> list[str]:
    """The exception's own lines at the end of a Python traceback (`Error: message` and the message's next lines),
    without the module path of its class: what Airflow's import error says after the frames."""
    lines = trace.rstrip().splitlines()
    start = max((i for i, line in enumerate(lines) if re.match(r"[A-Za-z_][\w.]*: ", line)), default=None)
    if start is None:
        return lines[-1:]
    return [re.sub(r"^(?:\w+\.)+(?=\w+: )", "", lines[start]), *lines[start + 1:]]


# how long each thing is kept, and where a Postgres lake's data files are: read by the service's processes
# (news_maintenance's tasks, the housekeeper, the log writers), so `status` says the values the service was started
# with, not those of the shell it runs in
KEPT_SETTINGS = ("NEWSFLOW_LOG_RETENTION_DAYS", "NEWSFLOW_METADATA_RETENTION_DAYS", "NEWSFLOW_SERVICE_LOG_MB",
                 "NEWSFLOW_SERVICE_LOG_FILES", "NEWSFLOW_SNAPSHOT_RETENTION_DAYS", "NEWSFLOW_QUALITY_RETENTION_DAYS",
                 "NEWSFLOW_LAKE_DATA")


@contextmanager
def _kept_settings_of(environ: dict[str, str] | None):
    """KEPT_SETTINGS as `environ` has them while the block runs (unchanged when None)."""
    saved = {name: os.environ.get(name) for name in KEPT_SETTINGS}
    try:
        for name in KEPT_SETTINGS if environ is not None else ():
            if name in environ:
                os.environ[name] = environ[name]
            else:
                os.environ.pop(name, None)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _echo_footprint(echo, state: dict | None = None) -> bool:
    """What the service keeps on disk and who clears it (newsflow.cleanup.footprint): the running service's data
    dir, lake and Airflow home when it is up (the shell's settings named another lake: `up` with NEWSFLOW_WAREHOUSE
    set, `status` from a shell without it), else what this shell's settings name; then their disks' free space.
    True when a disk has less free than the limit."""
    from newsflow.cleanup import footprint, human_bytes
    from newsflow.config import data_dir, warehouse_location

    state = state or {}
    folder = Path(state["data_dir"]) if state.get("data_dir") else data_dir()
    lake = state.get("warehouse") or warehouse_location()
    home = Path(state["airflow_home"]) if state.get("airflow_home") else airflow_home()
    echo(f"on disk (data dir {folder}):")
    with _kept_settings_of(service_environ(state) if state else None):
        rows = footprint(folder, lake, home)
        for what, path, size, files, kept in rows:
            echo(f"  {what:<20} {human_bytes(size):>9} {files:>8,} files  {path}: {kept}")
        return _echo_free_space(echo, folder, lake, home, state.get("disk_low_bytes"))


def _echo_free_space(echo, folder: Path, lake: str, home: Path, low: int | None) -> bool:
    """The free space of each disk newsflow writes (cleanup.free_space), against the limit the running service
    was started with (else this shell's NEWSFLOW_DISK_LOW_GB); True when one is under it."""
    from newsflow.cleanup import DISK_LOW_VAR, disk_low_bytes, free_space, human_bytes

    if low is None:
        try:
            low = disk_low_bytes()
        except ValueError as exc:  # status is where an operator looks: a malformed setting is said, never raised
            echo(f"  free space not judged: {exc}")
            low = 0
    under = False
    for what, path, free, total in free_space(folder, lake, home):
        line = f"  free {human_bytes(free):>9} of {human_bytes(total)}  on the disk of the {what} ({path})"
        if free < low:
            under = True
            line += (f"  LOW: under {DISK_LOW_VAR}={low / 1024**3:g}; loads, fetches and Airflow fail when it "
                     "fills (README, Disk space)")
        echo(line)
    return under
