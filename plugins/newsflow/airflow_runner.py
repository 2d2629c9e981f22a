"""Runs newsflow's DAGs through a real Airflow 3 installation kept inside the project (SQLite metadata in
airflow_home/): one-time setup (migrations, the duckdb_write pool), then `airflow dags test` runs with progress.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

POOL = "duckdb_write"
_PROGRESS = re.compile(r"\[DAG TEST\] (starting|end) task task_id=(\S+)(?: map_index=(-?\d+))?|newsflow\.\w+\]|DagRun Finished|ERROR|Traceback")
# the one-line cause a failing newsflow task logs (newsflow.stages.failures.CONSOLE_MARK)
_CAUSE = re.compile(r"newsflow-error: (.*?)(?:\s+\[newsflow\.[\w.]+\].*)?$")
# conf a param's schema refuses: Airflow creates no run, so no task can say why
_PARAM_REFUSED = re.compile(r"ParamValidationError: (.*)$")
# a DAG file that does not import (a syntax error in dags/, or in newsflow code it imports): no run is created, no
# task logs a cause, and the console said only "state unknown"
_DAG_IMPORT_ERROR = re.compile(r"Error loading DAG from (\S+): (.*?)(?:\s+\[airflow[\w.]+\].*)?$")
# the run id, from the first task's line: a stopped run is named before Airflow has said how it finished
_RUN_ID = re.compile(r"\[DAG TEST\] running task <TaskInstance: [\w.]+ (\S+)")
# how a task try ended: its "[DAG TEST] end task" line does not say, the execution API's log of the state it set does
_TI_ID = re.compile(r"\[DAG TEST\] running task <TaskInstance: .* ti_id=([0-9a-f-]+)>")
_NEW_STATE = re.compile(r"Task instance state updated .*\bnew_state=(\w+)")
_TI_OF_STATE = re.compile(r"\bti_id=([0-9a-f-]+)")
# every newsflow DAG's start_date (dag_tasks.START_DATE), here without Airflow or pendulum: the CLI checks a
# --logical-date against it before starting anything, since Airflow creates no task of a DAG for a logical date
# before its start_date and then calls the run a success
START_DATE = datetime(2000, 1, 1, tzinfo=UTC)


def project_root() -> Path:
    # newsflow.config.project_root, without importing config (pydantic): `newsflow status` stays light
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
    # Airflow starts some components as `airflow ...` subprocesses: the venv must be on PATH
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    env.update(extra or {})
    return env


def airflow_command() -> list[str]:
    """`python -m airflow`, not the `airflow` script: the extraction workers are spawned processes, which import
    the parent's main script again unless it ran as a package's `__main__` module; under a real executor the
    task's environment hides the metadata DB, and re-running the script's `import airflow` fails there."""
    return [sys.executable, "-m", "airflow"]


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
    subprocess.run([*airflow_command(), "db", "migrate"], env=env, check=True, stdout=out, stderr=subprocess.STDOUT if quiet else None)
    subprocess.run(
        [*airflow_command(), "pools", "set", POOL, "1", "DuckDB allows one writing process: every warehouse write"],
        env=env, check=True, stdout=out,
    )
    marker.write_text(wanted)


class DagRunFailed(RuntimeError):
    pass


class RunInterrupted(Exception):
    """newsflow was told to stop (Ctrl-C, SIGTERM, SIGHUP) while it ran or followed a DAG run; the message says
    what became of the run. The command exits 128 + the signal's number, as a shell reports a process it stopped."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum = signum


@contextmanager
def stop_signals_raise():
    """SIGTERM and SIGHUP raise RunInterrupted in the main thread, as Ctrl-C raises KeyboardInterrupt. By default
    they end this process at once, and the run it started (a process group of its own) went on unseen."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = []

    def stop(signum, _frame):
        if not fired:  # once: a second signal must not cut short the stopping of the run
            fired.append(signum)
            raise RunInterrupted(signum, signal.Signals(signum).name)

    # a signal ignored when newsflow started stays ignored: `nohup newsflow ingest ...` outlives its terminal
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)
                if signal.getsignal(sig) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _end_group(proc: subprocess.Popen, sig: int) -> None:
    """Signal what is left of the airflow process's own process group (extraction workers, multiprocessing's
    resource tracker): once the airflow process is gone they only hold the output pipe open."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# How Airflow's output is read: line by line, as UTF-8, a byte that is none replaced. Extraction workers write long
# log lines to the one pipe, and one cut inside a character stopped the relay with a UnicodeDecodeError: the task
# failed, the run was left `running`, and the command said nothing clear.
OUTPUT_PIPE = {"text": True, "encoding": "utf-8", "errors": "replace", "bufsize": 1}


def dags_test(dag_id: str, conf: dict, *, env_extra: dict[str, str] | None = None, log_file: Path | None = None,
              logical_date: str | None = None, echo=print, run_info: dict | None = None,
              on_success=None) -> float:
    """One real DAG run through plain `airflow dags test`; prints task progress; raises DagRunFailed on failure.

    `run_info`, if given, receives the run's `run_id`, its `state` and the one-line `causes` failing tasks logged.
    `on_success(run_id)` is called as soon as Airflow reports the run successful, while the airflow process is
    still shutting down: its interpreter spends 2-4 s collecting its heap at exit, and a summary read from the
    warehouse (committed by then) need not wait for that. An error it raises is raised after the process ends.
    The airflow process leads a process group of its own; when it ends (or is killed), whatever it left in that
    group is killed, so the output pipe closes and this call returns instead of waiting on orphans.
    """
    ensure_airflow()
    cmd = [*airflow_command(), "dags", "test", dag_id]
    if logical_date:
        cmd.append(logical_date)
    cmd += ["--conf", json.dumps(conf)]
    env = airflow_env(env_extra)
    # each newsflow DAG lives in a file named after it: Airflow then parses just that file before the run
    dag_file = Path(env["AIRFLOW__CORE__DAGS_FOLDER"]) / f"{dag_id}.py"
    if dag_file.is_file():
        cmd += ["--dagfile-path", str(dag_file)]
    claim = nullcontext(log_file) if log_file else run_log(airflow_home() / "logs", dag_id)
    with claim as log_file:
        return _run_and_relay(cmd, env, dag_id, log_file, echo, run_info, on_success)


@contextmanager
def run_log(folder: Path, dag_id: str):
    """The path of a run's full log, `<dag>-last-run.log`, locked (flock) while the run writes it: a second run of
    the same DAG at once (two `newsflow ingest` without the service) takes `<dag>-last-run.2.log`, where both
    wrote into one file and each error named a log that held the other run's lines."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    for n in itertools.count(1):
        path = folder / (f"{dag_id}-last-run.log" if n == 1 else f"{dag_id}-last-run.{n}.log")
        with open(path, "a", encoding="utf-8") as held:
            try:
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            yield path
            return


def _run_and_relay(cmd: list[str], env: dict[str, str], dag_id: str, log_file: Path, echo, run_info: dict | None,
                   on_success) -> float:
    import signal
    import threading

    log_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    info = run_info if run_info is not None else {}
    info.setdefault("causes", [])
    with stop_signals_raise(), subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, **OUTPUT_PIPE,
    ) as proc:
        # waits for the airflow process, then ends its leftovers: the loop below reads until the pipe closes
        reaper = threading.Thread(target=lambda: (proc.wait(), _end_group(proc, signal.SIGKILL)),
                                  name="airflow-reaper", daemon=True)
        reaper.start()
        try:
            state = _relay(proc, log_file, started, echo, info, on_success)
        except (KeyboardInterrupt, RunInterrupted) as stop:
            # The run's processes are in their own group and see no signal sent to this one. `airflow dags test`
            # keeps the task runner's SIGTERM handler (it only calls the operator's on_kill), and SIGINT fails the
            # task in progress, then it starts the next: only SIGKILL stops it, the kill -9 the pipeline already
            # survives (tests/integration/test_kill_during_fetch.py).
            _end_group(proc, signal.SIGKILL)
            proc.wait()
            signum = stop.signum if isinstance(stop, RunInterrupted) else signal.SIGINT
            run = f"{dag_id} run {info['run_id']}" if info.get("run_id") else f"{dag_id} run"
            raise RunInterrupted(signum, (
                f"{run} stopped ({signal.Signals(signum).name}): its processes were killed. Each load is one "
                f"transaction: what the run committed stays, and a new run does the rest. Airflow shows this one "
                f"running until the next `newsflow up` marks it failed. Log: {log_file}")) from None
        except BaseException:
            # an error here: the run's processes are in their own group and would not see it
            _end_group(proc, signal.SIGTERM)
            raise
        code = proc.wait()
    elapsed = time.monotonic() - started
    info["state"] = state
    if info.get("on_success_error") is not None:
        raise info["on_success_error"]
    if code == 0 and state == "success" and not info["tasks_run"]:
        run = f"{dag_id} run {info['run_id']}" if info.get("run_id") else f"{dag_id} run"
        raise DagRunFailed(f"{run} ran no task, although Airflow calls it a success (it creates none for a logical "
                           f"date before the DAG's start_date); full log: {log_file}")
    if code != 0 or state != "success":
        cause = f": {run_cause(info['causes'])}" if info["causes"] else ""
        raise DagRunFailed(f"{dag_id} run ended with state {state or 'unknown'} (exit {code}){cause}; "
                           f"full log: {log_file}")
    return elapsed


# the account step's verdict on a run where every source failed (stages/account.py): it names each source
EVERY_SOURCE_FAILED = "account: every source failed: "


def run_cause(causes: list[str]) -> str:
    """The one-line cause of a failed run among those its tasks logged, in order: the first (a plan's error comes
    before the account's that follows from it), but the account's verdict when every source failed, which names
    them all: the first source's own error alone read as if that source had failed and the others had not."""
    return next((cause for cause in causes if cause.startswith(EVERY_SOURCE_FAILED)), causes[0])


def _relay(proc: subprocess.Popen, log_file: Path, started: float, echo, info: dict, on_success=None) -> str | None:
    """Airflow's output to the log file, its progress to `echo`; returns the run's final state. A task try that
    did not succeed is shown with the state it ended in (`failed`, `up_for_retry`, ...); `info["tasks_run"]`
    counts the task tries that ended."""
    state = None
    info["tasks_run"] = 0
    running = ended_as = None  # the task try in progress (`dags test` runs one at a time) and its last state
    with open(log_file, "w", encoding="utf-8") as log:
        for line in proc.stdout:
            log.write(line)
            cause = _CAUSE.search(line) or _PARAM_REFUSED.search(line)
            if cause and cause.group(1) not in info["causes"]:
                info["causes"].append(cause.group(1).strip())
            if (broken := _DAG_IMPORT_ERROR.search(line)) and not info["causes"]:
                info["causes"].append(f"DAG file {broken.group(1)} does not import: {broken.group(2).strip()}")
            if "run_id" not in info and (named := _RUN_ID.search(line)):
                info["run_id"] = named.group(1)
            if try_started := _TI_ID.search(line):
                running, ended_as = try_started.group(1), None
            elif (updated := _NEW_STATE.search(line)) and (of := _TI_OF_STATE.search(line)) and of.group(1) == running:
                ended_as = updated.group(1)
            match = _PROGRESS.search(line)
            if not match:
                continue
            if match.group(1):
                index = f"[{match.group(3)}]" if match.group(3) not in (None, "-1") else ""
                verb = "start" if match.group(1) == "starting" else "done "
                how = f": {ended_as}" if verb == "done " and ended_as not in (None, "success") else ""
                if verb == "done ":
                    info["tasks_run"] += 1
                echo(f"  {time.monotonic() - started:6.1f}s  {verb} {match.group(2)}{index}{how}")
            elif "DagRun Finished" in line:
                found = re.search(r"state=(\w+)", line)
                state = found.group(1) if found else None
                run_id = re.search(r"run_id=([^,\s]+)", line)
                if run_id:
                    info["run_id"] = run_id.group(1)
                # a run that ran no task has nothing to summarise: dags_test reports it
                if on_success is not None and state == "success" and info["tasks_run"]:
                    log.flush()
                    try:
                        on_success(info.get("run_id"))
                    except Exception as error:  # raised by dags_test once the airflow process has ended
                        info["on_success_error"] = error
            elif "newsflow." in line:
                message = re.sub(r"^\S+\s+\[\w+\s*\]\s*", "", line.strip())
                echo(f"  {time.monotonic() - started:6.1f}s    {message[:160]}")
    return state


def main(argv: list[str] | None = None) -> int:
    """`python -m newsflow.airflow_runner ARGS`: the airflow command with the project's settings (`newsflow up`
    runs the service; this is for one-off commands such as `dags list` or `tasks test`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    ensure_airflow(quiet=False)
    return subprocess.call([*airflow_command(), *args], env=airflow_env())


if __name__ == "__main__":
    sys.exit(main())
