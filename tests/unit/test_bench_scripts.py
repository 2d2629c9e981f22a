"""The benchmark scripts that docs/benchmarks.md quotes still run on the current schema: a small synthetic lake is
built (bench/synthetic_warehouse.py), every analyst view and macro answers on it (bench/views.py), and the dashboard
is written from it. The generator's positional inserts once lacked the columns of migrations 007 and 008."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from newsflow.report import build_report
from newsflow.warehouse import connect

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def test_a_synthetic_lake_builds_and_every_view_and_the_dashboard_answer_on_it(tmp_path):
    lake = tmp_path / "lake"
    run("bench/synthetic_warehouse.py", "--articles", "300", "--days", "20", "--not-due-rows", "5000",
        "--output", str(lake))
    con = connect(lake, read_only=True)
    try:
        articles, copies, indexed = con.execute(
            "select count(*), count(duplicate_of), (select count(distinct article_seq) from article_terms) "
            "from articles").fetchone()
        logged = con.execute("select count(*) from fetch_log where url_kind = 'article'").fetchone()[0]
        # ten 50-item listings a run, of the ten biggest sources' newest articles as of each run
        not_due = con.execute("select count(*), count(distinct run_id), count(distinct source), "
                              "count(*) filter (where article_id not in (select article_id from articles)) "
                              "from fetch_log where reason = 'not_due'").fetchone()
    finally:
        con.close()
    assert articles >= 300 and copies > 0 and indexed == articles  # every article, copies too, in the term table
    assert logged >= articles
    assert not_due[1:] == (10, 10, 0) and 500 <= not_due[0] <= 5000  # fewer: a small source lists what it has

    timings = run("bench/views.py", "--warehouse", str(lake), "--runs", "1").stdout
    for view in sorted((ROOT / "sql" / "views").glob("*.sql")):  # a new view is timed too
        assert f"`{view.stem}`" in timings, view.stem
    assert "`term_coverage(" in timings and "`source_coverage(" in timings
    checks = run("bench/views.py", "--warehouse", str(lake), "--runs", "1", "--checks").stdout
    assert "`check_unique_keys`" in checks and "`sql_checks (all)`" in checks

    # the example questions docs/warehouse.md answers in SQL still run on the current schema (they had no test)
    examples = (ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8").split("## Example questions", 1)[1]
    queries = re.findall(r"```sql\n(.*?)```", examples, flags=re.S)
    assert len(queries) >= 10
    con = connect(lake, read_only=True)
    try:
        answered = [len(con.execute(query).fetchall()) for query in queries]
    finally:
        con.close()
    assert all(answered), answered  # each finds something on this lake (a seeded one: the same every run)

    text = build_report(tmp_path / "dashboard.html", warehouse=lake).read_text(encoding="utf-8")
    for div in ("coverage", "heatmap", "term", "rejections", "fetch"):  # no validation or checks in this lake
        assert f'id="{div}"' in text, div


def test_the_alerts_bench_runs_on_a_small_history(tmp_path):
    out = run("bench/quality_changes.py", "--runs", "200", "--checks", "10", "--repeat", "1",
              "--output", str(tmp_path)).stdout
    assert "wrote 2,000 rows" in out and "quality_changes('q00000160'): median" in out, out
    assert "alert_changes('q00000160'): median" in out, out
