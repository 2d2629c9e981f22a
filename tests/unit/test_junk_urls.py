"""Junk URLs stay per URL: thousands of generated bad lines go through the real stages (discover, fetch and
extract against a loopback server, validate, load, account) and every line ends as exactly one fetch_log row."""

from __future__ import annotations

import random
from xml.sax.saxutils import escape

import pytest

from newsflow.discover import parse_url_list
from newsflow.urls import BadURL, canonicalize, url_problem
from newsflow.warehouse import connect
from tests.support.faultserver import FaultServer
from tests.support.junk_urls import NOT_LINE_BREAKS, junk_lines, junk_url
from tests.support.stage_run import run

LINES = 3000


@pytest.mark.parametrize(
    "url",
    ["http://[1:2:3]/", "http://[::1/", "http://a..b/", f"http://{'a' * 64}.test/", "http://x\x00y.test/",
     "http://a\x7fb.test/", "http://[::1]:99999/", "http://127.0.0.1:abc/", "http://" + "a" * 100_000,
     "http://bü cher.test/", f"http://{'日' * 60}.test/", "http://[]/", "http:///x", "http://.test/"],
)
def test_unusable_urls_raise_bad_url_only(url):
    with pytest.raises(BadURL):
        canonicalize(url)
    assert url_problem(url) == "invalid_url"


def test_canonicalize_raises_nothing_but_bad_url_on_random_text():
    rng = random.Random(16)
    alphabet = "htps:/[]@.%:0123456789abcdefxyz-_?#&=~ \t\x00\x7f\u2028ñ日💥" + "".join(NOT_LINE_BREAKS)
    outcomes = {"ok": 0, "bad": 0}
    for index in range(20_000):
        url = junk_url(rng, "http://127.0.0.1:9", index) if index % 2 else (
            "http://" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))))
        try:
            canonical = canonicalize(url)
        except BadURL:
            outcomes["bad"] += 1
            continue
        outcomes["ok"] += 1
        # a canonical URL is a fixed point and is itself usable
        assert canonicalize(canonical) == canonical, url
    assert outcomes["ok"] > 1000 and outcomes["bad"] > 1000, outcomes


def test_url_lists_split_on_real_line_breaks_only():
    text = "http://a.test/1\r\nhttp://a.test/2\rhttp://a.test/3\nhttp://a.test/4\u2028x\x85y\x0cz\n\n  # note\n\t\n"
    assert [e.url for e in parse_url_list(text)] == [
        "http://a.test/1", "http://a.test/2", "http://a.test/3", "http://a.test/4\u2028x\x85y\x0cz",
    ]


def test_thousands_of_junk_urls_each_end_as_one_row(tmp_path, data_env):
    with FaultServer() as server:
        # a NUL makes the file binary data, refused whole (`not_a_url_list`, test_discover_listing_faults): each
        # becomes another control character, which stays a per-line fault
        lines = [line.replace("\x00", "\x01") for line in junk_lines(16, LINES, server.base)]
        breaks = ["\n", "\r\n", "\r"]
        text = "# junk for the fuzz test\n\n" + "".join(
            line + breaks[i % 3] for i, line in enumerate(lines))
        (tmp_path / "junk.txt").write_text(text, encoding="utf-8")
        # a feed of junk links too (the ones XML can carry, none protocol-relative: those would leave loopback)
        links = [u for u in junk_lines(61, 400, server.base)
                 if not u.startswith("//") and not any(c in u for c in "\x00\x7f\ufeff")
                 and all(ord(c) >= 0x20 or c in "\t" for c in u) and not any(0x7f <= ord(c) < 0xa0 for c in u)]
        items = "".join(f"<item><link>{escape(u)}</link></item>" for u in links)
        server.pages["/junk-feed.xml"] = ("application/rss+xml",
                                          f"<rss><channel>{items}</channel></rss>".encode())
        run(tmp_path, server, "junk_run",
            "  - {name: junklist, kind: urls, urls_file: junk.txt}\n"
            f"  - {{name: junkfeed, kind: feed, url: '{server.url('/junk-feed.xml')}'}}\n")
    con = connect(data_env / "warehouse", read_only=True)
    listed = con.execute(
        "select seq, url, outcome, reason from fetch_log where source = 'junklist' and url_kind = 'article' "
        "order by seq").fetchall()
    assert len(listed) == LINES
    assert [r[0] for r in listed] == list(range(LINES))
    assert [r[1] for r in listed] == [line.strip(" \t\f\v") for line in lines]
    outcomes = {(o, r.split(":")[0] if r else r) for _s, _u, o, r in listed}
    # the generator's kinds all show up: loaded pages, junk refused before any request, errors from the server
    assert {("loaded", "new"), ("skipped", "invalid_url"), ("skipped", "bad_scheme"), ("skipped", "duplicate"),
            ("failed", "http_404")} <= outcomes, outcomes
    feed = con.execute(
        "select count(*), count(distinct seq) from fetch_log where source = 'junkfeed' and url_kind = 'article'"
    ).fetchone()
    assert feed == (len(links), len(links))
    assert con.execute("select status from runs where run_id = 'junk_run'").fetchone() == ("succeeded",)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_url_list_saved_with_a_byte_order_mark_loses_no_line(tmp_path, data_env, encoding):
    # Windows editors write a BOM (Notepad's "Unicode" is UTF-16): the first URL used to keep it and be invalid_url,
    # and a UTF-16 file was read as UTF-8 with every line invalid
    with FaultServer() as server:
        urls = [server.url("/ok/1"), server.url("/ok/2")]
        (tmp_path / "picks.txt").write_text("# picks\r\n" + "\r\n".join(urls) + "\r\n", encoding=encoding)
        (tmp_path / "first.txt").write_text("\r\n".join(urls) + "\r\n", encoding=encoding)
        run(tmp_path, server, f"bom_{encoding.replace('-', '_')}",
            "  - {name: picks, kind: urls, urls_file: picks.txt}\n  - {name: first, kind: urls, urls_file: first.txt}\n")
    con = connect(data_env / "warehouse", read_only=True)
    rows = con.execute("select source, url, outcome from fetch_log where url_kind = 'article' order by source, seq").fetchall()
    assert [(s, u) for s, u, _o in rows] == [("first", u) for u in urls] + [("picks", u) for u in urls]
    assert {o for _s, _u, o in rows} <= {"loaded", "skipped"}  # the second source's copies are duplicates
    assert sum(o == "loaded" for _s, _u, o in rows) == 2
