"""The offline dashboard: rendered from small warehouses (and an empty one), self-contained (plotly.js inline, no
network), drawn for real by headless chromium, and served by the Airflow UI plugin's FastAPI app."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from newsflow.report import (
    build_report,
    collect,
    default_term,
    fig_coverage,
    fig_fetch,
    fig_heatmap,
    fig_rejections,
    fig_term,
    fig_validation,
    render,
)
from newsflow.warehouse import connect, open_for_write
from tests.unit.test_cli_sql import unwritable_outputs
from tests.unit.test_quality_checks import NOW, add_article, add_fetch, add_run, make_warehouse

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    path = make_warehouse(root / "w")
    con = connect(path)
    con.execute("insert into rejected_articles (run_id, source, seq, url, reasons, rejected_at) values "
                "('r2', 'alpha', 0, 'http://alpha.test/bad', ['body_too_short'], now()), "
                "('r2', 'alpha', 1, 'http://alpha.test/bad2', ['future_date', 'bad_language_code'], now())")
    con.execute("insert into validation_results values ('r2', 'alpha', 'expect_x', 'body', true, 10, 0, 0, null, ?),"
                "('r2', 'alpha', 'expect_y', 'url', false, 10, 1, 10, null, ?)", [NOW, NOW])
    con.execute("insert into quality_checks values ('q1', ?, 'freshness_published_hours', 'beta', 144, '<= 48h', "
                "'fail', null), ('q1', ?, 'null_rate_title', '*', 0, '<= 0.05', 'pass', null), "
                "('q1', ?, 'duplicate_rate', '*', 0, '<= 0.2', 'pass', null)", [NOW, NOW, NOW])
    # the quality run before: beta was only late then, and there was no duplicate check yet
    con.execute("insert into quality_checks values ('q0', ?, 'freshness_published_hours', 'beta', 70, '<= 48h', "
                "'warn', null), ('q0', ?, 'null_rate_title', '*', 0, '<= 0.05', 'pass', null)",
                [NOW - timedelta(hours=1), NOW - timedelta(hours=1)])
    con.close()
    return path


@pytest.fixture(scope="module")
def dashboard(warehouse, tmp_path_factory):
    return build_report(tmp_path_factory.mktemp("out") / "dashboard.html", warehouse=warehouse, now=NOW)


def assert_self_contained(text: str) -> None:
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", text, flags=re.I)
    for tag in tags:
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", tag, flags=re.I), tag
    assert "cdn.plot.ly" not in text.split("</head>")[-1]
    assert text.count("<script") >= 1 and len(text) > 3_000_000  # plotly.js (several MB) is inline


def test_dashboard_is_self_contained_and_complete(dashboard):
    text = dashboard.read_text(encoding="utf-8")
    assert_self_contained(text)
    from plotly.offline import get_plotlyjs

    assert get_plotlyjs()[:2000] in text
    for div in ("coverage", "heatmap", "term", "validation", "rejections", "fetch"):
        assert f'id="{div}"' in text, div
    assert "Term trend: election" in text  # the most frequent long word of the titles
    assert "status-fail" in text and "freshness_published_hours" in text
    # what changed since the quality run before, as the alerts said it
    assert "2 changed since the run before" in text
    table = text.split("Latest quality checks")[1].split("</table>")[0]
    cells = [[re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td>(.*?)</td>", row)]
             for row in re.findall(r"<tr>(.*?)</tr>", table)]
    since = {(row[0], row[1]): row[5] for row in cells if row}
    assert since == {("freshness_published_hours", "beta"): "was warn", ("duplicate_rate", "*"): "new",
                     ("null_rate_title", "*"): ""}
    assert "body_too_short" in text and "future_date" in text
    assert "gap: zero" in text  # beta's silent days are marked on the heatmap
    assert "no data" not in text


def test_term_option_and_cli(warehouse, tmp_path):
    out = tmp_path / "d.html"
    result = subprocess.run(
        [sys.executable, "-m", "newsflow.cli", "report", "--output", str(out), "--term", "Results",
         "--warehouse", str(warehouse)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")},
    )
    assert result.returncode == 0, result.stderr
    assert "wrote dashboard" in result.stdout
    assert "Term trend: Results" in out.read_text(encoding="utf-8")


def test_empty_warehouse_says_no_data(tmp_path):
    path = tmp_path / "empty"
    open_for_write(path).close()
    text = build_report(tmp_path / "e.html", warehouse=path, now=NOW).read_text(encoding="utf-8")
    assert_self_contained(text)
    assert text.count("no data") >= 6
    assert "0 articles from 0 sources" in text


def test_report_opens_read_only(warehouse, tmp_path):
    # a writer holding the lake open does not stop the report (readers attach read-only)
    con = connect(warehouse)
    try:
        con.execute("begin transaction")
        con.execute("delete from quality_checks")
        build_report(tmp_path / "r.html", warehouse=warehouse, now=NOW)
        con.execute("rollback")
    finally:
        con.close()


def test_missing_warehouse_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        build_report(tmp_path / "x.html", warehouse=tmp_path / "nope")


def test_report_whose_folder_cannot_be_made_says_cannot_write(tmp_path, monkeypatch, capsys):
    # a folder on the way that is a file read "newsflow: [Errno 17] File exists: '/etc/passwd'", naming no output
    from newsflow.cli import main

    path = tmp_path / "w"
    open_for_write(path).close()
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(path))  # main() sets it again; restored after the test
    for pattern, why in unwritable_outputs(tmp_path / "out"):
        output = Path(str(pattern).format(suffix="html"))
        code = main(["report", "--output", str(output), "--warehouse", str(path)])
        out, err = capsys.readouterr()
        assert code == 1 and out == "" and err.count("\n") == 1, err
        assert err.startswith(f"newsflow: cannot write {output}: ") and why in err, err
        assert not output.exists() and not output.with_name(output.name + ".tmp").exists()


def test_a_reprocess_run_is_no_ingest_run(tmp_path):
    # after `newsflow reprocess` the header read "2 ingest runs", and the reprocess's revalidation of the whole
    # archive and its `unchanged` rows stood in the charts per ingest run
    path = make_warehouse(tmp_path / "w", days=5)
    con = connect(path)
    con.execute("insert into runs (run_id, dag_id, started_at, loaded_at, status) values "
                "('re1', 'news_reprocess', ?, ?, 'succeeded')", [NOW - timedelta(minutes=20), NOW - timedelta(minutes=10)])
    add_fetch(con, "re1", "alpha", ["unchanged"] * 40, NOW - timedelta(minutes=10))
    con.execute("insert into validation_results values ('r2', 'alpha', 'expect_x', 'body', true, 8, 0, 0, null, ?), "
                "('re1', 'alpha', 'expect_x', 'body', false, 40, 40, 100, null, ?)",
                [NOW - timedelta(hours=1), NOW - timedelta(minutes=10)])
    con.close()
    con = connect(path, read_only=True)
    try:
        data = collect(con, now=NOW)
    finally:
        con.close()
    assert data["totals"][4] == 1 and data["reprocess_runs"] == 1
    assert set(data["validation"]["run_id"]) == {"r2"} and set(data["fetch"]["run_id"]) == {"r2"}
    text = render(data)
    assert "1 ingest run, 1 reprocess run ·" in text


def test_term_trend_counts_what_term_coverage_counts(tmp_path):
    # originals only and whole words, as analysts' term_coverage counts: a wire copy of a story (duplicate_of set)
    # and a longer word ("бюджетный" is not "бюджет") do not count; a day without a mention is a 0
    con = open_for_write(tmp_path / "w")
    day = NOW - timedelta(days=2)
    add_article(con, 1, "alpha", day, title="Парламент одобрил бюджет", body="Депутаты обсуждали бюджет весь день.")
    add_article(con, 2, "beta", day, title="Парламент одобрил бюджет", body="Депутаты обсуждали бюджет весь день.",
                duplicate_of="alpha-1")
    add_article(con, 3, "alpha", day + timedelta(days=1), title="Бюджетный комитет", body="Комитет собрался утром.")
    add_article(con, 4, "beta", day + timedelta(days=1), title="Погода", body="Весь день шёл дождь над городом.")
    data = collect(con, term="Бюджет", now=NOW)
    con.close()
    got = [(pd.Timestamp(r.period).date(), r.articles, r.all_articles) for r in data["term_trend"].itertuples()]
    assert got == [(day.date(), 1, 1), ((day + timedelta(days=1)).date(), 0, 2)]
    assert data["grain"] == "day"


def test_a_long_archive_is_charted_by_week_and_its_last_180_days_by_day(tmp_path):
    # two years of a daily source: coverage per week (every article counted once), the heatmap the last 180 days
    # per day, the term trend per week; a year of daily bars per source is what made the 1M-article page 7 MB
    con = open_for_write(tmp_path / "w")
    first = NOW - timedelta(days=730)
    for i in range(731):
        add_article(con, i, "alpha" if i % 3 else "бета", first + timedelta(days=i))
    add_article(con, 1, "الحدث", NOW - timedelta(days=300))  # silent for the heatmap's whole window
    data = collect(con, term="election", now=NOW)
    con.close()
    assert data["grain"] == "week"
    cov = data["coverage"]
    assert cov["articles"].sum() == 732
    assert cov.groupby("source")["articles"].sum().to_dict() == {"alpha": 487, "бета": 244, "الحدث": 1}
    assert all(pd.Timestamp(p).day_of_week == 0 for p in cov["period"]) and len(cov) <= 2 * 106
    heat = data["heatmap"]
    days = sorted(pd.Timestamp(d).date() for d in heat["day"].unique())
    assert len(days) == 180 and days[-1] == NOW.date() and heat["articles"].sum() == 180
    # the silent source keeps its row of zeros: a silence is what the heatmap is there to show
    grid = fig_heatmap(heat, data["gaps"], cov["source"].unique()).data[0]
    assert list(grid.y) == ["alpha", "бета", "الحدث"]
    assert sum(grid.z[list(grid.y).index("الحدث")]) == 0 and len(grid.x) == 180
    assert len(data["term_trend"]) in (105, 106)
    fig = fig_coverage(cov, data["grain"])
    assert fig.layout.xaxis.title.text == "published week" and "per published week" in fig.layout.title.text


def test_a_few_archive_pages_do_not_stretch_the_charts_over_time(tmp_path, dashboard):
    # three weeks of news from three sources plus two archive pages (1995, 2009): the charts stay daily over the
    # three weeks, the header says what they leave out, and the totals still count every article
    con = open_for_write(tmp_path / "w")
    first = NOW - timedelta(days=20)
    for i in range(63):
        add_article(con, i, ("alpha", "новости", "الحدث")[i % 3], first + timedelta(days=i // 3),
                    title="Выборы: итоги" if i % 2 else "Election results")
    add_article(con, 100, "alpha", datetime(1995, 3, 2, tzinfo=UTC))
    add_article(con, 101, "новости", datetime(2009, 7, 14, tzinfo=UTC))
    data = collect(con, term="election", now=NOW)
    con.close()
    cov = data["coverage"]
    assert data["grain"] == "day" and cov["articles"].sum() == 63 and len(cov["period"].unique()) == 21
    assert data["totals"][0] == 65 and data["totals"][2] == date(1995, 3, 2)
    assert data["since"] == first.date() and data["left_out"] == 2
    assert [pd.Timestamp(p).date() for p in data["term_trend"]["period"]][0] == first.date()
    page = render(data)
    assert f"1995-03-02 – {NOW.date()}; charts over time from {first.date()}, leaving out 2 older articles" in page
    # the module's small warehouse has no old tail: nothing said, nothing left out
    assert "leaving out" not in Path(dashboard).read_text()


def test_an_old_tail_is_kept_when_it_is_more_than_a_few_articles_or_changes_nothing(tmp_path):
    # a backfill of a tenth of the articles is data, not a stray page: kept, and the charts go monthly; one
    # article 100 days before a month of news keeps the daily period anyway, so nothing is left out
    con = open_for_write(tmp_path / "w")
    for i in range(30):
        add_article(con, i, "alpha", NOW - timedelta(days=i))
    for i in range(4):
        add_article(con, 50 + i, "beta", datetime(2001, 1, 1 + i, tzinfo=UTC))
    data = collect(con, term="election", now=NOW)
    assert data["left_out"] == 0 and data["grain"] == "month" and data["since"] == date(2001, 1, 1)
    con.execute("delete from articles where source = 'beta'")
    add_article(con, 60, "beta", NOW - timedelta(days=130))
    data = collect(con, term="election", now=NOW)
    con.close()
    assert data["left_out"] == 0 and data["grain"] == "day" and data["coverage"]["articles"].sum() == 31


def test_coverage_colours_the_twelve_biggest_sources_and_bands_the_rest():
    # twenty sources (a Cyrillic and an Arabic name among them): twelve traces by size, one "8 other sources" band,
    # and every article still counted; a chart of a few sources keeps one trace each
    sources = [f"source{i:02d}" for i in range(18)] + ["новости", "الحدث"]
    rows = [{"source": name, "period": date(2026, 11, day), "articles": 100 - i + day}
            for i, name in enumerate(sources) for day in (2, 9)]
    df = pd.DataFrame(rows)
    fig = fig_coverage(df, "week")
    names = [trace.name for trace in fig.data]
    assert names == [*sources[:12], "8 other sources"]
    assert sum(sum(trace.y) for trace in fig.data) == df["articles"].sum()
    assert list(fig.data[-1].y) == [sum(100 - i + 2 for i in range(12, 20)), sum(100 - i + 9 for i in range(12, 20))]
    few = fig_coverage(df[df["source"].isin(["новости", "الحدث", "source00"])], "week")
    assert [trace.name for trace in few.data] == ["source00", "новости", "الحدث"]


def test_default_term_is_the_headline_word_most_articles_share(tmp_path):
    # a small site's titles share no word: the tie goes to the headline word the most articles mention
    con = open_for_write(tmp_path / "w")
    for i, (title, body) in enumerate([
        ("Dockworkers strike at the port", "The port stood still; الانتخابات were on every radio."),
        ("Councillors approve the budget", "Before الانتخابات the council passed the budget."),
        ("الانتخابات البلدية", "يتوجه الناخبون إلى صناديق الاقتراع في الانتخابات البلدية."),
    ], start=1):
        add_article(con, i, "alpha", NOW - timedelta(hours=i), title=title, body=body)
    assert default_term(con) == "الانتخابات"  # in one title like the others, mentioned by all three articles
    add_article(con, 4, "alpha", NOW, title="Dockworkers return", body="Work resumed.")
    assert default_term(con) == "dockworkers"  # two titles beat one
    con.close()


def test_a_first_day_gets_readable_axes():
    # one day of articles, one run: plotly alone would zoom into milliseconds around the lone point and tick
    # counts of 1 at 0.2, 0.4 ...
    one_day = pd.DataFrame({"source": ["alpha", "beta"], "period": [date(2026, 12, 1)] * 2, "articles": [1, 2]})
    axis = fig_coverage(one_day).layout.xaxis
    assert [pd.Timestamp(x).date() for x in axis.range] == [date(2026, 11, 30), date(2026, 12, 2)]
    assert axis.dtick == 86_400_000 and "%H" not in axis.tickformat
    assert fig_coverage(one_day).layout.yaxis.dtick == 1

    run = pd.Timestamp("2026-12-01 16:36:17.5637", tz="UTC")
    fetch = pd.DataFrame({"run_start": [run] * 2, "run_id": ["r1"] * 2, "outcome": ["loaded", "failed"], "n": [32, 2]})
    fig = fig_fetch(fetch)
    low, high = (pd.Timestamp(x) for x in fig.layout.xaxis.range)
    assert high - low == pd.Timedelta(hours=2) and all(bar.width == 600_000 for bar in fig.data)
    validation = pd.DataFrame({"run_id": ["r1"], "validated_at": [run], "pass_rate": [0.95]})
    low, high = (pd.Timestamp(x) for x in fig_validation(validation).layout.xaxis.range)
    assert high - low == pd.Timedelta(hours=2)
    rejections = pd.DataFrame({"reason": ["missing_date"], "source": ["alpha"], "n": [1]})
    assert fig_rejections(rejections).layout.xaxis.dtick == 1

    # a month of days and many runs keep plotly's own axes
    month = pd.DataFrame({"source": ["alpha"] * 30, "period": pd.date_range("2026-11-01", periods=30).date,
                          "articles": [40] * 30})
    assert fig_coverage(month).layout.xaxis.range is None and fig_coverage(month).layout.yaxis.dtick is None


def test_run_charts_show_the_30_days_up_to_the_latest_run(tmp_path):
    # a service ingesting every 15 minutes makes ~35,000 runs a year: the per-run charts keep the last 30 days
    con = open_for_write(tmp_path / "w")
    add_article(con, 1, "alpha", NOW - timedelta(days=50))
    for run_id, when in (("old", NOW - timedelta(days=45)), ("month", NOW - timedelta(days=29)), ("new", NOW)):
        add_run(con, run_id, when)
        add_fetch(con, run_id, "alpha", ["loaded", "loaded", "failed"], when)
        con.execute("insert into validation_results values (?, 'alpha', 'expect_x', 'body', true, 2, 0, 0, null, ?)",
                    [run_id, when])
    data = collect(con, now=NOW + timedelta(days=90))  # the newest run, not the clock, anchors the window
    con.close()
    assert set(data["fetch"]["run_id"]) == set(data["validation"]["run_id"]) == {"month", "new"}
    assert sorted(data["fetch"].query("run_id == 'new'")[["outcome", "n"]].itertuples(index=False)) == [
        ("failed", 1), ("loaded", 2)]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                    "(apt-get install -y --no-install-recommends chromium)")
def test_a_first_day_dashboard_ticks_days_and_minutes_in_chromium(tmp_path):
    # what a new user sees after the first `make demo`: one day of articles, one run, one validation
    con = open_for_write(tmp_path / "w")
    for i in range(3):
        add_article(con, i, "alpha", NOW - timedelta(hours=2 + i))
    add_run(con, "r1", NOW - timedelta(minutes=30))
    add_fetch(con, "r1", "alpha", ["loaded"] * 3 + ["failed"], NOW - timedelta(minutes=30))
    con.execute("insert into validation_results values ('r1', 'alpha', 'expect_x', 'body', true, 3, 0, 0, null, ?)",
                [NOW - timedelta(minutes=29)])
    con.close()
    out = build_report(tmp_path / "first.html", warehouse=tmp_path / "w", now=NOW)
    result = chromium(["--dump-dom", out.as_uri()], tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-3000:]
    ticks = re.findall(r'class="[xy]\d?tick"[^>]*>.*?<text[^>]*>(.*?)</text>', result.stdout)
    assert ticks, "no axis was drawn"
    fractions = [t for t in ticks if re.search(r"\d:\d\d:\d\d\.\d|^0\.\d", re.sub(r"<[^>]+>", "", t))]
    assert not fractions, fractions  # no milliseconds on a time axis, no 0.2 of an article
    assert "1 ingest run ·" in out.read_text(encoding="utf-8")


# --- the Airflow UI plugin ---------------------------------------------------------------------------------------


@pytest.fixture
def client(dashboard, monkeypatch, tmp_path):
    from fastapi.testclient import TestClient

    from newsflow import ui_plugin

    data = tmp_path / "data"
    (data / "reports").mkdir(parents=True)
    shutil.copy(dashboard, data / "reports" / "dashboard.html")
    (data / "data_docs").mkdir()
    (data / "data_docs" / "index.html").write_text("<html>GX data docs</html>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(data))
    ui_plugin.app.dependency_overrides[ui_plugin.require_user] = lambda: None
    yield TestClient(ui_plugin.app)
    ui_plugin.app.dependency_overrides.clear()


def test_plugin_serves_dashboard_and_data_docs(client, dashboard):
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == dashboard.read_text(encoding="utf-8")
    docs = client.get("/data_docs/index.html")
    assert docs.status_code == 200 and "GX data docs" in docs.text
    assert client.get("/data_docs/../../secret.txt").status_code == 404
    assert client.get("/data_docs/%2e%2e/%2e%2e/secret.txt").status_code == 404
    assert client.get("/health").json()["dashboard"] is True


def test_plugin_before_first_run(client, tmp_path):
    (tmp_path / "data" / "reports" / "dashboard.html").unlink()
    response = client.get("/dashboard")
    assert response.status_code == 404 and "news_quality" in response.text


def test_plugin_requires_an_airflow_user():
    from fastapi.testclient import TestClient

    from newsflow import ui_plugin

    client = TestClient(ui_plugin.app)
    # a browser is sent to Airflow's login page; an API client with a bad token gets an error, not a page
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert client.get("/dashboard", headers={"Authorization": "Bearer x"}).status_code in (401, 403)


def test_plugin_registration():
    from airflow.plugins_manager import AirflowPlugin

    from newsflow.ui_plugin import NewsflowUIPlugin

    assert issubclass(NewsflowUIPlugin, AirflowPlugin)
    (app,) = NewsflowUIPlugin.fastapi_apps
    assert app["url_prefix"] == "/newsflow" and app["name"] == "newsflow"
    hrefs = {v["href"] for v in NewsflowUIPlugin.external_views}
    assert hrefs == {"/newsflow/dashboard", "/newsflow/data_docs/index.html"}
    assert all(v["url_route"] for v in NewsflowUIPlugin.external_views)


# --- headless chromium ---------------------------------------------------------------------------------------------


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", *args],
        capture_output=True, text=True, timeout=180,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                    "(apt-get install -y --no-install-recommends chromium)")
def test_dashboard_renders_in_headless_chromium(dashboard, tmp_path):
    result = chromium(["--dump-dom", dashboard.as_uri()], tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-3000:]
    dom = result.stdout
    for div in ("coverage", "heatmap", "term", "validation", "rejections", "fetch"):
        start = dom.index(f'id="{div}"')
        assert 'class="main-svg"' in dom[start:start + 20000], f"{div} was not drawn"
    errors = [line for line in result.stderr.splitlines() if "Uncaught" in line or "ERROR:CONSOLE" in line]
    assert not errors, errors
    shot = tmp_path / "dashboard.png"
    result = chromium(["--window-size=1400,2400", f"--screenshot={shot}", dashboard.as_uri()], tmp_path / "profile2")
    assert result.returncode == 0 and shot.stat().st_size > 50_000
    if os.environ.get("NEWSFLOW_UPDATE_SCREENSHOT"):
        shutil.copy(shot, ROOT / "docs" / "dashboard.png")


MOUNTED = r"""
import json, os, sys
from airflow.api_fastapi.app import create_app, get_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from fastapi.testclient import TestClient

client = TestClient(create_app())
token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
anonymous = client.get("/newsflow/dashboard", follow_redirects=False)
with_cookie = client.get("/newsflow/dashboard", cookies={"_token": token})
with_bearer = client.get("/newsflow/data_docs/index.html", headers={"Authorization": "Bearer " + token})
print("RESULT " + json.dumps([[anonymous.status_code, anonymous.headers.get("location")], with_cookie.status_code,
                              len(with_cookie.text),
                              with_bearer.status_code, with_bearer.text]))
"""


def test_plugin_is_mounted_by_the_airflow_api_server(client, dashboard, tmp_path, airflow_home):
    """The real api-server app (plugins loaded from plugins/) serves the dashboard to an authenticated user only,
    and sends a browser without a session to Airflow's login page."""
    from newsflow.airflow_runner import airflow_env

    env = airflow_env({"AIRFLOW_HOME": str(airflow_home), "NEWSFLOW_DATA_DIR": str(tmp_path / "data"),
                       "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}"})
    result = subprocess.run([sys.executable, "-c", MOUNTED], env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, result.stdout[-3000:] + result.stderr[-3000:]
    import json

    anonymous, cookie, size, bearer, docs = json.loads(lines[-1][len("RESULT "):])
    assert anonymous[0] == 303 and anonymous[1].startswith("/auth/login?next=")
    assert cookie == 200 and size == len(dashboard.read_text(encoding="utf-8"))
    assert bearer == 200 and "GX data docs" in docs


# --- what the dashboard says agrees with the checks (review C) -------------------------------------------------------


def add_check(con, run_id: str, at: datetime, name: str, source: str, status: str, observed=None, details=None):
    con.execute("insert into quality_checks values (?, ?, ?, ?, ?, 'x', ?, ?)",
                [run_id, at, name, source, observed, status, None if details is None else json.dumps(details)])


def add_source(con, name: str):
    con.execute("insert into sources values (?, 'feed', 'http://x', 'en', 'UTC', 'r1', 'r2', ?)", [name, NOW])


def quality_table(page: str) -> list[list[str]]:
    """The rows of the "Latest quality checks" table as text, the status cell as its pill's class and text."""
    table = page.split("Latest quality checks")[1].split("</table>")[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table):
        cells = re.findall(r"<td>(.*?)</td>", row)
        rows.append([re.sub(r'<span class="status ([^"]+)">(.*?)</span>', r"\1:\2", cell) for cell in cells])
    return [row for row in rows if row]


def test_freshness_table_says_what_the_latest_quality_run_says(tmp_path):
    # beta's last article is 5 days old: the view calls it "stale", its freshness check fails; alpha fetched fine but
    # published late (warn); gamma is retired; delta was never judged and keeps the view's status. Worst first.
    con = open_for_write(tmp_path / "w")
    for name in ("delta", "gamma", "beta", "alpha"):
        add_source(con, name)
    add_check(con, "q0", NOW - timedelta(hours=1), "freshness_published_hours", "beta", "pass", 20)
    add_check(con, "q0", NOW - timedelta(hours=1), "freshness_published_hours", "gamma", "fail", 400)
    for name, source, status in (("freshness_fetched_hours", "alpha", "pass"),
                                 ("freshness_published_hours", "alpha", "warn"),
                                 ("freshness_fetched_hours", "beta", "pass"),
                                 ("freshness_published_hours", "beta", "fail"),
                                 ("source_retired", "gamma", "pass")):
        add_check(con, "q1", NOW, name, source, status, details={"note": "x"} if source == "gamma" else None)
    data = collect(con, now=NOW)
    con.close()
    assert [(row[0], row[6]) for row in data["freshness"]] == [
        ("beta", "fail"), ("alpha", "warn"), ("delta", "silent"), ("gamma", "retired")]
    page = render(data)
    fresh = page.split("Source freshness")[1].split("</table>")[0]
    assert re.findall(r'<span class="status (status-[\w-]+)">', fresh) == [
        "status-fail", "status-warn", "status-silent", "status-retired"]
    assert ".status-retired" in page  # a pill of its own colour


def test_freshness_without_the_view_counts_answered_requests_only(tmp_path):
    # a lake whose views predate source_freshness: last fetched is the last request the site answered, as the view
    # and the freshness_fetched_hours check count it, not a later one that failed
    path = make_warehouse(tmp_path / "w", days=3, silent_days=0)
    con = connect(path)
    add_fetch(con, "r3", "alpha", ["failed", "failed"], NOW)
    con.execute("drop view source_freshness")
    data = collect(con, now=NOW)
    con.close()
    fetched = {row[0]: row[2] for row in data["freshness"]}
    assert fetched["alpha"] == NOW - timedelta(hours=1) and fetched["beta"] == NOW - timedelta(hours=1)


def test_coverage_counts_originals_as_coverage_daily_does(tmp_path):
    # a wire copy (duplicate_of set) is one more article on the heatmap, which shows what each outlet published,
    # and no article in the coverage chart, which counts stories as coverage_daily does; both titles say so
    con = open_for_write(tmp_path / "w")
    day = NOW - timedelta(days=2)
    add_article(con, 1, "alpha", day)
    add_article(con, 2, "beta", day, duplicate_of="alpha-1")
    add_article(con, 3, "beta", day + timedelta(days=1))
    data = collect(con, now=NOW)
    daily = con.execute("select sum(articles) from coverage_daily").fetchone()[0]
    con.close()
    assert data["coverage"]["articles"].sum() == daily == 2 and data["heatmap"]["articles"].sum() == 3
    coverage = fig_coverage(data["coverage"], data["grain"]).layout
    assert "original articles" in coverage.title.text and coverage.yaxis.title.text == "original articles"
    heatmap = fig_heatmap(data["heatmap"], data["gaps"], data["coverage"]["source"].unique())
    assert "every copy" in heatmap.layout.title.text


def test_the_first_quality_run_changed_nothing_since_a_run_before(tmp_path):
    # there is no run before the first one: no "3 changed", and its rows say "first run"
    con = open_for_write(tmp_path / "w")
    for name in ("null_rate_title", "duplicate_rate", "freshness_fetched_hours"):
        add_check(con, "q1", NOW, name, "*", "pass")
    first = render(collect(con, now=NOW))
    add_check(con, "q2", NOW + timedelta(hours=1), "null_rate_title", "*", "pass")
    add_check(con, "q2", NOW + timedelta(hours=1), "duplicate_rate", "*", "fail")
    add_check(con, "q2", NOW + timedelta(hours=1), "volume_latest_day", "alpha", "pass")
    second = render(collect(con, now=NOW))
    con.close()
    assert "first quality run" in first and "changed since the run before" not in first
    assert {row[5] for row in quality_table(first)} == {"first run"}
    # the run after: duplicate_rate changed, volume_latest_day is new, the freshness check is gone (not shown)
    assert "2 changed since the run before" in second and "first quality run" not in second


def meta_text(page: str) -> str:
    """The text of the newsflow-meta element as a browser's parser sees it."""
    from html.parser import HTMLParser

    class Meta(HTMLParser):
        inside, text = False, ""

        def handle_starttag(self, tag, attrs):
            self.inside = ("id", "newsflow-meta") in attrs

        def handle_endtag(self, tag):
            self.inside = False

        def handle_data(self, data):
            if self.inside:
                self.text += data

    parser = Meta()
    parser.feed(page)
    return parser.text


def test_the_metadata_element_is_json(warehouse):
    # a script element's text is not HTML: entities stay as they are, and only "</" (or "<!--") could end it
    term = 'a</script><!-- "b" & <b>c</b>'
    con = connect(warehouse, read_only=True)
    page = render(collect(con, term=term, now=NOW))
    con.close()
    meta = json.loads(meta_text(page))
    assert meta["term"] == term and meta["articles"] == 375 and meta["sources"] == 2
    assert meta["generated"] == NOW.strftime("%Y-%m-%d %H:%M UTC")


def plot_strings(fig) -> list[str]:
    """Every string of a figure as plotly.js receives it (the template aside: plotly's own)."""
    out: list[str] = []

    def walk(value):
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key != "template":
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(fig.to_json()))
    return out


def test_names_reach_plotly_as_text_not_markup():
    # plotly draws its own pseudo-HTML in ticks, legends, titles and hover labels: these names would be drawn 80 px
    # high and bold. Escaped, plotly shows the characters themselves.
    import html

    big, bold, amp = '<span style="font-size:80px">BIG</span>', "<b>x</b>", "R&D <i>"
    names = [big, bold, amp]
    day = date(2026, 11, 2)
    coverage = pd.DataFrame({"source": names, "period": [day] * 3, "articles": [3, 2, 1]})
    heat = pd.DataFrame({"source": names, "day": [day] * 3, "articles": [3, 2, 1]})
    gaps = pd.DataFrame({"source": [bold], "day": [day], "gap_kind": ["zero"]})
    trend = pd.DataFrame({"period": [day], "articles": [1], "all_articles": [2], "share": [0.5]})
    run = pd.Timestamp("2026-11-02 10:00", tz="UTC")
    fetch = pd.DataFrame({"run_start": [run], "run_id": [bold], "outcome": ["loaded"], "n": [3]})
    validation = pd.DataFrame({"run_id": [bold], "validated_at": [run], "pass_rate": [1.0]})
    rejections = pd.DataFrame({"reason": [big], "source": [amp], "n": [1]})
    figures = [fig_coverage(coverage), fig_heatmap(heat, gaps, names), fig_term(trend, bold), fig_fetch(fetch),
               fig_validation(validation), fig_rejections(rejections)]
    for fig in figures:
        strings = plot_strings(fig)
        assert not [s for s in strings for name in names if name in s], fig.layout.title.text
    assert [html.unescape(trace.name) for trace in figures[0].data] == names
    grid, marks = figures[1].data
    assert sorted(html.unescape(y) for y in grid.y) == sorted(names) and html.unescape(marks.y[0]) == bold
    assert bold in html.unescape(figures[2].layout.title.text)
    assert html.unescape(figures[3].data[0].text[0]) == bold and html.unescape(figures[4].data[0].text[0]) == bold
    assert html.unescape(figures[5].data[0].y[0]) == big and html.unescape(figures[5].data[0].name) == amp


def test_checks_that_judged_nothing_are_not_shown_as_passing(tmp_path):
    # a note in the details means the check had too little to judge: a grey "not judged", counted on its own; a
    # failure with a note (never fetched) was judged, and a plain pass stays a pass. The stored status is untouched.
    con = open_for_write(tmp_path / "w")
    add_check(con, "q1", NOW, "extraction_body_chars", "alpha", "pass",
              details={"articles": 3, "note": "not enough articles to compare"})
    add_check(con, "q1", NOW, "volume_latest_day", "alpha", "pass", 4, {"note": "insufficient history"})
    add_check(con, "q1", NOW, "freshness_fetched_hours", "beta", "fail", details={"last": None, "note": "never"})
    add_check(con, "q1", NOW, "null_rate_title", "*", "pass", 0, {"nulls": 0})
    page = render(collect(con, now=NOW))
    stored = con.execute("select distinct status from quality_checks where details like '%not enough%'").fetchall()
    con.close()
    summary = page.split('class="summary"')[1].split("</p>")[0]
    assert re.findall(r'class="status ([\w-]+)">(\d+) ([\w ]+)</span>', summary) == [
        ("status-pass", "1", "pass"), ("status-warn", "0", "warn"), ("status-fail", "1", "fail"),
        ("status-not-judged", "2", "not judged")]
    statuses = {(row[0], row[1]): row[4] for row in quality_table(page)}
    assert statuses == {("freshness_fetched_hours", "beta"): "status-fail:fail",
                        ("extraction_body_chars", "alpha"): "status-not-judged:not judged",
                        ("null_rate_title", "*"): "status-pass:pass",
                        ("volume_latest_day", "alpha"): "status-not-judged:not judged"}
    health = page.split("Extraction health per source")[1]
    assert '<span class="status status-not-judged">not judged</span>' in health
    assert ".status-not-judged" in page and stored == [("pass",)]


def test_numbers_are_readable(tmp_path):
    # .4g made a never-fetched source's 74345.2 hours "7.435e+04" and 12345 duplicate keys "1.234e+04"
    con = open_for_write(tmp_path / "w")
    for source, observed in (("alpha", 74345.2), ("beta", 12345.0), ("gamma", 0.666667), ("delta", 0.0045),
                             ("epsilon", 113.8), ("zeta", 2.0)):
        add_check(con, "q1", NOW, "freshness_fetched_hours", source, "fail", observed)
    data = collect(con, now=NOW)
    con.close()
    data["totals"] = (11987, *data["totals"][1:])
    page = render(data)
    observed = {row[1]: row[2] for row in quality_table(page)}
    assert observed == {"alpha": "74,345.2", "beta": "12,345", "gamma": "0.67", "delta": "0.0045",
                        "epsilon": "113.8", "zeta": "2"}
    assert "<p>11,987 articles from 0 sources" in page


def test_heatmap_tells_a_day_without_articles_from_a_day_with_too_few():
    import pandas as pd

    from newsflow.report import fig_heatmap

    days = pd.date_range("2026-11-01", periods=10).date
    df = pd.DataFrame({"source": ["alhadath"] * 10, "day": days, "articles": [5] * 8 + [0, 1]})
    gaps = pd.DataFrame({"source": ["alhadath", "alhadath"], "day": [days[8], days[9]], "gap_kind": ["zero", "low"]})
    markers = {trace.name: (trace.marker.symbol, trace.marker.color) for trace in fig_heatmap(df, gaps).data[1:]}
    assert markers["gap: zero"] != markers["gap: low"] and set(markers) == {"gap: zero", "gap: low"}


def plotly_figure(page: str, div_id: str) -> tuple[list, dict]:
    """(data, layout) of the figure drawn into `div_id`, as the page hands them to Plotly.newPlot."""
    decoder = json.JSONDecoder()
    rest = re.search(r'Plotly\.newPlot\(\s*"' + div_id + r'",\s*', page)
    data, end = decoder.raw_decode(page, rest.end())
    layout, _ = decoder.raw_decode(page, re.match(r",\s*", page[end:]).end() + end)
    return data, layout


def test_times_on_the_dashboard_are_utc_whatever_the_machine_zone(tmp_path):
    # `newsflow report` on a machine set to India's time: DuckDB's session zone is the machine's, and the page, which
    # says "generated … UTC", showed each time 5:30 later, and drew the first run's bars outside their padded hour
    con = open_for_write(tmp_path / "w")
    add_source(con, "alpha")
    add_article(con, 1, "alpha", NOW - timedelta(hours=3))  # fetched an hour after: 10:00 UTC
    add_run(con, "r1", NOW - timedelta(hours=1))
    add_fetch(con, "r1", "alpha", ["loaded"], NOW - timedelta(hours=1))
    con.execute("insert into validation_results values ('r1', 'alpha', 'expect_x', 'body', true, 1, 0, 0, null, ?)",
                [NOW - timedelta(hours=1)])
    add_check(con, "q1", NOW, "freshness_published_hours", "alpha", "pass", 3)
    con.close()
    out = tmp_path / "d.html"
    result = subprocess.run(
        [sys.executable, "-m", "newsflow.cli", "report", "--output", str(out), "--warehouse", str(tmp_path / "w")],
        capture_output=True, text=True, cwd=ROOT, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT / "plugins"), "TZ": "Asia/Kolkata"},
    )
    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    fresh = page.split("Source freshness")[1].split("</table>")[0]
    assert re.findall(r"<td>(\d{4}-\d\d-\d\d \d\d:\d\d)</td>", fresh) == ["2026-11-20 09:00", "2026-11-20 11:00"]
    assert "at 2026-11-20 12:00" in page.split("Latest quality checks")[1]
    # the run started at 10:50 UTC and was validated at 11:00: each chart's one point inside its range
    for div_id, at in (("fetch", "2026-11-20 10:50"), ("validation", "2026-11-20 11:00")):
        data, layout = plotly_figure(page, div_id)
        low, high = (pd.Timestamp(x) for x in layout["xaxis"]["range"])
        assert [pd.Timestamp(x) for x in data[0]["x"]] == [pd.Timestamp(at)]
        assert low < pd.Timestamp(at) < high


def test_fetch_outcomes_of_a_15_minute_schedule_stay_readable():
    # 30 days of a 15-minute schedule are 2,880 runs: a bar each is under half a pixel wide on the chart's ~1,200, and
    # the chart looked empty. The runs are summed per period instead (a few dozen bars), every URL still counted
    first = pd.Timestamp("2026-11-01 00:05", tz="UTC")
    starts = [first + pd.Timedelta(minutes=15 * i) for i in range(2880)]
    fetch = pd.DataFrame({"run_start": starts * 2, "run_id": [f"r{i}" for i in range(2880)] * 2,
                          "outcome": ["unchanged"] * 2880 + ["loaded"] * 2880, "n": [50] * 2880 + [3] * 2880})
    fig = fig_fetch(fetch)
    assert all(len(bar.x) <= 150 for bar in fig.data)
    assert {bar.name: sum(bar.y) for bar in fig.data} == {"unchanged": 50 * 2880, "loaded": 3 * 2880}
    # a few runs keep a bar each
    few = fetch[fetch["run_id"].isin(["r0", "r1", "r2"])]
    assert [len(bar.x) for bar in fig_fetch(few).data] == [3, 3]


def test_a_summed_fetch_outcomes_bar_says_the_runs_it_holds_on_each_of_its_parts():
    # 160 runs of a 15-minute schedule, summed per hour: the first hour's bar holds 4 runs, one of which failed
    # URLs. Hovered, each part of that bar says 4 runs (the README: "each bar saying how many runs it holds"); the
    # failed part said "1 run this hour" beside the loaded part's "4 runs this hour"
    first = pd.Timestamp("2026-11-01 00:05", tz="UTC")
    starts = [first + pd.Timedelta(minutes=15 * i) for i in range(160)]
    fetch = pd.DataFrame({"run_start": [*starts, first], "run_id": [*(f"r{i}" for i in range(160)), "r0"],
                          "outcome": ["loaded"] * 160 + ["failed"], "n": [3] * 160 + [7]})
    bars = {bar.name: bar for bar in fig_fetch(fetch).data}
    assert bars["loaded"].text[0] == bars["failed"].text[0] == "4 runs this hour"
    assert (bars["loaded"].y[0], bars["failed"].y[0]) == (12, 7)
