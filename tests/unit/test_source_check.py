"""`newsflow check`: each source's listing read now, over loopback HTTP, by the real discover stage; what a run would
fetch is said per source, with a hint for the common mistakes, and nothing is stored."""

from __future__ import annotations

import os

import pytest

from newsflow.cli import main
from tests.support.faultserver import FaultServer


def write_sources(tmp_path, server, entries: str) -> str:
    path = tmp_path / "sources.yaml"
    path.write_text(f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n"
                    f"  max_tries: 1\nsources:\n{entries}", encoding="utf-8")
    return str(path)


def serve_newsroom(server) -> None:
    server.pages["/"] = ("text/html; charset=utf-8", (
        "<!DOCTYPE html><html lang='ar'><head><title>الحدث</title>"
        "<link rel='alternate' type='application/rss+xml' href='/feed/'></head><body>الحدث</body></html>").encode())
    server.pages["/feed/"] = ("application/rss+xml", (
        "<rss version='2.0'><channel>"
        f"<item><title>خبر</title><link>{server.url('/ok/a1')}</link><pubDate>Mon, 21 May 2018 12:23:00 +0300</pubDate></item>"
        f"<item><title>خبر</title><link>{server.url('/ok/a1')}</link></item>"
        f"<item><title>آخر</title><link>{server.url('/ok/a2')}</link></item>"
        "</channel></rss>").encode())
    server.pages["/novosti/"] = ("text/html", "<!DOCTYPE html><html><body>Новости</body></html>".encode())


def check(tmp_path, capsys, entries, *options: str, moved: dict[str, str] | None = None):
    """`newsflow check` of the sources `entries(server)` names, against the loopback newsroom: (exit code, output
    lines, server)."""
    with FaultServer() as server:
        serve_newsroom(server)
        server.moved.update(moved or {})
        code = main(["check", "--sources", write_sources(tmp_path, server, entries(server)), *options])
    return code, capsys.readouterr().out.splitlines(), server


def test_check_says_what_each_source_lists_and_stores_nothing(tmp_path, data_env, capsys):
    code, lines, server = check(tmp_path, capsys, lambda server: (
        f"  - {{name: alhadath, kind: feed, url: '{server.url('/')}'}}\n"
        f"  - {{name: picks, kind: urls, urls: ['{server.url('/ok/p1')}', 'ftp://x.example/a']}}\n"))
    assert code == 0, lines
    assert lines[0] == "alhadath (feed): ok: 2 article URL(s) to fetch; left out: duplicate 1"
    assert lines[1].startswith(f"  feed {server.url('/')}: loaded feed_linked HTTP 200 (a web page: it announces")
    assert lines[2] == f"  feed {server.url('/feed/')}: loaded listed:3 HTTP 200"
    assert lines[3] == f"  e.g. {server.url('/ok/a1')} (listed Mon, 21 May 2018 12:23:00 +0300)"
    assert "picks (urls): ok: 1 article URL(s) to fetch; left out: bad_scheme 1" in lines
    assert not any(path.startswith("/ok/") for path in server.hits)  # listings only
    assert not os.path.exists(data_env)  # no staging, archive, host gate or warehouse left behind


def test_check_fails_a_source_that_lists_nothing_and_says_why(tmp_path, data_env, capsys):
    code, lines, server = check(tmp_path, capsys, lambda server: (
        f"  - {{name: alhadath, kind: feed, url: '{server.url('/')}'}}\n"
        f"  - {{name: novosti, kind: feed, url: '{server.url('/novosti/')}'}}\n"), "--source", "novosti")
    assert code == 1
    assert lines == [
        "novosti (feed): PROBLEM: 0 article URL(s) to fetch",
        f"  feed {server.url('/novosti/')}: failed html_page HTTP 200 (a web page, not a listing: give the site's "
        "feed or sitemap URL)",
    ]


def test_check_names_where_a_moved_listing_is_now(tmp_path, data_env, capsys):
    code, lines, server = check(tmp_path, capsys, lambda server: (
        f"  - {{name: alhadath, kind: feed, url: '{server.url('/rss.xml')}'}}\n"), moved={"/rss.xml": "/feed/"})
    assert code == 0
    assert lines[1] == (f"  feed {server.url('/rss.xml')}: loaded listed:3 HTTP 200 (redirected to "
                        f"{server.url('/feed/')}: put that URL in the file)")


@pytest.mark.parametrize(("path", "outcome"), [
    ("/wall/cloudflare/rss.xml", "failed blocked:cloudflare HTTP 403 (the site's bot wall refuses clients without a "
                                 "browser: ask the publisher to let newsflow's user_agent through, or ingest a crawl "
                                 "of the site as a warc source)"),
    # not "redirected to …: put that URL in the file": the gate's address is no feed
    ("/gate/feeds/rss.xml", "failed blocked:gate HTTP 200 (a consent or login page answers instead: ask the "
                            "publisher for an open feed, or ingest a crawl of the site as a warc source)"),
], ids=["bot-wall", "consent-gate"])
def test_check_names_what_stands_in_front_of_a_feed(tmp_path, data_env, capsys, path, outcome):
    code, lines, server = check(tmp_path, capsys, lambda server: (
        f"  - {{name: herald, kind: feed, url: '{server.url(path)}'}}\n"))
    assert code == 1
    assert lines[1] == f"  feed {server.url(path)}: {outcome}"


def test_check_of_a_malformed_file_fetches_nothing(tmp_path, data_env, capsys):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - {name: x, kind: feeed, url: 'http://127.0.0.1:9/feed'}\n")
    assert main(["check", "--sources", str(path)]) == 2
    assert "kind must be one of feed, sitemap, urls, warc" in capsys.readouterr().err


def test_check_leaves_out_what_a_run_would_refuse_or_leave_for_later(tmp_path, data_env, capsys):
    """A run refuses article URLs on internal addresses (by IP or by a name that resolves to one) and fetches at
    most max_articles: `check` counts neither as "to fetch" but says why each is left out."""
    def entries(server):
        links = [server.url("/ok/n1"), server.url("/ok/n2"), server.url("/ok/n3"),
                 "http://10.20.30.40/news/1", "http://localhost:9/news/2", "http://[::1]:8080/news/3"]
        server.pages["/listed.txt"] = ("text/plain", "\n".join(links).encode())
        return (f"  - {{name: wire, kind: urls, urls_file: '{server.url('/listed.txt')}', max_articles: 2}}\n")
    code, lines, _ = check(tmp_path, capsys, entries)
    assert code == 0, lines
    assert lines[0] == ("wire (urls): ok: 2 article URL(s) to fetch; left out: refused_address 3, over_limit 1 "
                        "(max_articles: the next runs fetch them)")


def test_a_sitemap_past_max_bytes_but_within_the_protocols_50_mib_is_read_however_it_is_sent(tmp_path, data_env,
                                                                                              capsys):
    """max_bytes (10 MB) is an article page's cap; a 50,000-URL news sitemap is ~19 MB plain. It failed too_large
    sent plain or with Content-Encoding, and was read only as a .gz file."""

    urls = "".join(f"<url><loc>https://news.example/2026/12/05/story-{i}-with-a-long-slug-{'x' * 180}</loc>"
                   f"<news:news><news:title>خبر {i}</news:title></news:news></url>\n" for i in range(50_000))
    body = ("<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9' "
            "xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>\n" + urls + "</urlset>").encode()
    assert 10_000_000 < len(body) < 50 * 2**20

    def entries(server):
        server.pages["/sitemap.xml"] = ("application/xml", body)
        return (f"  - {{name: plain, kind: sitemap, url: '{server.url('/sitemap.xml')}', max_articles: 50000}}\n"
                f"  - {{name: huge, kind: sitemap, url: '{server.url('/huge.xml')}'}}\n")
    with FaultServer() as server:
        entries(server)
        server.pages["/huge.xml"] = ("application/xml", b"<urlset>" + b" " * (51 * 2**20) + b"</urlset>")
        code = main(["check", "--sources", write_sources(tmp_path, server, entries(server))])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "plain (sitemap): ok: 50000 article URL(s) to fetch", lines[:3]
    assert code == 1 and any(line.endswith(": failed too_large HTTP 200 (over the 50 MiB the sitemap protocol allows "
                                           "a listing, uncompressed: ask for a sitemap index)") for line in lines), lines


def test_check_leaves_out_what_robots_txt_disallows_and_names_a_few(tmp_path, data_env, capsys):
    """The loopback site's robots.txt disallows /private/: a run skips those URLs as robots_disallowed, so `check`
    counted them "to fetch" where a run loaded fewer. They are decided by the run's own robots.txt reading."""
    def entries(server):
        links = [server.url("/ok/p1"), server.url("/private/a.html"), server.url("/private/b.html"),
                 server.url("/private/c.html"), server.url("/private/d.html")]
        return f"  - {{name: picks, kind: urls, urls: {links}}}\n"
    code, lines, server = check(tmp_path, capsys, entries)
    assert code == 0, lines
    assert lines[0] == "picks (urls): ok: 1 article URL(s) to fetch; disallowed by robots.txt: 4"
    assert lines[1:] == [
        f"  e.g. {server.url('/ok/p1')}",
        f"  robots.txt disallows {server.url('/private/a.html')} (the site's robots.txt disallows it; "
        "settings.respect_robots: false ignores it)",
        f"  robots.txt disallows {server.url('/private/b.html')}",
        f"  robots.txt disallows {server.url('/private/c.html')}",
    ]
    assert server.hits.get("/robots.txt") and not any(path.startswith(("/ok/", "/private/")) for path in server.hits)


def test_check_counts_disallowed_urls_in_max_articles_as_a_run_does(tmp_path, data_env, capsys):
    """A run caps the listing before robots.txt is read: two disallowed URLs first in a listing of three under
    `max_articles: 2` take both slots, and the third waits. `check` said 1 to fetch where the run fetched none."""
    def entries(server):
        links = [server.url("/private/a.html"), server.url("/private/b.html"), server.url("/ok/c")]
        return f"  - {{name: picks, kind: urls, max_articles: 2, urls: {links}}}\n"
    code, lines, _server = check(tmp_path, capsys, entries)
    assert code == 1, lines
    assert lines[0] == ("picks (urls): PROBLEM: 0 article URL(s) to fetch; disallowed by robots.txt: 2; left out: "
                        "over_limit 1 (max_articles: the next runs fetch them)")


def test_check_of_a_source_robots_txt_closes_entirely_says_so(tmp_path, data_env, capsys):
    """Every article disallowed: nothing to fetch, the source is a problem (exit 1), as its runs would load nothing;
    unless the sources file says robots.txt is not respected."""
    def entries(server):
        return f"  - {{name: hidden, kind: urls, urls: ['{server.url('/private/x.html')}']}}\n"
    code, lines, _ = check(tmp_path, capsys, entries)
    assert code == 1
    assert lines[0] == "hidden (urls): PROBLEM: 0 article URL(s) to fetch; disallowed by robots.txt: 1"

    with FaultServer() as server:
        sources = tmp_path / "ignoring.yaml"
        sources.write_text(f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  respect_robots: false\n"
                           f"sources:\n{entries(server)}", encoding="utf-8")
        assert main(["check", "--sources", str(sources)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "hidden (urls): ok: 1 article URL(s) to fetch"


def serve_shared_newsroom(server, other) -> None:
    """Four listings on `server`, their articles on both hosts, some of them under the /private/ both robots.txt
    disallow: sources that share their hosts, as a newsroom's sections and wires do."""
    serve_newsroom(server)
    server.pages["/sitemap.xml"] = ("application/xml", (
        "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        + "".join(f"<url><loc>{host.url(path)}</loc><lastmod>2026-12-0{i + 1}</lastmod></url>"
                  for i, (host, path) in enumerate([(server, "/ok/s1"), (other, "/ok/s2"), (server, "/private/s3"),
                                                    (other, "/private/s4")]))
        + "</urlset>").encode())
    server.pages["/wire.txt"] = ("text/plain", "\n".join(
        [server.url("/ok/w1"), other.url("/ok/w2"), other.url("/private/w3"), "# a comment"]).encode())


def shared_sources(server, other) -> str:
    return (f"  - {{name: alhadath, kind: feed, url: '{server.url('/')}'}}\n"
            f"  - {{name: archive, kind: sitemap, url: '{server.url('/sitemap.xml')}'}}\n"
            f"  - {{name: wire, kind: urls, urls_file: '{server.url('/wire.txt')}'}}\n"
            f"  - {{name: novosti, kind: feed, url: '{server.url('/novosti/')}'}}\n"
            f"  - {{name: picks, kind: urls, urls: ['{other.url('/ok/p1')}', '{server.url('/private/p2')}']}}\n")


def check_shared(tmp_path, capsys, interval: float, one_by_one: bool = False):
    """`newsflow check` of the five shared_sources on two hosts, requests to one host `interval` apart: (exit code,
    output, the two servers, and with `one_by_one` each source's own check, one after another: (exit code, output)
    of each, the sequential check)."""
    with FaultServer() as server, FaultServer() as other:
        serve_shared_newsroom(server, other)
        path = tmp_path / "sources.yaml"
        path.write_text(f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}', '127.0.0.1:{other.port}']\n"
                        f"  min_host_interval_s: {interval}\n  max_tries: 1\n"
                        f"sources:\n{shared_sources(server, other)}", encoding="utf-8")
        code = main(["check", "--sources", str(path)])
        out = capsys.readouterr().out
        alone = []
        for name in ("alhadath", "archive", "wire", "novosti", "picks") if one_by_one else ():
            alone.append((main(["check", "--sources", str(path), "--source", name]), capsys.readouterr().out))
    return code, out, (server, other), alone


def test_check_of_sources_on_shared_hosts_says_what_each_source_alone_says_in_the_files_order(tmp_path, data_env,
                                                                                             capsys):
    """The sources are read at once: the output is still byte for byte the sequential one, each source's lines
    in the file's order, and the exit code theirs."""
    code, out, _, alone = check_shared(tmp_path, capsys, 0.05, one_by_one=True)
    assert out == "".join(text for _, text in alone)
    assert code == max(code for code, _ in alone) == 1  # novosti lists nothing
    lines = out.splitlines()
    assert [line.split(" (")[0] for line in lines if not line.startswith(" ")] == [
        "alhadath", "archive", "wire", "novosti", "picks"]
    assert "archive (sitemap): ok: 2 article URL(s) to fetch; disallowed by robots.txt: 2" in lines
    assert "wire (urls): ok: 2 article URL(s) to fetch; disallowed by robots.txt: 1" in lines
    assert "picks (urls): ok: 1 article URL(s) to fetch; disallowed by robots.txt: 1" in lines


def test_check_asks_each_hosts_robots_txt_once(tmp_path, data_env, capsys):
    """Five sources, two hosts: each robots.txt was asked by every source's Fetchers, for its listing and again for
    its articles: eight times on the host of the listings, three on the other."""
    code, _, (server, other), _ = check_shared(tmp_path, capsys, 0.05)
    assert code == 1
    assert server.hits["/robots.txt"] == 1
    assert other.hits["/robots.txt"] == 1


def test_check_keeps_requests_to_one_host_its_interval_apart_across_sources(tmp_path, data_env, capsys):
    """Sources are read at once, but the sources on one host wait their turn, as a run's parallel tasks do: the k-th
    request to a host reaches it no sooner than k intervals after the first (a correctness bound, not a speed: the
    host gate books each start an interval after the one before; `slack` is the loopback server's own lateness in
    noting an arrival, and a late one makes the gap before it longer and the next one shorter, as in
    test_host_gate's `paced`)."""
    interval, slack = 0.5, 0.2
    _, _, (server, _other), _ = check_shared(tmp_path, capsys, interval)
    # the host of the four listings: robots.txt, alhadath's page and the feed it announces, archive's, wire's and
    # novosti's: read at once, they all asked at the start
    arrivals = sorted(at for at, _ in server.arrivals)
    assert len(arrivals) >= 6, server.arrivals
    late = [at - arrivals[0] - k * interval for k, at in enumerate(arrivals)]
    assert min(late) >= -slack, [round(at - arrivals[0], 3) for at in arrivals]


def test_check_of_sources_on_a_dead_host_says_what_each_source_alone_says(tmp_path, data_env, capsys):
    """robots.txt read once for the check: a host that refused that read counts as refusing every source's Fetcher,
    as when each asked, so a listing there still fails `host_unreachable` at host_failure_limit, not by who asked."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    path = tmp_path / "sources.yaml"
    path.write_text(f"settings:\n  allow_private_hosts: ['127.0.0.1:{dead}']\n  max_tries: 1\n  host_failure_limit: 1\n"
                    "sources:\n" + "".join(f"  - {{name: {name}, kind: feed, url: 'http://127.0.0.1:{dead}/{name}.xml'}}\n"
                                           for name in ("first", "second", "third")), encoding="utf-8")
    code = main(["check", "--sources", str(path)])
    out = capsys.readouterr().out
    alone = [(main(["check", "--sources", str(path), "--source", name]), capsys.readouterr().out)
             for name in ("first", "second", "third")]
    assert (code, out) == (1, "".join(text for _, text in alone))
    assert out.count("failed host_unreachable") == 3, out


def write_crawl(path, records: int) -> None:
    """A crawl file of `records` small pages: seconds of reading for the discover stage at 10,000."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    page = b"<html><head><title>t</title></head><body>" + b"<p>words and more words</p>" * 20 + b"</body></html>"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i in range(records):
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                f"https://crawl.example/news/{i}.html", "response", payload=io.BytesIO(page), http_headers=headers,
                warc_headers_dict={"WARC-Date": "2018-06-20T10:00:00Z"}))

def test_a_warc_source_read_beside_a_slow_listing_leaves_its_request_its_time(tmp_path, data_env, capsys):
    """A crawl file is read from disk in one go (10,000 records: seconds). Read on the event loop that the other
    sources' requests share, it froze them: a listing asked just before, answered within its timeout, had that
    time run out while the loop was held, and failed `timeout` where the source checked alone was ok. Two sources
    at a time (global_concurrency), so the crawl starts when `picks` is done and `alhadath`'s feed is on its way."""
    crawl = tmp_path / "crawl.warc.gz"
    write_crawl(crawl, 10_000)
    with FaultServer() as server:
        serve_newsroom(server)
        server.delays["/feed/"] = 0.3
        path = tmp_path / "sources.yaml"
        path.write_text(f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n"
                        "  max_tries: 1\n  total_timeout_s: 1.5\n  global_concurrency: 2\nsources:\n"
                        f"  - {{name: picks, kind: urls, urls: ['{server.url('/ok/p1')}']}}\n"
                        f"  - {{name: alhadath, kind: feed, url: '{server.url('/feed/')}'}}\n"
                        f"  - {{name: crawl, kind: warc, path: '{crawl}'}}\n", encoding="utf-8")
        code = main(["check", "--sources", str(path)])
    lines = capsys.readouterr().out.splitlines()
    assert "alhadath (feed): ok: 2 article URL(s) to fetch; left out: duplicate 1" in lines, lines
    assert "crawl (warc): ok: 10000 article URL(s) to fetch" in lines and code == 0, lines


def test_ctrl_c_while_a_large_crawl_is_read_stops_the_check_at_once(tmp_path):
    """Ctrl-C during the check of a crawl printed 'newsflow: interrupted' and then held the terminal until the whole
    archive had been read (53 s for 60,000 records here): the thread reading it was joined at the interpreter's exit.
    One file of 20,000 records listed ten times over (a crawl folder's glob) is about a minute of reading here; the
    check is stopped as soon as it has the file open."""
    import signal
    import subprocess
    import sys
    import time

    crawl = tmp_path / "crawl"
    crawl.mkdir()
    write_crawl(tmp_path / "big.warc.gz", 20_000)
    for part in range(10):
        (crawl / f"part-{part}.warc.gz").symlink_to(tmp_path / "big.warc.gz")
    path = tmp_path / "sources.yaml"
    path.write_text(f"sources:\n  - {{name: crawl, kind: warc, path: '{crawl}/*.warc.gz'}}\n", encoding="utf-8")
    env = {**os.environ, "NEWSFLOW_DATA_DIR": str(tmp_path / "data")}
    cli = subprocess.Popen([sys.executable, "-m", "newsflow.cli", "check", "--sources", str(path)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def reading() -> bool:
        try:
            return any(os.readlink(fd) == str(tmp_path / "big.warc.gz")
                       for fd in (f"/proc/{cli.pid}/fd/{n}" for n in os.listdir(f"/proc/{cli.pid}/fd")))
        except OSError:  # a descriptor closed while it was looked at
            return False

    deadline = time.monotonic() + 120
    while not reading():
        assert cli.poll() is None and time.monotonic() < deadline, "the check never opened the crawl"
        time.sleep(0.05)
    cli.send_signal(signal.SIGINT)
    asked = time.monotonic()
    out, err = cli.communicate(timeout=600)
    took = time.monotonic() - asked
    assert cli.returncode == 130 and err.decode().strip().endswith("newsflow: interrupted"), err
    assert took < 5, f"the check went on {took:.1f} s after Ctrl-C"


def test_an_error_reading_a_crawl_reaches_the_check():
    """The crawl is read in a thread of its own: what it raises is raised where the check awaits it."""
    import asyncio

    from newsflow.source_check import _in_daemon_thread

    async def read():
        return await _in_daemon_thread(int, "not a number")

    with pytest.raises(ValueError, match="not a number"):
        asyncio.run(read())


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("fails", [False, True], ids=["read", "failed"])
@pytest.mark.parametrize("loop_closed", [False, True], ids=["loop_on", "loop_closed"])
def test_a_crawl_read_on_after_its_check_was_stopped_ends_quietly(caplog, fails, loop_closed):
    """Ctrl-C stops the check, not the thread reading a crawl: when that thread ends, with the check's loop still
    closing or already closed, its outcome goes nowhere and nothing is said (no error in the thread, no log)."""
    import asyncio
    import threading

    from newsflow.source_check import _in_daemon_thread

    release = threading.Event()

    def read():
        assert release.wait(30)
        if fails:
            raise OSError("read error")
        return "report"

    before = set(threading.enumerate())

    async def check():
        return await _in_daemon_thread(read)

    async def stopped():
        waiting = asyncio.create_task(check())
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        if not loop_closed:
            release.set()
            await asyncio.sleep(0.2)  # the loop runs what the thread's end scheduled on it

    asyncio.run(stopped())
    release.set()
    for thread in set(threading.enumerate()) - before:
        thread.join(30)
    assert [r.getMessage() for r in caplog.records if r.levelname in ("WARNING", "ERROR", "CRITICAL")] == []
