"""The housekeeper tells of a DAG file Airflow cannot import: a sources file edited into a broken one under the
running service takes every scheduled DAG away, which `newsflow status` showed while the alert webhook heard
nothing (a stopped component was posted)."""

from __future__ import annotations

import os
from types import SimpleNamespace

from newsflow.service import Client

BROKEN_YAML = """Traceback (most recent call last):
  File "/srv/newsflow/dags/news_scheduled.py", line 24, in <module>
    SOURCES = load_sources(sources_path())
  File "/srv/newsflow/plugins/newsflow/config.py", line 512, in load_sources
    raise ConfigError(f"{path}: not valid YAML: {exc}") from None
newsflow.config.ConfigError: /srv/sources.yaml: not valid YAML: while parsing a flow sequence
  in "<unicode string>", line 2, column 13:
      schedule: [oops
                ^
expected ',' or ']', but got '<stream end>'
"""
UNKNOWN_KEY = """Traceback (most recent call last):
  File "/srv/newsflow/dags/news_scheduled.py", line 24, in <module>
    SOURCES = load_sources(sources_path())
newsflow.config.ConfigError: /srv/sources.yaml: settings: unknown key 'timezon' (did you mean 'timezone'?)
"""
STATE = {"url": "http://127.0.0.1:8080", "sources_file": "/srv/sources.yaml"}


def error(trace: str = BROKEN_YAML, filename: str = "news_scheduled.py", at: str = "2026-12-05T13:16:00Z",
          error_id: int = 1, bundle: str | None = "dags-folder") -> dict:
    """One entry of Airflow 3.3's GET /api/v2/importErrors."""
    return {"import_error_id": error_id, "timestamp": at, "filename": filename, "bundle_name": bundle,
            "stack_trace": trace}


class Airflow:
    """What the housekeeper's look asks of the REST API: its import errors, or the failure `fails` names."""

    def __init__(self, *errors: dict, fails: Exception | None = None):
        self.errors, self.fails, self.asked = list(errors), fails, []

    def get(self, path: str) -> dict:
        self.asked.append(path)
        if self.fails:
            raise self.fails
        return {"import_errors": self.errors, "total_entries": len(self.errors)}


def test_a_broken_file_is_told_once_per_mistake_and_once_more_when_mended():
    from newsflow.housekeeper import ImportErrorWatch

    watch = ImportErrorWatch(echo=lambda line: None)
    yaml_message = ["ConfigError: /srv/sources.yaml: not valid YAML: while parsing a flow sequence",
                    '  in "<unicode string>", line 2, column 13:', "      schedule: [oops", "                ^",
                    "expected ',' or ']', but got '<stream end>'"]
    assert watch.changes([]) == ([], [])
    assert watch.changes([error()]) == ([("news_scheduled.py", yaml_message)], [])
    # Airflow parses the file again every few seconds: a new id and timestamp, the same mistake, nothing to tell
    assert watch.changes([error(at="2026-12-05T13:17:00Z", error_id=2)]) == ([], [])
    # a frame that moved (newsflow upgraded meanwhile) is no new mistake either
    assert watch.changes([error(BROKEN_YAML.replace("line 512", "line 530"), error_id=3)]) == ([], [])
    # another mistake in the same file is news
    assert watch.changes([error(UNKNOWN_KEY, error_id=4)]) == (
        [("news_scheduled.py", ["ConfigError: /srv/sources.yaml: settings: unknown key 'timezon' (did you mean "
                                "'timezone'?)"])], [])
    assert watch.changes([error(UNKNOWN_KEY, error_id=5)]) == ([], [])
    assert watch.changes([]) == ([], ["news_scheduled.py"])  # mended: told once
    assert watch.changes([]) == ([], [])
    # broken again, even the same way as before: told again
    assert watch.changes([error(error_id=6)]) == ([("news_scheduled.py", yaml_message)], [])


def test_each_file_is_its_own_and_another_bundles_files_are_not_the_projects():
    from newsflow.housekeeper import ImportErrorWatch

    watch = ImportErrorWatch(echo=lambda line: None)
    quality = error("Traceback (most recent call last):\nSyntaxError: invalid syntax\n", "news_quality.py")
    elsewhere = error(UNKNOWN_KEY, "their_dag.py", bundle="someone-elses-git-bundle")
    new, cleared = watch.changes([error(), quality, elsewhere])
    assert [name for name, _ in new] == ["news_quality.py", "news_scheduled.py"] and cleared == []
    assert new[0] == ("news_quality.py", ["SyntaxError: invalid syntax"])
    assert watch.changes([error()]) == ([], ["news_quality.py"])


def test_the_look_says_it_in_the_log_and_an_api_that_does_not_answer_once():
    from newsflow.housekeeper import ImportErrorWatch

    said: list[str] = []
    watch = ImportErrorWatch(said.append)
    down = Airflow(fails=OSError("[Errno 111] Connection refused"))
    assert watch.look(STATE, down) == ([], []) and watch.look(STATE, down) == ([], [])
    assert len(said) == 1 and said[0].endswith(
        " newsflow housekeeper: could not look for DAG files that do not import (OSError: [Errno 111] Connection "
        "refused)"), said
    said.clear()
    api = Airflow(error())
    new, cleared = watch.look(STATE, api)
    assert [name for name, _ in new] == ["news_scheduled.py"] and cleared == []
    assert api.asked == ["/importErrors?limit=100"]
    assert said[0].endswith(" newsflow housekeeper: the DAG file news_scheduled.py does not import (ConfigError: "
                            "/srv/sources.yaml: not valid YAML: while parsing a flow sequence); no scheduled run "
                            "starts until the sources file is mended"), said
    assert said[0][:19].replace("-", "").replace(" ", "").replace(":", "").isdigit()  # 2026-12-05 13:16:00
    # the lines that show the mistake follow, under the line `newsflow status` shows as the housekeeper's last
    assert said[1:] == ['      in "<unicode string>", line 2, column 13:', "          schedule: [oops",
                        "                    ^", "    expected ',' or ']', but got '<stream end>'"]
    said.clear()
    assert watch.look(STATE, api) == ([], []) and said == []
    # an answer that is no list of import errors (a proxy's page, another API version) is said, not a crash
    assert watch.look(STATE, Airflow()) == ([], ["news_scheduled.py"])
    assert len(said) == 1 and said[0].endswith(" newsflow housekeeper: the DAG file news_scheduled.py imports again")
    said.clear()

    class Odd:
        def get(self, path):
            return {"detail": "Not Found"}

    assert watch.look(STATE, Odd()) == ([], [])
    assert len(said) == 1 and "could not look for DAG files that do not import (KeyError: 'import_errors')" in said[0]
    # a trouble the look for runs of retired schedules already said (the same api-server) is not said twice
    said.clear()
    assert watch.look(STATE, down, known_trouble="OSError: [Errno 111] Connection refused") == ([], [])
    assert said == []


def test_the_alerts_say_the_file_its_mistake_and_what_stops():
    from newsflow.alerts import import_error_cleared_message, import_error_message

    other = import_error_message("news_ingest.py", ["NameError: name 'fetch' is not defined"], STATE)
    assert other["text"] == ("newsflow: the DAG file news_ingest.py does not import; the DAGs it makes are gone and "
                             "none of their runs starts until it is mended\n  NameError: name 'fetch' is not "
                             "defined\nhttp://127.0.0.1:8080")
    assert other["newsflow"]["kind"] == "dag_import_error"
    assert import_error_cleared_message("news_ingest.py", {}) == {
        "text": "newsflow: the DAG file news_ingest.py imports again",
        "newsflow": {"kind": "dag_import_error_cleared", "file": "news_ingest.py"}}


def test_the_housekeepers_watch_posts_a_broken_sources_file_and_its_mending(tmp_path, monkeypatch):
    """Through watch_forever, as the service's housekeeper runs it, to a loopback webhook."""
    import json

    from newsflow import housekeeper, service
    from tests.support.webhook import Webhook

    class ServiceApi(Client):
        """The REST API of a service whose sources file breaks at the first look and is mended at the third."""

        errors = [error()]

        def get(self, path: str) -> dict:
            if path.startswith("/importErrors"):
                return {"import_errors": list(self.errors), "total_entries": len(self.errors)}
            if path.startswith("/dags?"):
                return {"dags": [], "total_entries": 0}
            if path.startswith("/dags/~/dagRuns"):
                return {"dag_runs": [], "total_entries": 0}
            raise AssertionError(f"the housekeeper asked for {path}")

    looks = iter([lambda: None, ServiceApi.errors.clear, lambda: None])
    monkeypatch.setattr(housekeeper, "time", SimpleNamespace(sleep=lambda seconds: next(looks)()))
    monkeypatch.setattr(service.Client, "for_service", classmethod(lambda cls, state: ServiceApi(state["url"], "t")))
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    me = os.getpid()
    state = {**STATE, "pids": {"api-server": me, "scheduler": me, "dag-processor": me, "housekeeper": me}}
    service.state_file().parent.mkdir(parents=True)
    service.state_file().write_text(json.dumps(state))
    said: list[str] = []
    with Webhook() as hook:
        monkeypatch.setenv("NEWSFLOW_ALERT_WEBHOOK", hook.url)
        housekeeper.watch_forever(every=0, echo=said.append, looks=4)
    assert hook.posts == [
        {"text": "newsflow: the DAG file news_scheduled.py does not import; no scheduled run starts until the "
                 "sources file is mended\n"
                 "  ConfigError: /srv/sources.yaml: not valid YAML: while parsing a flow sequence\n"
                 '    in "<unicode string>", line 2, column 13:\n'
                 "        schedule: [oops\n"
                 "                  ^\n"
                 "  expected ',' or ']', but got '<stream end>'\n"
                 "http://127.0.0.1:8080",
         "newsflow": {"kind": "dag_import_error", "file": "news_scheduled.py",
                      "error": "ConfigError: /srv/sources.yaml: not valid YAML: while parsing a flow sequence\n"
                               '  in "<unicode string>", line 2, column 13:\n'
                               "      schedule: [oops\n"
                               "                ^\n"
                               "expected ',' or ']', but got '<stream end>'",
                      "stops": "no scheduled run starts until the sources file is mended"}},
        {"text": "newsflow: the DAG file news_scheduled.py imports again\nhttp://127.0.0.1:8080",
         "newsflow": {"kind": "dag_import_error_cleared", "file": "news_scheduled.py"}}], hook.posts
    told = [line for line in said if " newsflow housekeeper: " in line]
    assert len(told) == 2, said
    assert "the DAG file news_scheduled.py does not import (ConfigError: " in told[0]
    assert told[1].endswith("the DAG file news_scheduled.py imports again")


def test_a_mistake_the_webhook_refused_is_posted_at_the_next_look():
    """The webhook answered 500 the minute a sources file broke: the mistake was remembered as told and never
    posted, and the channel later heard only that the file `imports again`."""
    from newsflow.alerts import AlertSettings
    from newsflow.housekeeper import ImportErrorWatch
    from tests.support.webhook import Webhook

    said: list[str] = []
    with Webhook(status=500, answer=b"boom") as hook:
        watch = ImportErrorWatch(said.append, alerts=AlertSettings(webhook=hook.url, timeout_s=5))
        broken = Airflow(error())
        watch.look(STATE, broken)
        assert [p["newsflow"]["kind"] for p in hook.posts] == ["dag_import_error"]
        assert said[-1].endswith("answered HTTP 500: boom); the next look posts it again"), said
        hook.status = 200
        watch.look(STATE, broken)
        watch.look(STATE, broken)  # taken: told once
        assert [p["newsflow"]["kind"] for p in hook.posts] == ["dag_import_error"] * 2
        hook.status = 500
        mended = Airflow()
        watch.look(STATE, mended)
        hook.status = 200
        watch.look(STATE, mended)
        watch.look(STATE, mended)
    assert [p["newsflow"]["kind"] for p in hook.posts] == ["dag_import_error"] * 2 + ["dag_import_error_cleared"] * 2
