"""A run's staged files can outlive the code that wrote them: newsflow upgraded (or downgraded) while a run was
between tasks. The next task reads what the other version staged, and the run loads and accounts as usual."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from newsflow import staging
from newsflow.stages.account import check_accounting
from newsflow.stages.discover import discover_source
from newsflow.stages.fetch_extract import fetch_extract_source
from newsflow.stages.load import load_run
from newsflow.stages.plan import plan_run
from newsflow.stages.validate import validate_source
from newsflow.warehouse import connect
from tests.support.faultserver import FaultServer

# the columns migration 017 added: a version before it staged articles without them
BEFORE_017 = ("listing_date", "listing_title")


def restage(path, drop=(), add=None):
    """The staged file at `path` as another version would have written it: columns dropped, one added."""
    table = pq.read_table(path)
    table = table.drop_columns([c for c in drop if c in table.column_names])
    if add:
        table = table.append_column(add, pa.array(["from a later version"] * table.num_rows))
    pq.write_table(table, path)


@pytest.mark.parametrize("change", ["older", "newer"])
def test_articles_staged_by_another_version_validate_load_and_account(tmp_path, data_env, change):
    with FaultServer() as server:
        urls = [server.url("/ok/harbour-strike"), server.url("/ok/council-vote")]
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            "settings:\n"
            f"  allow_private_hosts: ['127.0.0.1:{server.port}']\n"
            "  min_host_interval_s: 0\n  max_tries: 1\n"
            f"sources:\n  - {{name: wire, kind: urls, urls: {urls}}}\n")
        jobs = [fetch_extract_source(discover_source(j)) for j in plan_run(str(sources), None, "upgraded")]
    articles = jobs[0].staging / "articles.parquet"
    drop, add = (BEFORE_017, None) if change == "older" else ((), "summary_from_a_later_version")
    restage(articles, drop=drop, add=add)

    jobs = [validate_source(j) for j in jobs]
    restage(jobs[0].staging / "valid.parquet", drop=drop, add=add)
    load_run(jobs, run_id="upgraded", dag_id="test")
    check_accounting(jobs, run_id="upgraded")

    con = connect(data_env / "warehouse", read_only=True)
    try:
        loaded = con.execute("select url, listing_date, listing_title from articles order by url").fetchall()
        logged = con.execute("select url, outcome from fetch_log where url_kind = 'article' order by url").fetchall()
    finally:
        con.close()
    assert loaded == [(url, None, None) for url in sorted(urls)]
    assert logged == [(url, "loaded") for url in sorted(urls)]
    assert pq.read_schema(jobs[0].staging / "valid.parquet").names == staging.ARTICLE.names
