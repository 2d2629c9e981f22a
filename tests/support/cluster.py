"""A real multi-worker newsflow deployment on loopback for the scale-out test: PostgreSQL and Redis from Debian's
packages and Airflow with the CeleryExecutor, every process in its own process group and always stopped.

The layout mirrors docker-compose.yaml (same variable names): one Postgres holds the Airflow metadata DB and the
lake catalog DB, Redis is the Celery broker, and each worker has its own working folder and host name.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_DB = "airflow"
LAKE_DB = "lake"
POOL = "duckdb_write"


class ClusterError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bindir() -> Path | None:
    """Debian keeps initdb/pg_ctl in /usr/lib/postgresql/<major>/bin, off PATH; PATH wins when it has them."""
    found = shutil.which("pg_ctl")
    if found and Path(found).resolve().with_name("initdb").exists():
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(candidates[-1]).parent if candidates else None


def missing_services() -> str | None:
    """Why the scale-out deployment cannot start here, or None when it can."""
    problems = []
    if postgres_bindir() is None:
        problems.append("PostgreSQL server binaries (apt-get install postgresql)")
    if shutil.which("redis-server") is None:
        problems.append("redis-server (apt-get install redis-server)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            problems.append("a 'postgres' user to run PostgreSQL as (initdb refuses root)")
    for module in ("psycopg2", "asyncpg", "redis", "airflow.providers.celery"):
        try:
            __import__(module)
        except ImportError:
            problems.append(f"Python module {module} (uv sync --extra celery)")
    return "missing " + ", ".join(problems) if problems else None


def wait_for(what: str, ready, timeout: float, *, every: float = 0.5, alive=None):
    """Poll ready() until it returns something truthy; alive() may raise to stop early (a process died)."""
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None:
            alive()
        result = ready()
        if result:
            return result
        if time.monotonic() > deadline:
            raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


class Processes:
    """Long-running processes, each leading its own process group, with a log file each."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.running: dict[str, subprocess.Popen] = {}
        self.groups: set[int] = set()

    def start(self, name: str, cmd: list[str], *, env: dict[str, str], cwd: Path) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed once the process has been reaped
        try:
            proc = subprocess.Popen(
                cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()  # the child holds its own descriptor
        self.running[name] = proc
        self.groups.add(proc.pid)
        return proc

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def check_alive(self) -> None:
        for name, proc in self.running.items():
            if proc.poll() is not None:
                raise ClusterError(f"{name} exited with {proc.returncode}:\n{tail(self.log(name))}")

    def stop(self, name: str, timeout: float = 30.0) -> None:
        proc = self.running.pop(name)
        # the whole group: api-server workers, celery pool processes, task supervisors
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        # anything left in the group (the leader included) is killed, so no stray process keeps a port
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for name in reversed(list(self.running)):
            self.stop(name)


def leftovers(groups: set[int]) -> list[str]:
    """Live (non-zombie) processes still in any of these process groups, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: the fields after the last ')' are fixed
        name = text[text.index("(") + 1 : text.rindex(")")]
        state, _ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        if int(pgrp) in groups and state != "Z":
            found.append(f"{stat.parent.name} {name}")
    return found


def bound_ports(ports: list[int]) -> list[int]:
    """Those of the ports something still listens on (a port in TIME_WAIT counts as free, as for a server)."""
    busy = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                busy.append(port)
    return busy


class Postgres:
    """A throwaway PostgreSQL cluster from Debian's packages: initdb -A trust + pg_ctl on a free loopback port.

    initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` user in a folder it owns.
    """

    def __init__(self) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            raise ClusterError("PostgreSQL server binaries not found")
        self.bindir = bindir
        self.port = free_port()
        self.user = "postgres"
        self.folder = Path(tempfile.mkdtemp(prefix="newsflow-pg-"))
        self.data = self.folder / "data"
        self.logfile = self.folder / "postgres.log"
        self._as_user: dict = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            self._as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        self.started = False
        self.postmaster_pid: int | None = None

    def _run(self, *args: str, timeout: float = 120) -> None:
        result = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]], cwd=self.folder, capture_output=True, text=True,
            timeout=timeout, env={**os.environ, "LC_ALL": "C.UTF-8"}, **self._as_user,
        )
        if result.returncode != 0:
            raise ClusterError(f"{' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout}{result.stderr}")

    def start(self) -> Postgres:
        self._run("initdb", "-A", "trust", "-U", self.user, "-E", "UTF8", "--no-sync", "-D", str(self.data))
        # a disposable cluster: durability settings off, loopback TCP only, the socket inside our own folder
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self.started = True
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.logfile), "-o", options)
        # pg_ctl starts the postmaster in a session of its own: its pid is the group of every backend
        self.postmaster_pid = int((self.data / "postmaster.pid").read_text().split()[0])
        # the lake's catalog database is created the way a deployment creates it (newsflow.warehouse_init)
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, AIRFLOW_DB)
        return self

    def stop(self) -> None:
        if self.started:
            try:
                self._run("pg_ctl", "stop", "-w", "-t", "30", "-m", "fast", "-D", str(self.data))
            except (ClusterError, subprocess.TimeoutExpired):
                self._kill_postmaster()
            self.started = False
        shutil.rmtree(self.folder, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        if self.postmaster_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.postmaster_pid, signal.SIGKILL)

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return name

    def sqlalchemy_url(self, db: str) -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{db}"

    def libpq(self, db: str) -> str:
        """The key=value form DuckDB's postgres/ducklake extensions and psycopg2 take."""
        return f"dbname={db} host=127.0.0.1 port={self.port} user={self.user}"

    def psql(self, db: str, sql: str) -> None:
        """One statement through the cluster's own psql: `make test`'s venv has no psycopg2 (the celery extra's)."""
        self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", db, "-v",
                  "ON_ERROR_STOP=1", "-c", sql)

    def query(self, db: str, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg2

        with contextlib.closing(psycopg2.connect(self.libpq(db))) as con, con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()


class Redis:
    """redis-server on a free loopback port, no persistence, in its own process group."""

    def __init__(self, processes: Processes, folder: Path) -> None:
        self.processes = processes
        self.folder = folder
        self.port = free_port()

    def start(self) -> Redis:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.processes.start(
            "redis",
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--daemonize", "no", "--protected-mode", "yes"],
            env=dict(os.environ), cwd=self.folder,
        )
        wait_for(f"redis on port {self.port}", self.ping, 30, every=0.1, alive=self.processes.check_alive)
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def airflow_environment(home: Path, metadata_url: str, broker_url: str, api_port: int, concurrency: int) -> dict:
    """Airflow's settings for every component: the names and values docker-compose.yaml sets, on loopback."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url.replace("+psycopg2", ""),
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
        # a worker holds no more tasks than it runs, so a second idle worker gets the rest
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__CELERY__TASK_ACKS_LATE": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__CORE__FERNET_KEY": "",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        # both workers share this machine's name: each reports NEWSFLOW_WORKER_HOSTNAME instead
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "newsflow.worker_host.hostname",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "GX_ANALYTICS_ENABLED": "False",
        "NO_PROXY": "*",
        "no_proxy": "*",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "plugins"), os.environ.get("PYTHONPATH", "")) if p),
        "PATH": os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", ""))),
    }


def warehouse_env(kind: str, data: Path, catalog_dsn: str) -> dict[str, str]:
    """newsflow's settings for every component, the names docker-compose.yaml uses.

    kind "postgres": the lake's catalog in Postgres (`catalog_dsn`, libpq key=value) and its data files in a
    folder every worker sees, as in docker-compose.yaml. kind "file": a lake in a folder under the shared data
    folder (SQLite catalog), which works only while every worker is on this one machine.
    """
    if kind == "file":
        return {"NEWSFLOW_DATA_DIR": str(data), "NEWSFLOW_WAREHOUSE": str(data / "warehouse")}
    if kind == "postgres":
        return {
            "NEWSFLOW_DATA_DIR": str(data),
            "NEWSFLOW_WAREHOUSE": "postgres:" + catalog_dsn,
            "NEWSFLOW_LAKE_DATA": str(data / "lake"),
        }
    raise ValueError(f"NEWSFLOW_SCALEOUT_WAREHOUSE={kind!r}: expected 'file' or 'postgres'")


class AirflowCluster:
    """api-server, scheduler, dag-processor and Celery workers with the CeleryExecutor on loopback."""

    def __init__(self, processes: Processes, home: Path, postgres: Postgres, redis: Redis,
                 newsflow_env: dict[str, str], workers: tuple[str, ...] = ("worker-a", "worker-b"),
                 concurrency: int = 2) -> None:
        self.processes = processes
        self.home = home
        self.postgres = postgres
        self.redis = redis
        self.workers = workers
        self.concurrency = concurrency
        self.api_port = free_port()
        self.log_ports = {name: free_port() for name in workers}
        self.env = {
            **os.environ,
            **airflow_environment(home, postgres.sqlalchemy_url(AIRFLOW_DB), redis.url, self.api_port, concurrency),
            **newsflow_env,
        }
        self.env.pop("NEWSFLOW_WORKER_HOSTNAME", None)

    def airflow(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [str(Path(sys.executable).with_name("airflow")), *args], env=self.env, cwd=self.home,
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise ClusterError(f"airflow {' '.join(args)} failed ({result.returncode}):\n"
                               f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
        return result.stdout

    def start(self) -> AirflowCluster:
        self.home.mkdir(parents=True, exist_ok=True)
        self.airflow("db", "migrate")
        self.airflow("pools", "set", POOL, "1", "one warehouse writer at a time, cluster-wide")
        airflow_bin = str(Path(sys.executable).with_name("airflow"))
        self.processes.start("api-server", [airflow_bin, "api-server", "--workers", "1"], env=self.env, cwd=self.home)
        self.processes.start("scheduler", [airflow_bin, "scheduler"], env=self.env, cwd=self.home)
        self.processes.start("dag-processor", [airflow_bin, "dag-processor"], env=self.env, cwd=self.home)
        for name in self.workers:
            # its own working folder (and Airflow home: config comes from the environment), its own host name,
            # and its own port for serving task logs, as on a machine of its own
            folder = self.home / "workers" / name
            folder.mkdir(parents=True, exist_ok=True)
            env = {
                **self.env,
                "AIRFLOW_HOME": str(folder),
                "NEWSFLOW_WORKER_HOSTNAME": name,
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_ports[name]),
            }
            # `python -m airflow`, as newsflow.service starts its components: the extraction pool spawns workers,
            # and a spawned child re-runs its parent's main script; the `airflow` console script re-run inside a
            # task fails (tasks have no metadata DB), which killed every page of a pooled extraction
            self.processes.start(
                name, [sys.executable, "-m", "airflow", "celery", "worker", "--celery-hostname", f"{name}@%h"],
                env=env, cwd=folder,
            )
        wait_for("the api-server", self._api_up, 180, alive=self.processes.check_alive)
        for name in self.workers:
            wait_for(f"celery worker {name}", lambda n=name: self._worker_ready(n), 180,
                     alive=self.processes.check_alive)
        return self

    @property
    def ports(self) -> list[int]:
        return [self.api_port, *self.log_ports.values()]

    def _api_up(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}/api/v2/version", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def _worker_ready(self, name: str) -> bool:
        # celery prints "<name>@<host> ready." once it consumes from the broker
        return f"{name}@" in (text := self.processes.log(name).read_text(errors="replace")) and " ready." in text

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        def parsed() -> bool:
            rows = self.postgres.query(
                AIRFLOW_DB,
                "select d.is_paused from dag d join serialized_dag s using (dag_id) where d.dag_id = %s",
                (dag_id,),
            )
            return bool(rows) and rows[0][0] is False

        wait_for(f"the dag-processor to parse {dag_id}", parsed, timeout, every=1, alive=self.processes.check_alive)

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """The REST API (v2); the simple auth manager's all-admins mode signs requests itself."""
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}/api/v2/{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise ClusterError(f"{method} {path}: HTTP {exc.code}: {exc.read()[:2000]!r}") from exc

    def trigger(self, dag_id: str, run_id: str, conf: dict) -> None:
        self.api("POST", f"dags/{dag_id}/dagRuns", {"dag_run_id": run_id, "logical_date": None, "conf": conf})

    def clear(self, dag_id: str, run_id: str, task_ids: list[str]) -> None:
        """Clear these tasks and their downstream tasks of a finished run: the scheduler runs them again."""
        self.api("POST", f"dags/{dag_id}/clearTaskInstances", {
            "dry_run": False, "dag_run_id": run_id, "task_ids": task_ids, "include_downstream": True,
            "only_failed": False, "reset_dag_runs": True,
        })

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> str:
        def finished() -> str | None:
            rows = self.postgres.query(
                AIRFLOW_DB, "select state from dag_run where dag_id = %s and run_id = %s", (dag_id, run_id)
            )
            return rows[0][0] if rows and rows[0][0] in ("success", "failed") else None

        return wait_for(f"{dag_id} run {run_id}", finished, timeout, every=2, alive=self.processes.check_alive)

    def task_instances(self, dag_id: str, run_id: str) -> list[tuple]:
        return self.postgres.query(
            AIRFLOW_DB,
            "select task_id, map_index, state, hostname, try_number from task_instance "
            "where dag_id = %s and run_id = %s order by task_id, map_index",
            (dag_id, run_id),
        )

    def failure_report(self, dag_id: str, run_id: str) -> str:
        """Task states, the logs of the tasks that did not succeed and the tails of the component logs."""
        rows = self.task_instances(dag_id, run_id)
        parts = [f"task instances of {run_id} (task_id, map_index, state, hostname, try_number):"]
        parts += [f"  {row}" for row in rows]
        unfinished = {row[0] for row in rows if row[2] != "success"}
        for log in sorted(self.home.glob(f"workers/*/logs/dag_id={dag_id}/run_id={run_id}/task_id=*/**/*.log")):
            task_id = next(p for p in log.parts if p.startswith("task_id=")).removeprefix("task_id=")
            if task_id in unfinished:
                parts.append(f"--- {log.relative_to(self.home)}\n{tail(log, 30)}")
        for name in ("scheduler", *self.workers):
            parts.append(f"--- {name}.log\n{tail(self.processes.log(name), 15)}")
        return "\n".join(parts)
