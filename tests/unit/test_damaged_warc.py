"""Damaged WARC files are accounted for: a file cut at 50 % and one with 4 KB zeroed mid-file go through the real
stages; the readable records load (after the corrupt block too), the damaged record that can be named fails
with the reason, the file's own row says where it broke, and every URL has one fetch_log row."""

from __future__ import annotations

import io

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsflow.archive import ArchiveScan, WarcArchive, read_response, scan_archive
from newsflow.warehouse import connect
from tests.support.faultserver import article_html
from tests.support.stage_run import run

PAGES = 60


def build_warc(path) -> list[tuple[str, int, int]]:
    """A WARC of PAGES article responses (each with its request record) as newsflow's fetch writes it;
    returns (url, start, end) of every response record, as warcio itself reports them."""
    with WarcArchive(path) as archive:
        for i in range(PAGES):
            html = article_html(f"Council votes on the new budget, part {i}",
                                f"Story {i}: the council met on Monday to vote on the city budget for next year. ")
            archive.write_exchange(f"http://archive.test/story/{i}", "GET", {"User-Agent": "t"}, 200, "OK",
                                   [("Content-Type", "text/html; charset=utf-8")], html.encode())
    spans = []
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh)
        for record in iterator:
            record.content_stream().read()
            iterator.read_to_end(record)
            if record.rec_type == "response":
                start = iterator.get_record_offset()
                spans.append((record.rec_headers.get_header("WARC-Target-URI"), start,
                              start + iterator.get_record_length()))
    assert len(spans) == PAGES
    return spans


def logged(data_env, run_id: str) -> tuple[dict, list]:
    con = connect(data_env / "warehouse", read_only=True)
    articles = {url: (outcome, reason) for url, outcome, reason in con.execute(
        "select url, outcome, reason from fetch_log where run_id = ? and url_kind = 'article'", [run_id]).fetchall()}
    files = con.execute("select outcome, reason from fetch_log where run_id = ? and url_kind = 'warc'",
                        [run_id]).fetchall()
    assert con.execute("select status from runs where run_id = ?", [run_id]).fetchone() == ("succeeded",)
    return articles, files


def test_intact_archive_reads_whole_and_by_offset(tmp_path):
    spans = build_warc(tmp_path / "a.warc.gz")
    scan = ArchiveScan(str(tmp_path / "a.warc.gz"))
    responses = list(scan_archive(tmp_path / "a.warc.gz", scan))
    assert [r.url for r in responses] == [s[0] for s in spans]
    assert [r.offset for r in responses] == [s[1] for s in spans]
    assert (scan.records, scan.responses, scan.damage) == (2 * PAGES + 1, PAGES, [])
    assert b"part 7" in read_response(tmp_path / "a.warc.gz", spans[7][1]).body


def test_the_archive_is_written_in_the_warc_version_its_dates_need(tmp_path):
    """newsflow's records give WARC-Date to the microsecond, which WARC/1.1 allows and WARC/1.0 does not (ISO
    28500:2009: YYYY-MM-DDThh:mm:ssZ; warcio itself writes microseconds under WARC/1.1 only), and its warcinfo says
    `format: WARC/1.1`: every record says WARC/1.1 too."""
    build_warc(tmp_path / "a.warc.gz")
    with open(tmp_path / "a.warc.gz", "rb") as fh:
        records = [(record.rec_headers.protocol, record.rec_headers.get_header("WARC-Date"))
                   for record in ArchiveIterator(fh)]
    assert any("." in date for _version, date in records)
    assert {version for version, _date in records} == {"WARC/1.1"}


def test_truncated_warc_loads_what_precedes_the_cut(tmp_path, data_env, capsys):
    intact = tmp_path / "intact.warc.gz"
    spans = build_warc(intact)
    data = intact.read_bytes()
    cut = len(data) // 2
    (tmp_path / "cut.warc.gz").write_bytes(data[:cut])
    run(tmp_path, None, "cut_run", "  - {name: cut, kind: warc, path: cut.warc.gz}\n")

    articles, files = logged(data_env, "cut_run")
    whole = {url for url, _start, end in spans if end <= cut}
    straddling = {url for url, start, end in spans if start < cut < end}
    assert 20 <= len(whole) < PAGES
    assert {u for u, o in articles.items() if o == ("loaded", "new")} == whole
    # a response cut through is named (its header survived), a request record cut through has no article
    assert {u for u, o in articles.items() if o[0] == "failed"} <= straddling
    assert all(o == ("failed", "warc_truncated") for u, o in articles.items() if u not in whole)
    assert len(articles) == len(whole) + len(straddling)
    [(outcome, reason)] = files
    assert outcome == "failed" and reason.startswith("warc_truncated:at=")
    assert f"responses={len(whole)}" in reason
    # the run's summary names the damaged file and where it broke
    from newsflow.cli import print_run_summary

    capsys.readouterr()
    print_run_summary("cut_run")
    summary = capsys.readouterr().out
    assert "Failed sources, listings and archives (this run):" in summary
    assert "cut.warc.gz" in summary and "warc_truncated:at=" in summary


@pytest.mark.parametrize("at", [0.3, 0.5])
def test_zeroed_block_loses_only_the_records_it_covers(tmp_path, data_env, at):
    intact = tmp_path / "intact.warc.gz"
    spans = build_warc(intact)
    data = bytearray(intact.read_bytes())
    start = int(len(data) * at)
    data[start:start + 4096] = bytes(4096)
    (tmp_path / "zeroed.warc.gz").write_bytes(bytes(data))
    run(tmp_path, None, "zero_run", "  - {name: zeroed, kind: warc, path: zeroed.warc.gz}\n")

    articles, files = logged(data_env, "zero_run")
    hit = {url for url, s, e in spans if s < start + 4096 and e > start}
    before = {url for url, _s, e in spans if e <= start}
    after = {url for url, s, _e in spans if s >= start + 4096}
    assert before and after and before | after | hit == {s[0] for s in spans}
    loaded = {u for u, o in articles.items() if o == ("loaded", "new")}
    assert loaded == before | after  # records after the corrupt block resync at the next gzip member
    named = {u for u, o in articles.items() if o[0] == "failed"}
    assert named <= hit and all(articles[u] == ("failed", "warc_corrupt") for u in named)
    # the record the zeros start in is known by its header whenever that header precedes the zeros
    first_hit = min((s, u) for u, s, e in spans if u in hit)
    if first_hit[0] + 600 < start:
        assert first_hit[1] in named
    [(outcome, reason)] = files
    assert outcome == "failed" and reason.startswith("warc_corrupt:at=") and ";resumed_at=" in reason


def test_a_warc_written_by_warcio_itself_reads_the_same(tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path = tmp_path / "w.warc.gz"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i in range(5):
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(f"http://w.test/{i}", "response",
                                                          payload=io.BytesIO(b"<html>%d</html>" % i),
                                                          http_headers=headers))
    scan = ArchiveScan(str(path))
    assert [r.body for r in scan_archive(path, scan)] == [b"<html>%d</html>" % i for i in range(5)]
    assert scan.damage == []


def test_an_uncompressed_warc_cut_inside_a_record_says_so(tmp_path):
    """warcio stops reading a plain record at the file's end without a word: the record cut short was read as a
    page with half its body. Its declared length says it is cut."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    path = tmp_path / "cut.warc"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=False)
        for i in range(3):
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            body = article_html(f"Story {i}", "The council met on Monday to vote on the budget. " * 20).encode()
            writer.write_record(writer.create_warc_record(f"http://plain.test/{i}", "response",
                                                          payload=io.BytesIO(body), http_headers=headers))
    path.write_bytes(path.read_bytes()[:-500])
    scan = ArchiveScan(str(path))
    assert [r.url for r in scan_archive(path, scan)] == ["http://plain.test/0", "http://plain.test/1"]
    assert [(d.reason, d.url) for d in scan.damage] == [("warc_truncated", "http://plain.test/2")]


@pytest.mark.parametrize("gzipped", [True, False])
def test_random_damage_never_breaks_the_scan(tmp_path, gzipped):
    """Flipped bits, cuts, inserted junk, zeroed blocks and repeated stretches at random places (a fixed seed): the
    scan always ends, and every record it lists as a page reads back by its offset."""
    import random

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from newsflow.discover import warc_entries

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gzipped)
    for i in range(12):
        body = article_html(f"Story {i}", "The council met on Monday to vote on the budget. " * (5 + i)).encode()
        writer.write_record(writer.create_warc_record(
            f"http://fuzz.test/{i}", "response", payload=io.BytesIO(body),
            http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")))
    intact = buf.getvalue()
    rng = random.Random(17)
    path = tmp_path / ("f.warc.gz" if gzipped else "f.warc")
    for _ in range(60):
        data = bytearray(intact)
        at = rng.randrange(len(data))
        kind = rng.choice(["flip", "cut", "junk", "zero", "repeat"])
        if kind == "flip":
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif kind == "cut":
            del data[at:]
        elif kind == "junk":
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 500)))
        elif kind == "zero":
            data[at:at + 4096] = bytes(len(data[at:at + 4096]))
        else:
            data[at:at] = data[:rng.randint(1, 2000)]
        path.write_bytes(bytes(data))
        scans: list[ArchiveScan] = []
        entries = warc_entries(str(path), scans=scans)
        for entry in entries:
            assert entry.url, (kind, at)
            if not entry.failure:
                assert read_response(entry.warc_file, entry.warc_offset).url == entry.url, (kind, at)


WHOLE_GZIP_URLS = ["https://herald.example/2019/06/04/council", "https://vesti.example/2019/05/20/roads"]


def test_every_page_of_a_warc_gzipped_whole_gets_a_row(tmp_path):
    """A crawl gzipped whole (`gzip crawl.warc`: one gzip member holding every record) cannot be read by offset, but
    its pages' headers are read: each page gets its row (failed: warc_corrupt) instead of vanishing from the ledger."""
    import gzip

    from newsflow.discover import warc_entries

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=False)
    writer.write_record(writer.create_warcinfo_record("crawl.warc", {"software": "Heritrix/3.4"}))
    for url in WHOLE_GZIP_URLS:
        body = b"<html><body><article><p>" + b"A story. " * 40 + b"</p></article></body></html>"
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                      http_headers=headers,
                                                      warc_headers_dict={"WARC-Date": "2019-06-04T20:00:00Z"}))
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(gzip.compress(buffer.getvalue()))

    scans: list = []
    entries = warc_entries(str(path), scans=scans)
    assert sorted(e.url for e in entries) == sorted(WHOLE_GZIP_URLS)
    assert {e.failure for e in entries} == {"warc_corrupt"}
    assert scans[0].damage and scans[0].damage[0].reason == "warc_corrupt"


LENGTH_URLS = ["http://archive.test/story/before", "http://archive.test/story/liar", "http://archive.test/story/after"]


def length_records() -> list[bytes]:
    """One uncompressed WARC response record per LENGTH_URLS page, for a test to damage the middle one's length."""
    records = []
    for i, url in enumerate(LENGTH_URLS):
        html = article_html(f"Harbour workers vote to strike, part {i}",
                            f"Story {i}: dockworkers at the harbour voted on Monday to strike over new shifts. ")
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=False)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(html.encode()),
                                                      http_headers=headers,
                                                      warc_headers_dict={"WARC-Date": "2018-06-20T10:00:00Z"}))
        records.append(buffer.getvalue())
    return records


@pytest.mark.parametrize("gzipped", [True, False])
def test_a_record_whose_content_length_is_short_is_damaged_not_half_an_article(tmp_path, data_env, gzipped):
    """A record whose Content-Length is half its block (a writer's bug; a plain .warc whose line ends a copy
    changed) holds the page's beginning only, its rest left where the blank lines that end a record belong: it
    fails warc_corrupt with one row, instead of loading as the whole article beside a `duplicate` row, and the
    record after it still loads."""
    import gzip
    import re

    records = length_records()
    declared = re.search(rb"Content-Length: (\d+)\r\n", records[1])
    records[1] = records[1].replace(declared.group(0), b"Content-Length: %d\r\n" % (int(declared.group(1)) // 2), 1)
    name = "crawl.warc.gz" if gzipped else "crawl.warc"
    (tmp_path / name).write_bytes(b"".join(gzip.compress(r) if gzipped else r for r in records))
    run(tmp_path, None, "length_run", f"  - {{name: crawl, kind: warc, path: {name}}}\n")

    articles, files = logged(data_env, "length_run")
    assert articles == {LENGTH_URLS[0]: ("loaded", "new"), LENGTH_URLS[1]: ("failed", "warc_corrupt"),
                        LENGTH_URLS[2]: ("loaded", "new")}
    con = connect(data_env / "warehouse", read_only=True)
    assert con.execute("select count(*) from fetch_log where url_kind = 'article'").fetchone() == (3,)
    assert {u for (u,) in con.execute("select url from articles").fetchall()} == {LENGTH_URLS[0], LENGTH_URLS[2]}
    [(outcome, reason)] = files
    offset = len(gzip.compress(records[0])) if gzipped else len(records[0])
    assert outcome == "failed" and reason.startswith(f"warc_corrupt:at={offset};")


def test_a_record_without_content_length_in_a_plain_warc_is_damaged_not_the_rest_of_the_file(tmp_path, data_env):
    """A record with no Content-Length (a hand-edited or home-made .warc): warcio reads its block to the file's end,
    so it loaded as an article holding every record after it, and those records' pages got no row at all (the file
    said `listed:2`, no damage). It is warc_corrupt now, and the record after it still loads."""
    import re

    records = length_records()
    records[1] = re.sub(rb"Content-Length: \d+\r\n", b"", records[1], count=1)
    (tmp_path / "crawl.warc").write_bytes(b"".join(records))
    run(tmp_path, None, "unbounded_run", "  - {name: crawl, kind: warc, path: crawl.warc}\n")

    articles, files = logged(data_env, "unbounded_run")
    assert articles == {LENGTH_URLS[0]: ("loaded", "new"), LENGTH_URLS[1]: ("failed", "warc_corrupt"),
                        LENGTH_URLS[2]: ("loaded", "new")}
    [(outcome, reason)] = files
    assert outcome == "failed" and reason.startswith(f"warc_corrupt:at={len(records[0])};"), reason
