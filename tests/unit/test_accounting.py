"""The account stage's own verdict: a run whose fetch_log breaks the accounting rule (a URL without an outcome, one
logged twice, an unknown outcome, an altered URL, a row for a URL never discovered) fails loudly, with each count,
and its `runs` row says `failed_accounting`; the rule holding is `succeeded`."""

from __future__ import annotations

import pytest

from newsflow.stages.account import check_accounting
from newsflow.stages.discover import discover_source
from newsflow.stages.fetch_extract import fetch_extract_source
from newsflow.stages.job import AccountingError
from newsflow.stages.load import load_run
from newsflow.stages.plan import plan_run
from newsflow.stages.validate import validate_source
from newsflow.warehouse import connect
from tests.support.faultserver import FaultServer

ROW = "run_id = 'acct' and url_kind = 'article' and seq = 1"


def loaded_run(tmp_path, server) -> list:
    """Three listed pages through every stage up to the load; returns the jobs the account stage is handed."""
    sources = tmp_path / "sources.yaml"
    urls = ", ".join(f"'{server.url(f'/ok/story-{i}')}'" for i in range(3))
    sources.write_text(f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n"
                       f"  max_tries: 1\nsources:\n  - {{name: wire, kind: urls, urls: [{urls}]}}\n")
    jobs = [validate_source(fetch_extract_source(discover_source(j))) for j in plan_run(str(sources), None, "acct")]
    load_run(jobs, run_id="acct", dag_id="test")
    return jobs


def status(data_env) -> str:
    con = connect(data_env / "warehouse", read_only=True)
    try:
        return con.execute("select status from runs where run_id = 'acct'").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize(("tamper", "counts"), [
    (f"delete from fetch_log where {ROW}", (1, 0, 0, 0, 0)),
    (f"insert into fetch_log select * replace (seq + 100 as seq) from fetch_log where {ROW}", (0, 1, 0, 0, 0)),
    (f"insert into fetch_log select * from fetch_log where {ROW}", (0, 0, 1, 0, 0)),
    (f"update fetch_log set outcome = 'lost' where {ROW}", (0, 0, 0, 1, 0)),
    (f"update fetch_log set url = url || '?page=2' where {ROW}", (0, 0, 0, 0, 1)),
], ids=["missing", "unexpected", "doubled", "unknown_outcome", "altered_url"])
def test_a_run_that_breaks_the_accounting_rule_fails_and_says_how(tmp_path, data_env, tamper, counts):
    with FaultServer() as server:
        jobs = loaded_run(tmp_path, server)
    con = connect(data_env / "warehouse")
    try:
        assert con.execute("select count(*) from fetch_log where run_id = 'acct' and url_kind = 'article'"
                           ).fetchone()[0] == 3
        con.execute(tamper)
    finally:
        con.close()
    with pytest.raises(AccountingError) as failed:
        check_accounting(jobs, run_id="acct")
    missing, extra, doubled, bad, altered = counts
    problem = str(failed.value).splitlines()[1].strip()
    assert problem.startswith(f"wire: {missing} without outcome "), problem
    assert problem.endswith(f", {extra} unexpected, {doubled} logged twice, {bad} with unknown outcome, "
                            f"{altered} with altered URL"), problem
    if missing:
        assert "('article', 1)" in problem
    assert status(data_env) == "failed_accounting"


def test_a_run_that_keeps_the_rule_succeeds(tmp_path, data_env):
    with FaultServer() as server:
        jobs = loaded_run(tmp_path, server)
    verdict = check_accounting(jobs, run_id="acct")
    assert verdict["status"] == "succeeded" and verdict["counts"]["loaded"] == 3
    assert status(data_env) == "succeeded"


def _run_sources(tmp_path, server, sources: str, run_id: str):
    path = tmp_path / f"{run_id}.yaml"
    path.write_text(f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n"
                    f"  max_tries: 1\nsources:\n{sources}")
    jobs = [validate_source(fetch_extract_source(discover_source(j))) for j in plan_run(str(path), None, run_id)]
    load_run(jobs, run_id=run_id, dag_id="test")
    return jobs


def test_a_source_none_of_whose_listings_could_be_read_is_a_failed_source(tmp_path, data_env, capsys):
    """A feed that answers 404, an archive that is not there: the stages ran and logged each failure, but there
    was nothing to read. Every source so: the run is `failed` and the account step says why; beside a source that
    loaded: `partial`. A `urls` source whose every page is gone is not a failed source: those are outcomes of its
    URLs (articles_gone, the fetch-failure rate)."""
    from newsflow.cli import print_run_summary
    from newsflow.stages.failures import PermanentError

    with FaultServer() as server:
        dead = (f"  - {{name: gone_feed, kind: feed, url: '{server.url('/nope/rss.xml')}'}}\n"
                f"  - {{name: gone_archive, kind: warc, path: '{tmp_path / 'nowhere' / '*.warc.gz'}'}}\n"
                f"  - {{name: closed_feed, kind: feed, url: '{server.url('/private/rss.xml')}'}}\n")
        jobs = _run_sources(tmp_path, server, dead, "dead")
        with pytest.raises(PermanentError) as failed:
            check_accounting(jobs, run_id="dead")
        others = (f"  - {{name: gone_pages, kind: urls, urls: ['{server.url('/status/404')}', "
                  f"'{server.url('/status/410')}']}}\n  - {{name: wire, kind: urls, urls: ['{server.url('/ok/a')}']}}\n")
        alive = _run_sources(tmp_path, server, dead + others, "half")
        verdict = check_accounting(alive, run_id="half")
    message = str(failed.value)
    # every name before the causes: the console line is cut at 300 characters
    assert message.startswith("every source failed: gone_feed, gone_archive, closed_feed ("), message
    assert "gone_feed: discover: no listing could be read (feed http_404)" in message, message
    assert "gone_archive: discover: no listing could be read (warc warc_not_found)" in message, message
    # skipped, not failed: robots.txt closes the feed; the run was `succeeded` with nothing in it
    assert "closed_feed: discover: no listing could be read (feed robots_disallowed)" in message, message
    assert verdict["status"] == "partial" and verdict["counts"]["loaded"] == 1
    assert set(verdict["failed_sources"]) == {"gone_feed", "gone_archive", "closed_feed"}
    # what `newsflow ingest` names in its "N source(s) failed" line, its skipped feed in the table of problems
    assert print_run_summary("half") == ["closed_feed", "gone_archive", "gone_feed"]
    assert "robots_disallowed" in capsys.readouterr().out
    con = connect(data_env / "warehouse", read_only=True)
    try:
        assert dict(con.execute("select run_id, status from runs").fetchall()) == {"dead": "failed", "half": "partial"}
    finally:
        con.close()


def test_a_source_paced_by_its_crawl_delay_loads_what_its_time_allows_and_the_rest_next_run(
        tmp_path, data_env, monkeypatch):
    """A site's robots.txt Crawl-delay of 2 s fits 2,700 pages in fetch_extract's time, not its 5,000 cap: the task
    hit its 2-hour limit at every run and loaded nothing, ever. Scaled down: a 0.4 s delay and a 1.5 s budget."""
    from newsflow.stages import fetch_extract

    monkeypatch.setattr(fetch_extract, "FETCH_TIME_BUDGET_S", 1.5)
    with FaultServer(crawl_delay=0.4) as server:
        pages = ", ".join(f"'{server.url(f'/ok/p{i}')}'" for i in range(10))
        source = f"  - {{name: paced, kind: urls, urls: [{pages}]}}\n"
        jobs = _run_sources(tmp_path, server, source, "first")
        first = check_accounting(jobs, run_id="first")
        monkeypatch.setattr(fetch_extract, "FETCH_TIME_BUDGET_S", 60)
        second = check_accounting(_run_sources(tmp_path, server, source, "second"), run_id="second")
    assert first["status"] == "succeeded" and 1 <= first["counts"]["loaded"] <= 5, first
    con = connect(data_env / "warehouse", read_only=True)
    try:
        left = con.execute("select count(*) from fetch_log where run_id = 'first' and outcome = 'skipped' "
                           "and reason = 'out_of_time'").fetchone()[0]
        stored = con.execute("select count(*) from articles").fetchone()[0]
    finally:
        con.close()
    assert left == 10 - first["counts"]["loaded"]
    assert second["counts"]["loaded"] == left and stored == 10, second


def test_a_web_page_that_led_to_a_listing_that_could_not_be_read_is_a_failed_source(tmp_path, data_env):
    """A home page given as the feed announces its feed, and that feed answers 404: the page's row is `loaded
    feed_linked`, which said "a listing was read", and the run was `succeeded` with nothing in it."""
    from newsflow.cli import print_run_summary
    from newsflow.stages.failures import PermanentError

    with FaultServer() as server:
        server.pages["/home"] = ("text/html", (
            "<html><head><title>Вечерние новости</title><link rel='alternate' type='application/rss+xml' "
            f"href='{server.url('/nope/rss.xml')}'></head><body><p>Главная страница</p></body></html>").encode())
        source = f"  - {{name: home_page, kind: feed, url: '{server.url('/home')}'}}\n"
        jobs = _run_sources(tmp_path, server, source, "pointer")
        with pytest.raises(PermanentError) as failed:
            check_accounting(jobs, run_id="pointer")
    assert "home_page: discover: no listing could be read (feed http_404)" in str(failed.value), failed.value
    assert print_run_summary("pointer") == ["home_page"]


def test_the_run_summary_shows_the_longest_source_names_whole(tmp_path, data_env, capsys):
    """`newsflow ingest`'s per-source table names every source in full: a name may be 63 characters (README, "The
    sources file"), and two long names that differ only at their end were cut to one and the same `…` line."""
    from newsflow.cli import print_run_summary

    stem = "the_international_consortium_of_regional_broadcasters_wire_"
    names = [stem + "east", stem + "west"]
    assert all(len(n) == 63 for n in names)
    with FaultServer() as server:
        entries = "".join(f"  - {{name: {name}, kind: urls, urls: ['{server.url(f'/ok/{i}')}']}}\n"
                          for i, name in enumerate(names))
        path = tmp_path / "sources.yaml"
        path.write_text(f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n"
                        f"  max_tries: 1\nsources:\n{entries}")
        jobs = [validate_source(fetch_extract_source(discover_source(j))) for j in plan_run(str(path), None, "long")]
        load_run(jobs, run_id="long", dag_id="test")
        check_accounting(jobs, run_id="long")
    capsys.readouterr()
    print_run_summary("long")
    table = capsys.readouterr().out.split("Outcomes per source (this run):")[1].split("\n\n")[0]
    rows = [line.split()[0] for line in table.splitlines()[3:] if line and not line.startswith("(")]
    assert rows == names, table
