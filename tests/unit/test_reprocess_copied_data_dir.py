"""A data dir copied elsewhere (a restored backup beside the original, a copy to try a reprocess on) reads its own
WARC archive, as the README says of a moved or copied project folder: the articles store the absolute path of the
archive they were fetched into, and a reprocess of the copy read the original's files while they were there."""

from __future__ import annotations

import shutil

from newsflow.stages.account import check_accounting
from newsflow.stages.fetch_extract import extract_source
from newsflow.stages.load import load_run
from newsflow.stages.reprocess import plan_reprocess
from newsflow.stages.validate import validate_source
from newsflow.warehouse import connect
from tests.support import stage_run
from tests.support.rawserver import RawServer

PAGE = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Ferry line delayed</title>"
        "<meta property='article:published_time' content='2024-02-20T09:30:00Z'></head><body><article>"
        "<h1>Ferry line delayed</h1>"
        + "".join(f"<p>The harbour authority said on day {day} that the new ferry line would start in spring, after "
                  f"a year of delays caused by a shortage of parts.</p>" for day in ("one", "two", "three", "four"))
        + "</article></body></html>").encode()


def test_a_reprocess_of_a_copied_data_dir_reads_the_copys_archive(tmp_path, data_env, monkeypatch):
    with RawServer({}) as server:
        server.responses["/story"] = (f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                                      f"Content-Length: {len(PAGE)}\r\nConnection: close\r\n\r\n").encode() + PAGE
        stage_run.run(tmp_path, server, "r1", f"  - {{name: harbour, kind: urls, urls: ['{server.url('/story')}']}}\n")
    con = connect(data_env / "warehouse", read_only=True)
    assert con.execute("select count(*) from articles").fetchone()[0] == 1
    con.close()
    copy = tmp_path / "copy"
    shutil.copytree(data_env, copy)
    [archived] = [p for p in (copy / "archive").rglob("*.warc.gz") if ".listing." not in p.name]
    con = connect(copy / "warehouse", read_only=True)
    [(offset, stored)] = con.execute("select warc_offset, body_hash from articles").fetchall()
    con.close()
    with open(archived, "r+b") as fh:  # the copy's archive is cut before the page; the original's stays whole
        fh.truncate(offset)
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(copy))
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(copy / "warehouse"))
    jobs = [validate_source(extract_source(job))
            for job in plan_reprocess(str(tmp_path / "sources.yaml"), None, None, None, "rp")]
    load_run(jobs, run_id="rp", dag_id="news_reprocess")
    check_accounting(jobs, run_id="rp")
    con = connect(copy / "warehouse", read_only=True)
    try:
        # the copy's own file was read: its page is not there (the original's answered `unchanged: same_content`)
        assert [outcome for (outcome,) in con.execute("select outcome from fetch_log where run_id = 'rp'").fetchall()] == [
            "failed"]
        assert con.execute("select body_hash from articles").fetchall() == [(stored,)]
    finally:
        con.close()
