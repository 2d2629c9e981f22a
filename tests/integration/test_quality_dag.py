"""A real news_quality run through Airflow (`airflow dags test`) against a small hand-made warehouse: the checks
land in quality_checks, and the dashboard and the GX Data Docs are written to the data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsflow.airflow_runner import dags_test
from newsflow.warehouse import connect
from tests.support.webhook import Webhook
from tests.unit.test_quality_checks import make_warehouse

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(tmp_path_factory, airflow_home):
    root = tmp_path_factory.mktemp("quality")
    data = root / "data"
    data.mkdir()
    make_warehouse(data / "warehouse")
    return {
        "NEWSFLOW_DATA_DIR": str(data),
        "NEWSFLOW_WAREHOUSE": str(data / "warehouse"),
        "AIRFLOW_HOME": str(airflow_home),
    }


def run(env, logical_date=None):
    lines: list[str] = []
    dags_test("news_quality", {}, env_extra=env, logical_date=logical_date, echo=lines.append)
    return "\n".join(lines)


def test_news_quality_run(env):
    out = run(env, "2026-11-20T12:00:00+00:00")
    for task in ("run_checks", "build_data_docs", "write_dashboard", "send_alerts"):
        assert f"done  {task}" in out, out
    con = connect(env["NEWSFLOW_WAREHOUSE"], read_only=True)
    rows = con.execute("select run_id, check_name, source, status from quality_checks").fetchall()
    con.close()
    assert len({r[0] for r in rows}) == 1
    checks = {(r[1], r[2]): r[3] for r in rows}
    assert checks[("volume_latest_day", "beta")] == "fail"  # beta went silent five days ago
    assert checks[("freshness_published_hours", "beta")] == "fail"
    assert any(name.startswith("gx:") for name, _ in checks)
    data = env["NEWSFLOW_DATA_DIR"]
    dashboard = Path(data) / "reports" / "dashboard.html"
    text = dashboard.read_text(encoding="utf-8")
    assert "Latest quality checks" in text and "volume_latest_day" in text
    index = Path(data) / "data_docs" / "index.html"
    assert index.exists() and "newsflow_warehouse_articles" in index.read_text(encoding="utf-8")

    assert checks[("freshness_published_hours", "alpha")] == "pass"  # measured at the logical date

    # a second run adds its own rows and leaves the first run's alone
    run(env, "2026-11-20T12:00:00+00:00")
    con = connect(env["NEWSFLOW_WAREHOUSE"], read_only=True)
    per_run = con.execute("select run_id, count(*) from quality_checks group by 1").fetchall()
    con.close()
    assert len(per_run) == 2 and all(n == len(rows) for _, n in per_run)


def test_on_success_gets_the_run_id_and_its_error_is_raised_after_the_run(env):
    """`newsflow ingest` prints its summary from on_success while Airflow shuts down: the callback gets the run's
    id once the run is successful, and an error in it is not lost (raised once the airflow process has ended)."""
    seen: list[str] = []
    info: dict = {}

    def summary(run_id):
        seen.append(run_id)
        raise RuntimeError("summary failed")

    with pytest.raises(RuntimeError, match="summary failed"):
        dags_test("news_quality", {}, env_extra=env, logical_date="2026-11-21T12:00:00+00:00",
                  echo=lambda _m: None, run_info=info, on_success=summary)
    assert info["state"] == "success"
    assert seen == [info["run_id"]] and seen[0].startswith("manual__")


def test_the_checks_that_fail_are_posted_to_the_webhook(tmp_path, airflow_home):
    """A real run with NEWSFLOW_ALERT_WEBHOOK set: its failing checks, new on a warehouse never checked before, are
    posted once to a loopback webhook (which changes count as news is the unit tests' business)."""
    data = tmp_path / "data"
    data.mkdir()
    make_warehouse(data / "warehouse")
    with Webhook() as hook:
        env = {"NEWSFLOW_DATA_DIR": str(data), "NEWSFLOW_WAREHOUSE": str(data / "warehouse"),
               "AIRFLOW_HOME": str(airflow_home), "NEWSFLOW_ALERT_WEBHOOK": hook.url}
        out = run(env, "2026-11-20T12:00:00+00:00")
    assert "done  send_alerts" in out, out
    [payload] = hook.posts
    con = connect(data / "warehouse", read_only=True)
    failing = con.execute("select check_name, source from quality_checks where status = 'fail' order by all").fetchall()
    [run_id] = con.execute("select distinct run_id from quality_checks").fetchone()
    con.close()
    assert ("volume_latest_day", "beta") in failing
    assert payload["newsflow"]["run_id"] == run_id
    assert sorted((r["check_name"], r["source"]) for r in payload["newsflow"]["raised"]) == failing
    assert payload["text"].startswith(f"newsflow quality run {run_id} on {data / 'warehouse'}: "
                                      f"{len(failing)} started failing\n"), payload["text"]
    assert "  fail  volume_latest_day [beta]: " in payload["text"]


def test_a_webhook_that_answers_too_late_gets_the_alert_once(tmp_path, airflow_home):
    """A webhook that takes the post and answers after the timeout (NEWSFLOW_ALERT_TIMEOUT_S, 15 s by default): the
    run fails at once, saying so, instead of retrying send_alerts twice, each retry posting the same alert again."""
    from newsflow.airflow_runner import DagRunFailed

    data = tmp_path / "data"
    data.mkdir()
    make_warehouse(data / "warehouse")
    info: dict = {}
    with Webhook(delay_s=4) as hook:
        env = {"NEWSFLOW_DATA_DIR": str(data), "NEWSFLOW_WAREHOUSE": str(data / "warehouse"),
               "AIRFLOW_HOME": str(airflow_home), "NEWSFLOW_ALERT_WEBHOOK": hook.url, "NEWSFLOW_ALERT_TIMEOUT_S": "2"}
        with pytest.raises(DagRunFailed):
            dags_test("news_quality", {}, env_extra=env, logical_date="2026-11-20T12:00:00+00:00",
                      echo=lambda _m: None, run_info=info)
    # the alert once, then the failed run's own announcement (which waits for no answer either)
    assert [("started failing" in post["text"], post.get("newsflow", post).get("reason")) for post in hook.posts] == [
        (True, None), (False, "task_failure")], hook.posts
    assert any("took the post but did not answer within 2 s" in cause for cause in info["causes"]), info


def test_a_lake_named_by_hand_is_checked_only_when_there_and_never_takes_the_uis_dashboard(env, tmp_path):
    """The `warehouse` param: a typo made a new empty lake (its folders too), every check passed on it, and its
    dashboard ("0 articles from 0 sources") replaced the deployment's, which the UI serves; a side lake checked
    took the UI's dashboard as well, and no page said which lake it showed."""
    from newsflow.airflow_runner import DagRunFailed
    from newsflow.dag_tasks import warehouse_key
    from newsflow.quality_checks import shown_warehouse

    reports = Path(env["NEWSFLOW_DATA_DIR"]) / "reports"
    run(env, "2026-11-22T12:00:00+00:00")
    ui_page = (reports / "dashboard.html").read_text(encoding="utf-8")
    assert f"warehouse <code>{shown_warehouse(env['NEWSFLOW_WAREHOUSE'])}</code>" in ui_page

    typo = tmp_path / "typo" / "warehuose"
    info: dict = {}
    with pytest.raises(DagRunFailed):
        dags_test("news_quality", {"warehouse": str(typo)}, env_extra=env, logical_date="2026-11-22T13:00:00+00:00",
                  echo=lambda _m: None, run_info=info)
    assert any("is not there: no lake to check" in cause for cause in info["causes"]), info
    assert not (tmp_path / "typo").exists()

    side = make_warehouse(tmp_path / "side", days=3)
    run_info: dict = {}
    dags_test("news_quality", {"warehouse": str(side)}, env_extra=env, logical_date="2026-11-22T14:00:00+00:00",
              echo=lambda _m: None, run_info=run_info)
    assert (reports / "dashboard.html").read_text(encoding="utf-8") == ui_page
    side_page = (reports / f"dashboard-{warehouse_key(str(side))}.html").read_text(encoding="utf-8")
    assert f"warehouse <code>{shown_warehouse(str(side))}</code>" in side_page


def test_a_warc_backfill_judges_the_pages_its_day_rejected(tmp_path, airflow_home):
    """`newsflow ingest --quality --logical-date` on a 2018 crawl: 4 of its 10 pages were live-blog stubs, rejected
    body_too_short. The day's article checks were graded, its rejections were not: windowed on when the load logged
    them (today), none fell in the backfill's day, and the quality run that a dashboard owner reads for that day said
    nothing of them. A live quality run today would have graded them as today's instead."""
    import io
    import os
    import subprocess
    import sys

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    news = Path(__file__).resolve().parents[2] / "plugins/newsflow/sample_site/site/dailyherald/news"
    stub = (news / "council-budget-vote-live-updates.html").read_bytes()
    pages = [(f"https://herald.example/news/{page.stem}", page.read_bytes()) for page in sorted(news.glob("*.html"))
             if page.stem != "council-budget-vote-live-updates"]
    pages += [(f"https://herald.example/news/live-{i}", stub.replace(b"</title>", f" {i}</title>".encode()))
              for i in range(4)]
    warc = tmp_path / "crawl.warc.gz"
    with open(warc, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i, (url, body) in enumerate(pages):
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers,
                warc_headers_dict={"WARC-Date": f"2018-06-13T{8 + i:02d}:00:00Z"}))
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - {{name: herald2018, kind: warc, path: '{warc}', timezone: Europe/London}}\n",
                       encoding="utf-8")
    data = tmp_path / "data"
    env = {**os.environ, "NEWSFLOW_DATA_DIR": str(data), "NEWSFLOW_WAREHOUSE": str(data / "warehouse"),
           "AIRFLOW_HOME": str(airflow_home)}
    result = subprocess.run([sys.executable, "-m", "newsflow.cli", "ingest", "--sources", str(sources), "--quality",
                             "--logical-date", "2018-06-14"], env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    con = connect(data / "warehouse", read_only=True)
    try:
        checks = {name: (status, observed, details) for name, status, observed, details in con.execute(
            "select check_name, status, observed, details from quality_checks where source = 'herald2018'")
            .fetchall()}
    finally:
        con.close()
    assert checks["extraction_body_chars"][0] == "pass"  # the day's articles were judged
    status, observed, details = checks["extraction_rejection_body_too_short"]
    assert (status, observed) == ("fail", 0.4), details
    assert "fail  extraction_rejection_body_too_short [herald2018]" in result.stdout
