"""A `warc` source runs through the same stages in process: pages come from the given archive (no fetching),
their WARC-Date is the fetch time, and every record is accounted for."""

from __future__ import annotations

import io
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsflow.stages.account import check_accounting
from newsflow.stages.discover import discover_source
from newsflow.stages.fetch_extract import fetch_extract_source
from newsflow.stages.load import load_run
from newsflow.stages.plan import plan_run
from newsflow.stages.validate import validate_source
from newsflow.warehouse import connect

SITE = Path(__file__).resolve().parents[2] / "plugins/newsflow/sample_site/site"
PAGES = {
    "https://alhadath.example/news/20418.html": SITE / "alhadath/news/20418.html",
    "https://novosti.example/2018/05/21/tram.html": next((SITE / "novosti").rglob("*.html")),
    "https://alhadath.example/section/economy.html": SITE / "alhadath/section/economy.html",
}


def test_warc_source_end_to_end(tmp_path, data_env):
    warc = tmp_path / "crawl.warc.gz"
    with open(warc, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, path in PAGES.items():
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(path.read_bytes()), http_headers=headers,
                warc_headers_dict={"WARC-Date": "2018-06-20T10:00:00Z"},
            ))
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: crawl, kind: warc, path: crawl.warc.gz, timezone: Asia/Beirut}\n")
    jobs = plan_run(str(sources), None, "warc_run")
    jobs = [validate_source(fetch_extract_source(discover_source(j)))
            for j in jobs]
    load_run(jobs, run_id="warc_run", dag_id="test")
    summary = check_accounting(jobs, run_id="warc_run")
    assert summary["counts"]["loaded"] == 2 and summary["counts"]["rejected"] == 1

    con = connect(data_env / "warehouse", read_only=True)
    rows = dict(con.execute("select url, fetched_at from articles").fetchall())
    assert set(rows) == set(list(PAGES)[:2])
    assert all(ts.isoformat().startswith("2018-06-20T10:00:00") for ts in rows.values())
    assert not (data_env / "archive" / "crawl").exists()  # nothing was fetched, so nothing new archived


def test_every_response_of_an_archive_gets_one_outcome(tmp_path, data_env):
    """A crawl's WARC holds redirects, errors, images and deduplication records beside its pages, and a page may be
    a resource record (archived from disk): each is logged, none dropped, and a URL the archive also holds as a page
    is that page (its other records duplicates)."""
    page = PAGES["https://alhadath.example/news/20418.html"].read_bytes()
    records = [
        ("https://alhadath.example/news/20418.html", "200 OK", "text/html; charset=utf-8", page),
        ("https://alhadath.example/old-link.html", "301 Moved Permanently", "text/html", b"<html>moved</html>"),
        ("https://alhadath.example/news/missing.html", "404 Not Found", "text/html", b"<html>not found</html>"),
        ("https://alhadath.example/news/20418.html", "503 Service Unavailable", "text/html", b"busy"),
        ("https://alhadath.example/img/cedar.jpg", "200 OK", "image/jpeg", b"\xff\xd8\xff\xe0JFIF"),
    ]
    warc = tmp_path / "crawl.warc.gz"
    with open(warc, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, status, ctype, body in records:
            moved = [("Location", "/news/20418.html")] if status.startswith("301") else []
            headers = StatusAndHeaders(status, [("Content-Type", ctype), *moved], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers,
                warc_headers_dict={"WARC-Date": "2018-06-20T10:00:00Z"}))
        # a page archived from disk, without an HTTP exchange: a resource record typed by its WARC header
        novosti = PAGES["https://novosti.example/2018/05/21/tram.html"].read_bytes()
        writer.write_record(writer.create_warc_record(
            "https://novosti.example/2018/05/21/tram.html", "resource", payload=io.BytesIO(novosti),
            length=len(novosti), warc_content_type="text/html; charset=utf-8",
            warc_headers_dict={"WARC-Date": "2018-06-20T11:00:00Z"}))
        # a crawler's deduplication records: one of a page this archive holds, one of a page in an earlier crawl
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        for url in ("https://alhadath.example/news/20418.html", "https://alhadath.example/news/earlier.html"):
            writer.write_record(writer.create_revisit_record(
                url, digest="sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ", refers_to_uri=url,
                refers_to_date="2018-06-19T10:00:00Z", http_headers=headers))
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: crawl, kind: warc, path: crawl.warc.gz}\n")
    jobs = [validate_source(fetch_extract_source(discover_source(j))) for j in plan_run(str(sources), None, "w2")]
    load_run(jobs, run_id="w2", dag_id="test")
    summary = check_accounting(jobs, run_id="w2")
    assert summary["counts"]["loaded"] == 2

    con = connect(data_env / "warehouse", read_only=True)
    rows = con.execute("select url, outcome, reason from fetch_log where url_kind = 'article' order by seq").fetchall()
    assert rows == [
        ("https://alhadath.example/news/20418.html", "loaded", "new"),
        ("https://alhadath.example/old-link.html", "skipped", "redirect"),
        ("https://alhadath.example/news/missing.html", "failed", "http_404"),
        ("https://alhadath.example/news/20418.html", "skipped", "duplicate"),
        ("https://alhadath.example/img/cedar.jpg", "skipped", "not_html"),
        ("https://novosti.example/2018/05/21/tram.html", "loaded", "new"),
        ("https://alhadath.example/news/20418.html", "skipped", "duplicate"),
        ("https://alhadath.example/news/earlier.html", "skipped", "warc_revisit"),
    ]
    (archive,) = con.execute("select reason from fetch_log where url_kind = 'warc'").fetchone()
    assert archive == "listed:8;records=8;responses=6;revisits=2"
    # the redirect names where it led (its Location, resolved against the record's URL), which the crawl also holds
    assert con.execute("select url, final_url from fetch_log where final_url is not null").fetchall() == [
        ("https://alhadath.example/old-link.html", "https://alhadath.example/news/20418.html")]
    fetched = con.execute("select fetched_at from articles where url like '%novosti%'").fetchone()[0]
    assert fetched.isoformat().startswith("2018-06-20T11:00:00")


def _arc_record(url: str, content_type: str, block: bytes) -> bytes:
    """One ARC v1 record: a header line (URL, IP, 14-digit date, type, length), the block, a newline."""
    return f"{url} 192.0.2.7 20180620100000 {content_type} {len(block)}\n".encode() + block + b"\n"


def write_arc(path: Path, records: list[tuple[str, str, bytes]], gzipped: bool = True) -> None:
    import gzip

    version = b"1 0 newsflow-test\nURL IP-address Archive-date Content-type Archive-length\n"
    parts = [_arc_record(f"filedesc://{path.name}", "text/plain", version)]
    parts += [_arc_record(url, content_type, block) for url, content_type, block in records]
    path.write_bytes(b"".join(gzip.compress(p) for p in parts) if gzipped else b"".join(parts))


def test_a_legacy_arc_file_is_read_like_a_warc(tmp_path, data_env):
    """Crawls before 2009 are ARC files: their HTTP responses load like a WARC's (date from the record header), plain
    or gzipped, and the file's row says which format it was."""
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    records = [(url, "text/html", http + path.read_bytes()) for url, path in list(PAGES.items())[:2]]
    records += [("http://alhadath.example/logo.png", "image/png", b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n\x89PNG"),
                ("dns:alhadath.example", "text/dns", b"20180620100000\nalhadath.example. 300 IN A 192.0.2.7\n")]
    write_arc(tmp_path / "crawl-1.arc.gz", records[:2])
    write_arc(tmp_path / "crawl-2.arc", records[2:], gzipped=False)
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: crawl, kind: warc, path: 'crawl-*.arc*', timezone: Asia/Beirut}\n")
    jobs = [validate_source(fetch_extract_source(discover_source(j))) for j in plan_run(str(sources), None, "arc_run")]
    load_run(jobs, run_id="arc_run", dag_id="test")
    check_accounting(jobs, run_id="arc_run")

    con = connect(data_env / "warehouse", read_only=True)
    rows = dict(con.execute("select url, fetched_at from articles").fetchall())
    assert set(rows) == set(list(PAGES)[:2])
    assert all(ts.isoformat().startswith("2018-06-20T10:00:00") for ts in rows.values())
    logged = dict(con.execute("select url, outcome || ':' || reason from fetch_log where url_kind = 'article'"
                              " and outcome <> 'loaded'").fetchall())
    assert logged == {"http://alhadath.example/logo.png": "skipped:not_html", "dns:alhadath.example": "skipped:bad_scheme"}
    files = sorted(con.execute("select reason from fetch_log where url_kind = 'warc'").fetchall())
    assert files == [("listed:2;records=3;responses=2;format=arc",), ("listed:2;records=3;responses=2;format=arc",)]


def test_a_damaged_arc_file_names_the_record_it_lost(tmp_path):
    from newsflow.archive import ArchiveScan, read_response
    from newsflow.discover import warc_entries

    page = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + PAGES["https://alhadath.example/news/20418.html"].read_bytes()
    write_arc(tmp_path / "cut.arc", [("http://a.example/1", "text/html", page), ("http://a.example/2", "text/html", page)],
              gzipped=False)
    data = (tmp_path / "cut.arc").read_bytes()
    (tmp_path / "cut.arc").write_bytes(data[: len(data) - 500])  # the crawl stopped inside the second record
    scans: list[ArchiveScan] = []
    entries = warc_entries(str(tmp_path / "cut.arc"), scans=scans)
    assert [(e.url, e.failure) for e in entries] == [("http://a.example/1", None), ("http://a.example/2", "warc_truncated")]
    assert scans[0].legacy_arc and scans[0].damage[0].reason == "warc_truncated"
    assert read_response(entries[0].warc_file, entries[0].warc_offset).body == page.split(b"\r\n\r\n", 1)[1]

    # junk is not taken for an ARC file: warcio would read it as one, the missing `filedesc://` record says no
    (tmp_path / "junk.arc").write_bytes(b"http://a.example/ 1.2.3.4 20180101000000 text/html 5\nhello\n")
    scans = []
    assert warc_entries(str(tmp_path / "junk.arc"), scans=scans) == []
    assert [d.reason for d in scans[0].damage] == ["warc_not_warc"]


def test_a_file_name_that_is_not_utf8_is_listed_unreadable_and_the_others_load(tmp_path, data_env):
    """A glob that matches a file named in ISO-8859-1 (Python keeps such bytes as lone surrogates, which the
    ledger's Parquet cannot store: the source's discover stage failed) and one in UTF-8 whose pages have Arabic
    URLs: the first is a failed file row under a printable name, the second loads."""
    import os

    from tests.support.stage_run import run

    def write(path: Path, urls: list[str]) -> None:
        with open(path, "wb") as fh:
            writer = WARCWriter(fh, gzip=True)
            for url in urls:
                headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                           protocol="HTTP/1.1")
                writer.write_record(writer.create_warc_record(
                    url, "response", payload=io.BytesIO((SITE / "alhadath/news/20418.html").read_bytes()),
                    http_headers=headers, warc_headers_dict={"WARC-Date": "2018-06-20T10:00:00Z"}))

    write(tmp_path / os.fsdecode(b"crawl-caf\xe9.warc.gz"), ["https://alhadath.example/news/1.html"])
    write(tmp_path / "crawl-utf8.warc.gz", ["https://alhadath.example/\u0623\u062e\u0628\u0627\u0631/20418.html"])
    summary = run(tmp_path, None, "names", "  - {name: crawl, kind: warc, path: 'crawl-*.warc.gz'}\n")
    assert summary["counts"]["loaded"] == 1
    con = connect(data_env / "warehouse", read_only=True)
    try:
        rows = con.execute("select url_kind, url, outcome, reason from fetch_log order by url_kind, url").fetchall()
    finally:
        con.close()
    assert rows[0] == ("article", "https://alhadath.example/\u0623\u062e\u0628\u0627\u0631/20418.html", "loaded", "new")
    (_, bad_name, bad_outcome, bad_reason), (_, good_name, good_outcome, _) = rows[1:]
    assert bad_name.endswith("crawl-caf\\xe9.warc.gz") and bad_outcome == "failed"
    assert bad_reason.startswith("warc_unreadable:at=0;records=0")
    assert good_name.endswith("crawl-utf8.warc.gz") and good_outcome == "loaded"


def ingest_crawl(tmp_path, run_id: str) -> dict:
    """One run of a `warc` source reading tmp_path/crawl.warc.gz through the real stages; its outcome counts."""
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: crawl, kind: warc, path: crawl.warc.gz, timezone: Asia/Beirut}\n")
    jobs = [validate_source(fetch_extract_source(discover_source(j))) for j in plan_run(str(sources), None, run_id)]
    load_run(jobs, run_id=run_id, dag_id="test")
    return check_accounting(jobs, run_id=run_id)["counts"]


def test_a_page_the_crawler_truncated_loads_and_is_counted(tmp_path, data_env, caplog):
    """Common Crawl stores the beginning of a page past its size cap, marked WARC-Truncated: its story usually
    precedes the cut, so it loads (refusing them would drop whole sites with heavy pages), and the archive's row
    and the task log say which pages were cut."""
    page = PAGES["https://alhadath.example/news/20418.html"].read_bytes()
    cut = page[: page.index(b"</article>")]  # the story whole, the rest of the page cut away
    warc = tmp_path / "crawl.warc.gz"
    with open(warc, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, body, truncated in (("https://alhadath.example/news/20418.html", cut, "length"),
                                     ("https://novosti.example/2018/05/21/tram.html",
                                      PAGES["https://novosti.example/2018/05/21/tram.html"].read_bytes(), None)):
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            warc_headers = {"WARC-Date": "2018-06-20T10:00:00Z", **({"WARC-Truncated": truncated} if truncated else {})}
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                                                          http_headers=headers, warc_headers_dict=warc_headers))
    assert ingest_crawl(tmp_path, "w3")["loaded"] == 2

    con = connect(data_env / "warehouse", read_only=True)
    (archive,) = con.execute("select reason from fetch_log where url_kind = 'warc'").fetchone()
    assert archive == "listed:2;records=2;responses=2;truncated=1"
    assert "stored only the beginning of https://alhadath.example/news/20418.html" in caplog.text


def test_a_binary_file_a_crawl_stored_as_html_is_not_html(tmp_path, data_env):
    """A PDF (or an image) its server labelled text/html went to extraction from a WARC and ended `rejected:
    missing_body`; fetched live, the same file is `skipped: not_html`, and so it is from the archive."""
    article = "https://alhadath.example/news/20418.html"
    records = [
        (article, [("Content-Type", "text/html; charset=utf-8")], PAGES[article].read_bytes()),
        ("https://alhadath.example/files/budget.pdf", [("Content-Type", "text/html")],
         b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" * 40),
        ("https://alhadath.example/img/cedar", [], b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8),
    ]
    with open(tmp_path / "crawl.warc.gz", "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, headers, body in records:
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), length=len(body),
                http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
                warc_headers_dict={"WARC-Date": "2018-06-20T10:00:00Z"}))
    assert ingest_crawl(tmp_path, "w4")["loaded"] == 1

    con = connect(data_env / "warehouse", read_only=True)
    assert con.execute("select url, outcome, reason from fetch_log where url_kind = 'article' order by seq").fetchall() == [
        (article, "loaded", "new"),
        ("https://alhadath.example/files/budget.pdf", "skipped", "not_html"),
        ("https://alhadath.example/img/cedar", "skipped", "not_html"),
    ]
    assert [url for (url,) in con.execute("select url from articles").fetchall()] == [article]


def _write_crawl(warc: Path, pages: list[tuple[str, Path]], gzip: bool = False, date: str = "2018-06-20T10:00:00Z",
                 edit=lambda page: page) -> None:
    with open(warc, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        for url, path in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(edit(path.read_bytes())), http_headers=headers,
                warc_headers_dict={"WARC-Date": date}))


def _reprocess(sources: Path, run_id: str, data_env) -> dict[str, tuple]:
    from newsflow.stages.fetch_extract import extract_source
    from newsflow.stages.reprocess import plan_reprocess

    jobs = [validate_source(extract_source(job)) for job in plan_reprocess(str(sources), None, None, None, run_id)]
    load_run(jobs, run_id=run_id, dag_id="news_reprocess")
    check_accounting(jobs, run_id=run_id)
    con = connect(data_env / "warehouse", read_only=True)
    try:
        return {url: (outcome, reason) for url, outcome, reason in con.execute(
            "select url, outcome, reason from fetch_log where run_id = ?", [run_id]).fetchall()}
    finally:
        con.close()


def _ingest_crawl(tmp_path):
    """A crawl file of two pages, ingested as run w1 of a `warc` source: (the pages, the file, the sources file)."""
    pages = list(PAGES.items())[:2]
    warc = tmp_path / "crawl.warc"
    _write_crawl(warc, pages)
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: crawl, kind: warc, path: crawl.warc, timezone: Asia/Beirut}\n")
    jobs = [validate_source(fetch_extract_source(discover_source(j))) for j in plan_run(str(sources), None, "w1")]
    load_run(jobs, run_id="w1", dag_id="test")
    check_accounting(jobs, run_id="w1")
    return pages, warc, sources


def test_a_reprocess_never_stores_a_cut_or_another_pages_record(tmp_path, data_env):
    """news_reprocess reads each article's record at its stored offset. A crawl file cut short gave the article its
    first half (`loaded: changed`); a crawl file written again under the same name, the same pages in another
    order, gave every article another page's text. Both are failures of the record, and the stored rows stay."""
    pages, warc, sources = _ingest_crawl(tmp_path)

    def stored() -> dict[str, tuple]:
        con = connect(data_env / "warehouse", read_only=True)
        try:
            return {url: (title, body_hash) for url, title, body_hash in
                    con.execute("select url, title, body_hash from articles").fetchall()}
        finally:
            con.close()

    before = stored()
    assert set(before) == {url for url, _ in pages}
    _write_crawl(warc, list(reversed(pages)))  # rewritten in place: each offset now holds the other page
    assert _reprocess(sources, "rp_swapped", data_env) == {url: ("failed", "warc_mismatch") for url, _ in pages}
    assert stored() == before
    _write_crawl(warc, pages)
    with open(warc, "r+b") as fh:  # the file cut inside its last record
        fh.truncate(warc.stat().st_size - 400)
    got = _reprocess(sources, "rp_cut", data_env)
    assert got == {pages[0][0]: ("unchanged", "same_content"), pages[1][0]: ("failed", "warc_truncated")}, got
    assert stored() == before
    warc.unlink()
    assert set(_reprocess(sources, "rp_gone", data_env).values()) == {("failed", "warc_not_found")}
    assert stored() == before


def test_a_crawl_dated_in_the_future_does_not_freeze_its_articles(tmp_path, data_env):
    """A crawler whose clock said 2031 stored its pages fetched in 2031, and every later capture of them was
    `skipped: superseded` (an older text never replaces a newer one) until then."""
    from datetime import UTC, datetime

    url, path = next(iter(PAGES.items()))
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: crawl, kind: warc, path: crawl.warc, timezone: Asia/Beirut}\n")

    def ingest(run_id: str) -> dict:
        jobs = [validate_source(fetch_extract_source(discover_source(j))) for j in plan_run(str(sources), None, run_id)]
        load_run(jobs, run_id=run_id, dag_id="test")
        return check_accounting(jobs, run_id=run_id)["counts"]

    def stored() -> tuple:
        con = connect(data_env / "warehouse", read_only=True)
        try:
            return con.execute("select fetched_at, body from articles").fetchone()
        finally:
            con.close()

    _write_crawl(tmp_path / "crawl.warc", [(url, path)], date="2031-01-01T00:00:00Z")
    assert ingest("skewed")["loaded"] == 1
    assert stored()[0] <= datetime.now(UTC)
    _write_crawl(tmp_path / "crawl.warc", [(url, path)], date="2026-11-01T00:00:00Z",
                 edit=lambda page: page.replace(b"</article>",
                                                "<p>تحديث: أعيد فتح الطريق مساء الأحد.</p></article>".encode()))
    assert ingest("later")["loaded"] == 1, "the later capture was superseded by a fetch dated 2031"
    fetched_at, body = stored()
    assert fetched_at <= datetime.now(UTC) and "أعيد فتح الطريق" in body


def test_a_reprocess_judges_again_the_pages_a_crawl_file_gave_that_were_rejected(tmp_path, data_env):
    """A `warc` source asks no server, so it writes no http_cache row, which is where a reprocess found the archived
    response of a page last rejected: a crawl's rejected pages were never judged again. The rejection now keeps its
    record's place; relaxed, the rule lets the page in from the crawl file, no other record read."""
    pages = list(PAGES.items())[:2]
    _write_crawl(tmp_path / "crawl.warc", pages)
    sources = tmp_path / "sources.yaml"
    sources.write_text("settings: {min_body_chars: 900000}\n"
                       "sources:\n  - {name: crawl, kind: warc, path: crawl.warc, timezone: Asia/Beirut}\n")
    jobs = [validate_source(fetch_extract_source(discover_source(j))) for j in plan_run(str(sources), None, "strict")]
    load_run(jobs, run_id="strict", dag_id="test")
    assert check_accounting(jobs, run_id="strict")["counts"]["rejected"] == 2

    sources.write_text("sources:\n  - {name: crawl, kind: warc, path: crawl.warc, timezone: Asia/Beirut}\n")
    assert _reprocess(sources, "relaxed", data_env) == {url: ("loaded", "new") for url, _ in pages}
    con = connect(data_env / "warehouse", read_only=True)
    try:
        stored = dict(con.execute("select url, body from articles").fetchall())
        assert set(stored) == {url for url, _ in pages} and all(len(body) > 200 for body in stored.values())
        # judged by the rule in force, once: the next reprocess reads them as articles
        assert set(_reprocess(sources, "again", data_env).values()) == {("unchanged", "same_content")}
    finally:
        con.close()


# -- a page captured on two dates: the latest capture is the page (the text stored must not depend on file names, nor
# on whether the files came in one run or one after another) ------------------------------------------------------
CAPTURED_URL = "https://herald.example/2019/06/04/council-transport-budget"
CAPTURED_TEXT = ("The city council voted on Tuesday to approve a new budget for public transport, adding twelve bus "
                 "routes and extending the hours of the tram network into the late evening. Council members said the "
                 "plan would be funded by a modest increase in parking fees and a grant from the regional government.")


def _captured_page(title: str, extra: str) -> bytes:
    return (f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            '<meta property="article:published_time" content="2019-06-04T18:00:00+01:00"></head>'
            f"<body><article><h1>{title}</h1><p>{CAPTURED_TEXT}</p><p>{extra}</p></article></body></html>").encode()


def _capture(path, date: str, title: str, extra: str) -> None:
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(
            CAPTURED_URL, "response", payload=io.BytesIO(_captured_page(title, extra)), http_headers=headers,
            warc_headers_dict={"WARC-Date": date}))


def test_the_latest_capture_of_a_page_is_stored_whatever_the_file_order(tmp_path, data_env):
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    # the older capture sorts first by name
    _capture(crawl / "a-2019-06-04.warc.gz", "2019-06-04T20:00:00Z", "Council approves transport budget",
             "The vote was close, with seven members in favour.")
    _capture(crawl / "b-2019-06-20.warc.gz", "2019-06-20T09:00:00Z", "Transport budget signed into law",
             "Update: the mayor signed the budget into law on June 19, ending weeks of debate.")
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: crawl, kind: warc, path: crawl/*.warc.gz}\n")
    jobs = plan_run(str(sources), None, "warc_run")
    jobs = [validate_source(fetch_extract_source(discover_source(j))) for j in jobs]
    load_run(jobs, run_id="warc_run", dag_id="test")
    check_accounting(jobs, run_id="warc_run")

    con = connect(data_env / "warehouse", read_only=True)
    try:
        title, fetched_at = con.execute("select title, fetched_at from articles").fetchone()
        rows = con.execute("select outcome, reason from fetch_log where url_kind = 'article' order by seq").fetchall()
    finally:
        con.close()
    assert title == "Transport budget signed into law"
    assert fetched_at.isoformat().startswith("2019-06-20T09:00:00")
    assert rows == [("skipped", "duplicate"), ("loaded", "new")]


def test_a_reprocess_of_an_archive_cut_before_a_record_says_the_record_is_cut(tmp_path, data_env):
    """A crawl file cut inside its first record holds none of the second: that article's stored offset is past the
    file's end. Both records are cut off by the truncation (`warc_truncated`), not an extraction error
    (`extract_error:ValueError`, which sent the reader to the extractor), and the stored rows stay."""
    pages, warc, sources = _ingest_crawl(tmp_path)
    con = connect(data_env / "warehouse", read_only=True)
    offsets = sorted(offset for (offset,) in con.execute("select warc_offset from articles").fetchall())
    before = con.execute("select url, body_hash from articles order by url").fetchall()
    con.close()
    with open(warc, "r+b") as fh:  # cut inside the first record: the second starts past the end
        fh.truncate(offsets[1] - 400)
    assert _reprocess(sources, "rp_cut", data_env) == {url: ("failed", "warc_truncated") for url, _ in pages}
    con = connect(data_env / "warehouse", read_only=True)
    assert con.execute("select url, body_hash from articles order by url").fetchall() == before
    con.close()
