"""The service's housekeeper: Airflow's own `airflow db clean` on the metadata database, once a day, for the run
history older than NEWSFLOW_METADATA_RETENTION_DAYS (default 30). Airflow 3 lets no task reach that database, so
`newsflow up` runs this beside the scheduler instead of a news_maintenance task (`newsflow clean-metadata` by hand).
It also watches the service's other components (one that died is said in its log and posted to the alert webhook)
the DAG files Airflow cannot import (said and posted, and again once they import) and the free space of the disks
it writes (NEWSFLOW_DISK_LOW_GB), and fails the runs of schedules taken out of the sources file while it runs.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsflow.airflow_runner import airflow_command, airflow_env, airflow_home
from newsflow.config import data_dir, warehouse_location
from newsflow.env_settings import days_setting, number_setting
from newsflow.terminal import printable  # `newsflow status` shows the log's latest line on a terminal

# what grows with every run (Airflow's cascade takes a run's task instances with it); the latest run of each DAG
# always stays (Airflow keeps it to schedule the next). DAGs, their versions and connections are not history.
TABLES = ("dag_run", "task_instance", "task_instance_history", "task_reschedule", "xcom", "log", "job", "asset_event")
FIRST_CLEAN_S = 600.0  # after a start: the scheduler's first runs come first
EVERY_S = 86_400.0
BATCH = 1000  # rows a transaction: the scheduler's own writes wait for one batch at most, never for the whole clean


def metadata_retention_days() -> float:
    """$NEWSFLOW_METADATA_RETENTION_DAYS, at least 1: the clean goes by when a run started, and a run in progress
    (a fetch may take hours) must keep its rows."""
    return days_setting("NEWSFLOW_METADATA_RETENTION_DAYS", 30, minimum=1)


def clean_command(before: datetime) -> list[str]:
    return [*airflow_command(), "db", "clean", "--clean-before-timestamp", before.isoformat(),
            "--tables", ",".join(TABLES), "--batch-size", str(BATCH), "--skip-archive", "--yes",
            "--error-on-cleanup-failure"]


def clean_metadata(*, before: datetime | None = None, now: datetime | None = None,
                   timeout: float = 3600) -> subprocess.CompletedProcess:
    """Delete the metadata DB's run history from before `before` (default: the retention days before `now`)."""
    if before is None:
        before = (now or datetime.now(UTC)) - timedelta(days=metadata_retention_days())
    return subprocess.run(clean_command(before), env=airflow_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


def run_forever(first: float = FIRST_CLEAN_S, every: float = EVERY_S, echo=print, rounds: int | None = None) -> None:
    """Clean `first` seconds from now, then every `every` seconds (`rounds` times, or until stopped)."""
    echo(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} newsflow housekeeper: Airflow's metadata history is cleaned in "
         f"{first:.0f}s, then every {every / 3600:g}h")
    sys.stdout.flush()
    time.sleep(first)
    while rounds is None or rounds > 0:
        rounds = None if rounds is None else rounds - 1
        started = time.monotonic()
        try:
            days = metadata_retention_days()
            before = datetime.now(UTC) - timedelta(days=days)
            done = clean_metadata(before=before)
            outcome = "done" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
            echo(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} newsflow housekeeper: metadata history before "
                 f"{before:%Y-%m-%d %H:%M} UTC ({days:g} days) cleaned: {outcome} in {time.monotonic() - started:.1f}s")
            if done.returncode:
                echo(done.stdout[-4000:] + done.stderr[-4000:])
        except Exception as exc:  # noqa: BLE001 - whatever failed today, the next day's clean may work: say it, live on
            echo(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} newsflow housekeeper: metadata not cleaned: "
                 f"{type(exc).__name__}: {exc}")
        sys.stdout.flush()
        if rounds != 0:
            time.sleep(every)


WATCH_S = 60.0


def watch_seconds() -> float:
    """$NEWSFLOW_HOUSEKEEPER_WATCH_S: seconds between the housekeeper's looks (default 60, 1 to 3600)."""
    return number_setting("NEWSFLOW_HOUSEKEEPER_WATCH_S", WATCH_S, minimum=1, maximum=3600,
                          expected="a number of seconds")


def stopped_for_good(state: dict | None, seen_stopped: set[str], told: set[str]) -> list[str]:
    """The components of the service (`state`, its service.json) found stopped at this look and the one before, not
    told yet: those to say now. A component found stopped once may be `newsflow down` at work, which ends the
    housekeeper within seconds; nothing restarts one stopped a minute later (a kill, the OOM killer). `seen_stopped`
    and `told` carry over between looks; a component running again is forgotten."""
    from newsflow.service import stopped_components

    stopped = set(stopped_components(state)) - {"housekeeper"} if state else set()
    new = sorted((stopped & seen_stopped) - told)
    seen_stopped.clear()
    seen_stopped.update(stopped)
    told.intersection_update(stopped)
    told.update(new)
    return new


def watch_forever(every: float = WATCH_S, echo=print, looks: int | None = None) -> None:
    """Look at the service's components, for runs of retired schedules and for DAG files that do not import, every
    `every` seconds (`looks` times, or until stopped)."""
    from newsflow.alerts import component_message
    from newsflow.service import read_state, stopped_components

    seen_stopped: set[str] = set()
    told: set[str] = set()
    retired = RetiredScheduleRuns(echo)
    imports = ImportErrorWatch(echo)
    disks = DiskWatch(echo)
    while looks is None or looks > 0:
        looks = None if looks is None else looks - 1
        state = read_state()
        if state and "api-server" not in stopped_components(state):
            retired.look(state)
            # both looks meet the same api-server: one that does not answer is said once, not twice a minute
            imports.look(state, known_trouble=retired.trouble)
        # docker-compose runs the housekeeper in a container of its own, started by no `newsflow up`: no state
        # file, and the disks are those of this process's own settings (the service's, as `up` starts it)
        disks.look(state or settings_state())
        for name in stopped_for_good(state, seen_stopped, told):
            said(echo, f"the {name} (pid {state['pids'][name]}) has stopped; nothing restarts it: `newsflow down`, "
                       "then `newsflow up`")
            if post_each([component_message(name, state)], None, lambda line: said(echo, line)):
                told.discard(name)  # the next look tells it again
        if looks != 0:
            time.sleep(every)


def settings_state() -> dict:
    """What a state file of `newsflow up` tells the disk watch, from this process's environment."""
    return {"data_dir": str(data_dir()), "warehouse": warehouse_location(), "airflow_home": str(airflow_home())}


def said(echo, line: str) -> None:
    """One line of the housekeeper's log, timestamped, on one line of printable text (`newsflow status` shows the
    latest on a terminal); a message made for the CLI keeps no `newsflow: ` prefix."""
    echo(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} newsflow housekeeper: {printable(line.removeprefix('newsflow: '))}")
    sys.stdout.flush()


def post_each(payloads: list[dict], alerts, say) -> list[int]:
    """Post each payload to the alert webhook of `alerts` (AlertSettings; None: this process's environment's, the
    service's in the housekeeper), if one is set; a post that fails is said, and the next is tried. Returns the
    indexes of those the webhook did not take (an error answer, a moment unreachable): the caller forgets it told
    them, so its next look posts them again, as a quality run posts what the one before could not. A malformed
    setting is no moment's trouble: said, and not tried again."""
    from newsflow.alerts import AlertError, AlertSettingsError, alert_settings, post

    refused = []
    for index, payload in enumerate(payloads):
        try:
            settings = alerts or alert_settings()
            if settings.webhook:
                post(settings.webhook, payload, timeout=settings.timeout_s)
        except (AlertSettingsError, ValueError) as exc:
            say(f"could not post it ({exc})")
        except AlertError as exc:
            say(f"could not post it ({exc}); the next look posts it again")
            refused.append(index)
    return refused


class RetiredScheduleRuns:
    """A run of a schedule taken out of the sources file under the running service can never finish (every start
    of its tasks ends in "Dag not found") and would resume if the schedule came back: failed at the second look
    that finds it (newsflow.dead_runs.fail_runs_of_retired_schedules), said in the log and posted like any failed
    run, instead of waiting for the next `newsflow down` or `up`."""

    def __init__(self, echo=print, alerts=None):
        self.echo = echo
        self.alerts = alerts  # AlertSettings; None: this process's environment's (the service's, in the housekeeper)
        self.seen: set[tuple[str, str]] = set()
        self.trouble: str | None = None  # said once until it changes: the api-server may be down for a while

    def look(self, state: dict) -> list[tuple[str, str]]:
        from newsflow.alerts import AlertError, alert_settings
        from newsflow.dead_runs import fail_runs_of_retired_schedules
        from newsflow.service import Client, ServiceError, announce_runs

        try:
            failed = fail_runs_of_retired_schedules(Client.for_service(state), self.seen)
        except (OSError, ValueError, ServiceError) as exc:
            trouble = f"{type(exc).__name__}: {exc}"
            if trouble != self.trouble:
                self._say(f"could not look for runs of retired schedules ({trouble})")
            self.trouble = trouble
            return []
        self.trouble = None
        for dag_id, run_id in failed:
            self._say(f"{dag_id} run {run_id} is of a schedule no longer in the sources file: marked failed")
        try:
            announce_runs(failed, "its schedule is no longer in the sources file", self.alerts or alert_settings(),
                          state.get("url"), self._say)
        except (AlertError, ValueError) as exc:
            self._say(f"could not post them ({exc})")
        return failed

    def _say(self, line: str) -> None:
        said(self.echo, line)


DAGS_BUNDLE = "dags-folder"  # Airflow 3's bundle of [core] dags_folder, the project's dags/


class ImportErrorWatch:
    """A DAG file of the dags folder that Airflow cannot import (dags/news_scheduled.py after the sources file was
    edited into a broken one) takes every DAG it made away: their runs stop without a failed run to post, and only
    `newsflow status` showed it. Said in the log and posted once per mistake (a different mistake in the same file
    is told again), and once more when the file imports again."""

    def __init__(self, echo=print, alerts=None):
        self.echo = echo
        self.alerts = alerts  # AlertSettings; None: this process's environment's (the service's, in the housekeeper)
        self.told: dict[str, tuple[str, ...]] = {}  # file -> the exception's lines told
        self.trouble: str | None = None  # said once until it changes: the api-server may be down for a while

    def changes(self, errors: list[dict]) -> tuple[list[tuple[str, list[str]]], list[str]]:
        """(file and exception lines to tell, files told that import again) from Airflow's import errors at this
        look; what is told is remembered, what imports again forgotten. No I/O. The message, not the whole trace
        or its timestamp, tells one mistake from another: Airflow rewrites the error at every parse."""
        from newsflow.service import exception_message

        now = {str(error.get("filename")): tuple(exception_message(str(error.get("stack_trace") or "")))
               for error in errors if error.get("bundle_name") in (DAGS_BUNDLE, None) and error.get("filename")}
        new = [(name, list(message)) for name, message in sorted(now.items()) if self.told.get(name) != message]
        cleared = sorted(set(self.told) - set(now))
        self.told = now
        return new, cleared

    def look(self, state: dict, client=None,
             known_trouble: str | None = None) -> tuple[list[tuple[str, list[str]]], list[str]]:
        """Ask the service's REST API (or `client`) for its import errors, say and post what changed; returns
        changes(). A trouble already said (`known_trouble`) is not said again."""
        from newsflow.alerts import import_error_cleared_message, import_error_message
        from newsflow.service import IMPORT_ERROR_LINES, Client

        try:
            errors = (client or Client.for_service(state)).get("/importErrors?limit=100")["import_errors"]
        except Exception as exc:  # noqa: BLE001 - whatever the api-server did, the next look may work; the loop lives
            trouble = f"{type(exc).__name__}: {exc}"
            if trouble not in (self.trouble, known_trouble):
                self._say(f"could not look for DAG files that do not import ({trouble})")
            self.trouble = trouble
            return [], []
        self.trouble = None
        before = dict(self.told)
        new, cleared = self.changes(errors)
        posts, names = [], [name for name, _ in new] + cleared
        for name, message in new:
            posts.append(import_error_message(name, message, state))
            self._say(f"the DAG file {name} does not import ({message[0] if message else 'no message'}); "
                      f"{posts[-1]['newsflow']['stops']}")
            for line in message[1:IMPORT_ERROR_LINES]:
                self.echo(f"    {printable(line)}")
        for name in cleared:
            posts.append(import_error_cleared_message(name, state))
            self._say(f"the DAG file {name} imports again")
        for index in post_each(posts, self.alerts, self._say):
            # as it was before this look, so the next tells it (a broken sources file, refused once, was never told)
            name = names[index]
            if name in before:
                self.told[name] = before[name]
            else:
                self.told.pop(name, None)
        return new, cleared

    def _say(self, line: str) -> None:
        said(self.echo, line)


class DiskWatch:
    """The disks the service writes (data dir, lake, Airflow home): one whose free space falls under
    NEWSFLOW_DISK_LOW_GB is said in the log and posted once, and once more when a quarter more than the limit is
    free again (cleanup.DISK_RECOVERED: a disk that hovers at the limit is not told at every look)."""

    def __init__(self, echo=print, alerts=None):
        self.echo = echo
        self.alerts = alerts  # AlertSettings; None: this process's environment's (the service's, in the housekeeper)
        # the disks told low, by what is on them: their folder is the nearest that exists, and a lake on a disk of its
        # own, not made yet at the first look, was told low again once the first load made it
        self.low: set[str] = set()
        self.trouble: str | None = None  # a malformed limit, said once until it changes, not at every look

    def changes(self, disks: list[tuple[str, Path, int, int]], limit: int) -> tuple[list, list]:
        """(disks to tell low, disks to tell recovered) of cleanup.free_space's answer at this look. No I/O."""
        from newsflow.cleanup import DISK_RECOVERED

        new = [d for d in disks if d[2] < limit and d[0] not in self.low]
        recovered = [d for d in disks if d[0] in self.low and d[2] >= limit * DISK_RECOVERED]
        self.low.update(d[0] for d in new)
        self.low.difference_update(d[0] for d in recovered)
        return new, recovered

    def look(self, state: dict) -> tuple[list, list]:
        from newsflow.alerts import disk_message
        from newsflow.cleanup import disk_low_bytes, free_space

        try:
            limit = state.get("disk_low_bytes")
            limit = disk_low_bytes() if limit is None else limit
        except ValueError as exc:  # `up` refuses a malformed limit: a state file of an older `up` has none
            if str(exc) != self.trouble:
                self._say(f"free space not judged: {exc}")
            self.trouble = str(exc)
            return [], []
        self.trouble = None
        if not all(state.get(key) for key in ("data_dir", "warehouse", "airflow_home")):
            return [], []  # a state file of an older `up`, which named none of them
        new, recovered = self.changes(free_space(Path(state["data_dir"]), state["warehouse"],
                                                 Path(state["airflow_home"])), limit)
        posts, told = [], []
        for disks, low in ((new, True), (recovered, False)):
            for what, path, free, total in disks:
                posts.append(disk_message(what, str(path), free, total, limit, state, low))
                told.append((what, low))
                self._say(posts[-1]["text"].splitlines()[0])
        for index in post_each(posts, self.alerts, self._say):
            what, low = told[index]  # not told: the next look finds it changed again
            if low:
                self.low.discard(what)
            else:
                self.low.add(what)
        return new, recovered

    def _say(self, line: str) -> None:
        said(self.echo, line)


def last_said(log: Path, tail_bytes: int = 16_384) -> str | None:
    """The housekeeper's latest line in its log (`newsflow status` shows it), or None."""
    try:
        with open(log, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - tail_bytes))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    said = [line for line in lines if " newsflow housekeeper: " in line]
    return said[-1].replace(" newsflow housekeeper: ", " ", 1) if said else None


def main() -> int:
    import threading

    try:
        every = watch_seconds()
    except ValueError as exc:  # docker-compose starts it with no `newsflow up` to refuse the value first
        said(print, f"{exc}; looking every {WATCH_S:g}s")
        every = WATCH_S
    threading.Thread(target=watch_forever, kwargs={"every": every}, name="component-watch", daemon=True).start()
    run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
