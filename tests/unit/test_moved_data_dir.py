"""A data dir moved whole (a renamed project folder, a restored backup): the lake opens where it is now, and the
WARC archive the articles and the listings' validators point into is read there, so a reprocess re-extracts without
a request and a feed answering 304 is read back from the archive instead of being downloaded again."""

from __future__ import annotations

import shutil

import pytest

from newsflow.stages.account import check_accounting
from newsflow.stages.discover import discover_source
from newsflow.stages.fetch_extract import extract_source, fetch_extract_source
from newsflow.stages.load import load_run
from newsflow.stages.plan import plan_run
from newsflow.stages.reprocess import plan_reprocess
from newsflow.stages.validate import validate_source
from newsflow.warehouse import connect
from tests.support.revisit_site import RevisitSite


@pytest.fixture
def site():
    with RevisitSite() as running:
        yield running


def use_data_dir(monkeypatch, folder):
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(folder))
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(folder / "warehouse"))


def ingest(sources, run_id: str) -> None:
    jobs = [validate_source(fetch_extract_source(discover_source(j))) for j in plan_run(str(sources), None, run_id)]
    load_run(jobs, run_id=run_id, dag_id="test")
    check_accounting(jobs, run_id=run_id)


def outcomes(folder, run_id: str) -> list[tuple]:
    con = connect(folder / "warehouse", read_only=True)
    try:
        return con.execute("select url_kind, outcome, reason, count(*) from fetch_log where run_id = ? "
                           "group by all order by all", [run_id]).fetchall()
    finally:
        con.close()


def test_a_moved_data_dir_reads_its_archive_where_it_is_now(tmp_path, monkeypatch, site):
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"settings:\n  allow_private_hosts: ['127.0.0.1:{site.port}']\n  min_host_interval_s: 0\n  max_tries: 1\n"
        f"  extract_workers: 1\nsources:\n  - {{name: harbour, kind: feed, url: '{site.url('/feed.xml')}'}}\n")
    before = tmp_path / "project" / "data"
    use_data_dir(monkeypatch, before)
    ingest(sources, "r1")
    assert ("article", "loaded", "new", 2) in outcomes(before, "r1")
    con = connect(before / "warehouse", read_only=True)
    stored = con.execute("select warc_file from articles").fetchall()
    con.close()
    assert stored and all(path.startswith(str(before / "archive")) for (path,) in stored)

    after = shutil.move(tmp_path / "project", tmp_path / "renamed") / "data"
    use_data_dir(monkeypatch, after)
    hits = site.hits.copy()
    # the feed answers 304: its items are read back from the archive, not downloaded again
    ingest(sources, "r2")
    assert site.hits["/feed.xml"] - hits["/feed.xml"] == 1
    assert ("feed", "unchanged", "not_modified", 1) in outcomes(after, "r2")

    # a reprocess re-extracts both articles from the archive, with no request
    con = connect(after / "warehouse")
    con.execute("update articles set extractor_version = 'newsflow-0.0.1'")
    con.close()
    hits = site.hits.copy()
    jobs = [validate_source(extract_source(job)) for job in plan_reprocess(str(sources), None, None, None, "rp")]
    load_run(jobs, run_id="rp", dag_id="test")
    check_accounting(jobs, run_id="rp")
    assert outcomes(after, "rp") == [("article", "loaded", "reextracted", 2)]
    assert site.hits == hits
    assert not (tmp_path / "project").exists()
