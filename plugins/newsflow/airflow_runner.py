"""Runs newsflow's DAGs through a real Airflow 3 installation kept inside the project (SQLite metadata in
airflow_home/): one-time setup (migrations, the duckdb_write pool), then `airflow dags test` runs with progress.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

POOL = "duckdb_write"
# airflow_exec waits for this line on stdin before it runs the command (see dags_test's `check`)
GO_ENV = "NEWSFLOW_AIRFLOW_WAIT_FOR_GO"
GO = "go"
_PROGRESS = re.compile(r"\[DAG TEST\] (starting|end) task task_id=(\S+)(?: map_index=(-?\d+))?|newsflow\.\w+\]|DagRun Finished|ERROR|Traceback")
# the one-line cause a failing newsflow task logs (newsflow.stages.failures.CONSOLE_MARK)
_CAUSE = re.compile(r"newsflow-error: (.*?)(?:\s+\[newsflow\.[\w.]+\].*)?$")


def project_root() -> Path:
    # newsflow.config.project_root, without importing config: its pydantic models cost ~0.1 s, and a caller may
    # want the airflow process started (dags_test's `check`) before it spends that time
    return Path(__file__).resolve().parents[2]


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or project_root() / "airflow_home")


def airflow_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    root = project_root()
    home = airflow_home()
    env = dict(os.environ)
    env.setdefault("AIRFLOW_HOME", str(home))
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(root / "dags"))
    env.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(root / "plugins"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")
    env.setdefault("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False")
    env.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
    env.setdefault("GX_ANALYTICS_ENABLED", "False")
    env.setdefault("NO_PROXY", "*")
    # the spawned extraction workers and the DAG files import newsflow from here even without the venv install
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root / "plugins"), env.get("PYTHONPATH", "")) if p)
    # `airflow standalone` starts its components as `airflow ...` subprocesses: the venv must be on PATH
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    env.update(extra or {})
    return env


def _airflow() -> list[str]:
    exe = Path(sys.executable).with_name("airflow")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "airflow"]


def ensure_airflow(quiet: bool = True) -> None:
    """Migrate the metadata DB and create the writer pool once; later calls cost a file check."""
    from importlib.metadata import version

    # the installed version from package metadata: importing airflow here would add ~2 s to every run
    airflow_version = version("apache-airflow")
    home = airflow_home()
    home.mkdir(parents=True, exist_ok=True)
    marker = home / ".newsflow-setup"
    wanted = f"airflow {airflow_version} pool {POOL}"
    if marker.exists() and marker.read_text() == wanted and (home / "airflow.db").exists():
        return
    env = airflow_env()
    out = subprocess.DEVNULL if quiet else None
    print(f"setting up Airflow {airflow_version} in {home} (first run only) ...", flush=True)
    subprocess.run([*_airflow(), "db", "migrate"], env=env, check=True, stdout=out, stderr=subprocess.STDOUT if quiet else None)
    subprocess.run(
        [*_airflow(), "pools", "set", POOL, "1", "DuckDB allows one writing process: every warehouse write"],
        env=env, check=True, stdout=out,
    )
    marker.write_text(wanted)


class DagRunFailed(RuntimeError):
    pass


def compile_bytecode(*folders: Path) -> None:
    """Bring the bytecode of newsflow and the DAG files up to date before Airflow imports them.

    This machine sets PYTHONDONTWRITEBYTECODE=1, so after any edit every process of a run (the airflow process,
    each extraction worker) compiled the changed modules from source again, run after run (~0.15 s in the
    airflow process alone when pipeline.py, extract.py and dates.py had changed). The venv is compiled at install
    (Makefile); this does the same for the project's own code. A module is recompiled when its cached header
    does not match the source's modification time and size, the check Python's import makes (compileall looks
    at the time only, and misses an edit within the second of the last compile). Up-to-date files cost a stat
    and a 16-byte read each; a file that does not compile is left to fail at import, with Python's message.
    """
    import importlib.util
    import py_compile

    for folder in folders:
        if not folder.is_dir():
            continue
        for source in folder.rglob("*.py"):
            cached = importlib.util.cache_from_source(str(source))
            try:
                stat = source.stat()
                with open(cached, "rb") as handle:
                    header = handle.read(16)
            except OSError:
                header = b""
            else:
                expected = (importlib.util.MAGIC_NUMBER + bytes(4)
                            + (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
                            + (stat.st_size & 0xFFFFFFFF).to_bytes(4, "little"))
                if header == expected:
                    continue
            try:
                py_compile.compile(str(source), cfile=cached, doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
            except (py_compile.PyCompileError, OSError):  # a syntax error or a read-only checkout: as before
                pass


def _end_group(proc: subprocess.Popen, sig: int) -> None:
    """Signal what is left of the airflow process's own process group (extraction workers, multiprocessing's
    resource tracker): once the airflow process is gone they only hold the output pipe open."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def dags_test(dag_id: str, conf: dict, *, env_extra: dict[str, str] | None = None, log_file: Path | None = None,
              logical_date: str | None = None, echo=print, check=None, run_info: dict | None = None) -> float:
    """One real DAG run through `airflow dags test`; prints task progress; raises DagRunFailed on failure.

    `check`, if given, runs here while the airflow process starts (its imports take ~1.7 s of one core; a check
    such as reading the sources file then costs no wall time on a machine with a second core). The airflow
    process waits for the check before it runs the command, so if the check raises, it leaves without having
    touched Airflow's metadata DB: no DAG run is created, and the exception reaches the caller.
    `run_info`, if given, receives the run's `run_id`, its `state` and the one-line `causes` failing tasks logged.

    The airflow process leads a process group of its own; when it ends (or is killed), whatever it left in that
    group is killed, so the output pipe closes and this call returns instead of waiting on orphans.
    """
    import signal
    import threading

    ensure_airflow()
    # the same airflow CLI, minus the interpreter teardown at exit (see newsflow.airflow_exec)
    cmd = [sys.executable, "-m", "newsflow.airflow_exec", "dags", "test", dag_id]
    if logical_date:
        cmd.append(logical_date)
    cmd += ["--conf", json.dumps(conf)]
    # `dags test` runs every task in this one process: a task may prepare the next one's imports in the background
    from newsflow.quality import PREWARM_ENV

    env = airflow_env({PREWARM_ENV: "1", **(env_extra or {})})
    # ensure_airflow has just checked the metadata DB against this Airflow version (and migrated it on a change):
    # the airflow CLI's own check loads alembic and its migration scripts on every run (~0.1 s)
    env.setdefault("AIRFLOW__DATABASE__CHECK_MIGRATIONS", "False")
    # legacy metric names are looked up in a YAML registry that Airflow parses in pure Python the first time a
    # task or the run loop emits a metric (~0.1 s a run); they matter only to a statsd/OpenTelemetry backend,
    # which the project's Airflow home does not configure (set the variable to keep them with one)
    env.setdefault("AIRFLOW__METRICS__LEGACY_NAMES_ON", "False")
    compile_bytecode(Path(__file__).resolve().parent, Path(env["AIRFLOW__CORE__DAGS_FOLDER"]))
    if check is not None:
        env[GO_ENV] = "1"
    # each newsflow DAG lives in a file named after it: Airflow then parses, serialises and syncs just that DAG
    # before the run instead of every DAG in the folder (~0.3 s a run)
    dag_file = Path(env["AIRFLOW__CORE__DAGS_FOLDER"]) / f"{dag_id}.py"
    if dag_file.is_file():
        cmd += ["--dagfile-path", str(dag_file)]
    log_file = log_file or airflow_home() / "logs" / f"{dag_id}-last-run.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    info = run_info if run_info is not None else {}
    info.setdefault("causes", [])
    with subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        stdin=subprocess.PIPE if check is not None else None, start_new_session=True,
    ) as proc:
        # waits for the airflow process, then ends its leftovers: the loop below reads until the pipe closes
        reaper = threading.Thread(target=lambda: (proc.wait(), _end_group(proc, signal.SIGKILL)),
                                  name="airflow-reaper", daemon=True)
        reaper.start()
        if check is not None:
            try:
                check()
            except BaseException:
                # without the go it is still importing or waiting for it, and has not touched Airflow's DB:
                # stop it now rather than after its imports
                proc.kill()
                proc.wait()
                raise
            try:
                proc.stdin.write(GO + "\n")
                proc.stdin.close()
            except BrokenPipeError:
                pass  # the airflow process has already failed: its output below says why
        # opened once the run goes ahead: a failed check leaves the previous run's log in place
        try:
            state = _relay(proc, log_file, started, echo, info)
        except BaseException:
            # Ctrl-C or an error here: the run's processes are in their own group and would not see it
            _end_group(proc, signal.SIGTERM)
            raise
        code = proc.wait()
    elapsed = time.monotonic() - started
    info["state"] = state
    if code != 0 or state != "success":
        cause = f": {info['causes'][0]}" if info["causes"] else ""
        raise DagRunFailed(f"{dag_id} run ended with state {state or 'unknown'} (exit {code}){cause}; "
                           f"full log: {log_file}")
    return elapsed


def _relay(proc: subprocess.Popen, log_file: Path, started: float, echo, info: dict) -> str | None:
    """Airflow's output to the log file, its progress to `echo`; returns the run's final state."""
    state = None
    with open(log_file, "w", encoding="utf-8") as log:
        for line in proc.stdout:
            log.write(line)
            cause = _CAUSE.search(line)
            if cause and cause.group(1) not in info["causes"]:
                info["causes"].append(cause.group(1).strip())
            match = _PROGRESS.search(line)
            if not match:
                continue
            if match.group(1):
                index = f"[{match.group(3)}]" if match.group(3) not in (None, "-1") else ""
                verb = "start" if match.group(1) == "starting" else "done "
                echo(f"  {time.monotonic() - started:6.1f}s  {verb} {match.group(2)}{index}")
            elif "DagRun Finished" in line:
                found = re.search(r"state=(\w+)", line)
                state = found.group(1) if found else None
                run_id = re.search(r"run_id=([^,\s]+)", line)
                if run_id:
                    info["run_id"] = run_id.group(1)
            elif "newsflow." in line:
                message = re.sub(r"^\S+\s+\[\w+\s*\]\s*", "", line.strip())
                echo(f"  {time.monotonic() - started:6.1f}s    {message[:160]}")
    return state


def main(argv: list[str] | None = None) -> int:
    """`python -m newsflow.airflow_runner standalone|airflow ARGS`: Airflow with the project's settings."""
    args = list(sys.argv[1:] if argv is None else argv)
    ensure_airflow(quiet=False)
    if not args or args[0] == "standalone":
        cmd = [*_airflow(), "standalone"]
    else:
        cmd = [*_airflow(), *args[1:]] if args[0] == "airflow" else [*_airflow(), *args]
    return subprocess.call(cmd, env=airflow_env())


if __name__ == "__main__":
    sys.exit(main())
