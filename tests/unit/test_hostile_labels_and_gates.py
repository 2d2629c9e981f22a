"""What hostile or merely unusual sites made of newsflow, over loopback HTTP: a charset label no browser reads (an
EBCDIC code page) decoded a plain page into noise, an article renamed since was taken for a consent gate (and its
host walled off after a few), and `newsflow check` handed a site's escape sequences to the terminal."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from newsflow.cli import main
from newsflow.config import Settings
from newsflow.encoding import decode_html
from newsflow.fetch import Fetcher
from tests.support.faultserver import GOOD_ARTICLE, FaultServer

ROOT = Path(__file__).resolve().parents[2]
STORY = "Parliament passed the annual budget late on Monday"


@pytest.fixture(scope="module")
def server():
    with FaultServer() as srv:
        yield srv


def settings_for(server, **overrides) -> Settings:
    values = dict(min_host_interval_s=0, connect_timeout_s=1, read_timeout_s=2, total_timeout_s=5, max_tries=1,
                  allow_private_hosts=[f"127.0.0.1:{server.port}"])
    values.update(overrides)
    return Settings(**values)


def fetch_all(server, paths: list[str], **overrides):
    async def go():
        async with Fetcher(settings_for(server, **overrides), seed=1) as fetcher:
            return [await fetcher.get(server.url(path)) for path in paths]

    return asyncio.run(go())


def write_sources(tmp_path, server, entries: str) -> str:
    path = tmp_path / "sources.yaml"
    path.write_text(f"settings:\n  allow_private_hosts: ['127.0.0.1:{server.port}']\n  min_host_interval_s: 0\n"
                    f"  max_tries: 1\nsources:\n{entries}", encoding="utf-8")
    return str(path)


# -- charset labels no browser reads --------------------------------------------------------------------------------

NON_WEB_LABELS = ["cp037", "ibm500", "cp1026", "cp875", "ibm037", "utf-8-sig", "mac-roman", "rot13", "hz-gb-2312",
                  "csiso2022kr", "replacement"]


@pytest.mark.parametrize("where", ["header", "meta"])
@pytest.mark.parametrize("label", NON_WEB_LABELS)
def test_a_label_outside_the_encoding_standard_is_read_as_no_label(label, where):
    """EBCDIC code pages are Python codecs, not web encodings: a plain page naming one came out as "\\x14ÇÈ_%…", and
    was rejected for missing date, body and language. HZ and ISO-2022-KR are the Standard's `replacement` (their
    ASCII bytes can change meaning, as UTF-7's can)."""
    page = GOOD_ARTICLE.replace('<meta charset="utf-8">', f'<meta charset="{label}">' if where == "meta" else "")
    header = f"text/html; charset={label}" if where == "header" else "text/html"
    text, used = decode_html(page.encode("utf-8"), header)
    assert (used, text) == ("utf-8", page)


@pytest.mark.parametrize(("label", "codec"), [
    ("latin1", "cp1252"), ("US-ASCII", "cp1252"), ("iso-8859-9", "cp1254"), ("tis-620", "cp874"),
    ("unicode-1-1-utf-8", "utf-8"), ("x-mac-ukrainian", "mac-cyrillic"), ("ks_c_5601-1987", "cp949"),
    ("gb2312", "gb18030"), ("GBK", "gb18030"), ("big5-hkscs", "big5hkscs"), ("windows-31j", "cp932"),
    ("iso-8859-8-i", "iso8859-8"), ("x-user-defined", "cp1252"), (" 'koi8-r' ", "koi8-r"),
])
def test_the_standards_labels_still_name_the_codec_browsers_decode_by(label, codec):
    from newsflow.encoding import normalise_label

    assert normalise_label(label) == codec


@pytest.mark.parametrize(("label", "codec"), [
    ("latin-1", "cp1252"), ("LATIN_1", "cp1252"), ("iso8859_1", "cp1252"), ("latin9", "iso8859-15"),
    ("cp874", "cp874")])
def test_pythons_spellings_of_web_encodings_are_read_as_the_standards(label, codec):
    """Not Standard labels, but what servers send for windows-1252 and its kin: ignored, a page labelled latin-1
    went to detection, which read £ as Ł."""
    from newsflow.encoding import normalise_label

    assert normalise_label(label) == codec


@pytest.mark.parametrize("label", ["cp037", "ibm500", "cp1026"])
def test_a_page_served_with_an_ebcdic_charset_is_extracted(server, label):
    """The tester's case end to end: the page over HTTP with the label in its header (and in its meta tag), read and
    extracted as an ingest run does."""
    from newsflow.extract import extract_html

    path = f"/ebcdic/{label}"
    server.pages[path] = (f"text/html; charset={label}",
                          GOOD_ARTICLE.replace('charset="utf-8"', f'charset="{label}"').encode())
    [result] = fetch_all(server, [path])
    assert result.outcome == "ok", result.reason
    html, used = decode_html(result.body, result.content_type)
    record = extract_html(html, url=server.url(path), source="s", fetched_at=datetime.now(UTC))
    assert used == "utf-8"
    assert STORY in record["body"] and record["language"] == "en" and record["published_at"] is not None


def test_a_feed_served_with_an_ebcdic_charset_is_read(tmp_path, data_env, capsys, server):
    """A feed whose bytes are not UTF-8 is read by its header's charset: cp037 made its XML unreadable."""
    server.pages["/ebcdic/feed.xml"] = ("application/rss+xml; charset=cp037", (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Caf\xe9 Gazette</title>"
        f"<item><title>Caf\xe9 owners vote</title><link>{server.url('/ok/ebcdic-feed-1')}</link></item>"
        "</channel></rss>").encode("cp1252"))
    code = main(["check", "--sources", write_sources(tmp_path, server, (
        f"  - {{name: ebcdic, kind: feed, url: '{server.url('/ebcdic/feed.xml')}'}}\n"))])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0, lines
    assert f"  e.g. {server.url('/ok/ebcdic-feed-1')}" in lines


# -- renamed articles are no consent gates --------------------------------------------------------------------------

@pytest.mark.parametrize(("asked", "landed"), [
    # the tester's site: the old address on the new one's query, for the CMS's analytics
    ("https://herald.example/news/2024/story-3",
     "https://herald.example/news/2024/story-3-renamed?redirectedfrom=/news/2024/story-3"),
    ("https://herald.example/news/2024/harbour-vote-delayed",
     "https://herald.example/news/2024/harbour-vote-put-off-to-june?redirectedfrom=%2Fnews%2F2024%2Fharbour-vote-delayed"),
    ("https://herald.example/world/ukraine-talks",
     "https://www.herald.example/world/2024/03/ukraine-talks-resume.html?from=https%3A%2F%2Fherald.example%2Fworld%2F"
     "ukraine-talks"),
    # a headline may say consent or login: a slug is no gate's one-word path segment
    ("https://herald.example/news/2024/consent-ruling",
     "https://herald.example/news/2024/court-upholds-consent-decree-in-harbour-case?redirectedfrom=/news/2024/"
     "consent-ruling"),
    ("https://herald.example/tech/login-leak",
     "https://herald.example/tech/millions-of-login-details-leaked-from-retailer?old=/tech/login-leak"),
], ids=["renamed-suffix", "renamed-headline", "renamed-on-www", "headline-says-consent", "headline-says-login"])
def test_a_renamed_article_carrying_its_old_address_is_no_gate(asked, landed):
    from newsflow.bot_walls import is_gate

    assert is_gate(asked, landed) is False


@pytest.mark.parametrize(("asked", "landed"), [
    ("https://herald.example/news/2024/story-3", "https://herald.example/consent?return=https%3A%2F%2Fherald.example"
                                                 "%2Fnews%2F2024%2Fstory-3"),
    ("https://herald.example/news/2024/story-3", "https://herald.example/login?next=/news/2024/story-3"),
    ("https://herald.example/news/2024/story-3", "https://herald.example/users/sign_in?return_to=%2Fnews%2F2024%2Fstory-3"),
    ("https://herald.example/news/2024/story-3", "https://herald.example/wp-login.php?redirect_to=https%3A%2F%2F"
                                                 "herald.example%2Fnews%2F2024%2Fstory-3"),
    ("https://herald.example/news/2024/story-3", "https://herald.example/Account/Login?ReturnUrl=%2Fnews%2F2024%2Fstory-3"),
    ("https://news.yahoo.example/budget-vote-123.html",
     "https://guce.yahoo.example/consent?brandType=eu&done=https%3A%2F%2Fnews.yahoo.example%2Fbudget-vote-123.html"),
    ("https://news.yahoo.example/budget-vote-123.html",
     "https://consent.yahoo.example/v2/collectConsent?sessionId=3_cc&done=https%3A%2F%2Fnews.yahoo.example%2F"
     "budget-vote-123.html"),
    ("https://news.google.example/articles/CBMiX2h0dHBz",
     "https://accounts.google.example/ServiceLogin?continue=https://news.google.example/articles/CBMiX2h0dHBz"),
    ("https://www.ad.example/binnenland/brug-dicht~a1b2c3/",
     "https://myprivacy.dpgmedia.example/m?callbackUrl=https%3A%2F%2Fwww.ad.example%2Fbinnenland%2Fbrug-dicht~a1b2c3"
     "%2F"),
    ("https://www.zeit.example/politik/2024-05/haushalt", "https://www.zeit.example/zustimmung?url=https%3A%2F%2F"
                                                           "www.zeit.example%2Fpolitik%2F2024-05%2Fhaushalt"),
    ("https://www.journal.example/societe/article-42", "https://www.journal.example/connexion?redirect=/societe/"
                                                       "article-42"),
    ("https://www.krant.example/nieuws/brug-dicht", "https://www.krant.example/inloggen?return=/nieuws/brug-dicht"),
], ids=["consent-return", "login-next", "rails-sign-in", "wordpress-login", "aspnet-login", "yahoo-guce",
        "yahoo-collect-consent", "google-service-login", "privacy-host", "zeit-zustimmung", "french-connexion",
        "dutch-inloggen"])
def test_consent_and_login_gates_are_still_gates(asked, landed):
    from newsflow.bot_walls import is_gate

    assert is_gate(asked, landed) is True


def test_renamed_articles_are_fetched_and_their_host_is_not_walled(server):
    """The tester's site over HTTP: each renamed story ended `failed: blocked:gate`, and after host_failure_limit of
    them the host's other URLs were refused without a request."""
    renamed = [f"/news/2024/story-number-{i}" for i in range(3)]
    for path in renamed:
        server.moved[path] = f"{path}-renamed?redirectedfrom={path}"
        server.pages[f"{path}-renamed"] = ("text/html; charset=utf-8", GOOD_ARTICLE.encode())
    results = fetch_all(server, [*renamed, "/ok/after-the-renamed"], host_failure_limit=2)
    assert [(r.outcome, r.reason) for r in results] == [("ok", None)] * 4
    assert results[0].final_url == server.url("/news/2024/story-number-0-renamed?redirectedfrom=/news/2024/story-number-0")


@pytest.mark.parametrize("gate", ["consent", "login"])
def test_a_site_gating_articles_behind_consent_or_login_is_still_caught(server, gate):
    login_page = b"<html><body><form><h1>Sign in to keep reading</h1><input name=password></form></body></html>"
    server.pages["/login"] = ("text/html", login_page)
    paths = [f"/news/2024/{gate}-gated-{i}" for i in range(2)]
    for path in paths:
        target = (f"/consent?return={quote(server.url(path), safe='')}" if gate == "consent"
                  else f"/login?next={quote(path, safe='')}")
        server.moved[path] = target
    results = fetch_all(server, [*paths, f"/ok/after-the-{gate}-gate"], host_failure_limit=2)
    assert [r.reason for r in results] == ["blocked:gate"] * 3
    assert results[2].tries == 0  # the host gates every article: asked nothing more


# -- newsflow check and a hostile site's text -----------------------------------------------------------------------

# what a terminal must not be handed: C0 controls but the line break, C1 controls, bidi embeddings and overrides
UNSHOWABLE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
ESC_TITLE = "\x1b]0;PWNED\x07\x1b[31m"


def test_check_shows_a_hostile_sites_text_escaped_on_stdout_and_stderr(tmp_path, data_env, server):
    """A JSON Feed's date_published of "\\x1b]0;PWNED-TITLE\\x07\\x1b[2J…" retitled and cleared the terminal as
    "(listed …)"; a feed href announced with an ESC sequence went raw to stdout and to the "is a web page; reading …"
    line on stderr; a U+202E in a listed URL reversed the rest of its line. The real CLI, as a subprocess: its log
    lines reach stderr as they do in a terminal."""
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [
        {"id": "1", "url": server.url("/ok/hostile-1"), "title": "x",
         "date_published": "\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[31mRED"},
        {"id": "2", "url": server.url("/ok/p/\u202egnp.exe"), "title": "y", "date_published": "2024-05-01T00:00:00Z"}]}
    server.pages["/hostile/feed.json"] = ("application/feed+json", json.dumps(feed).encode())
    server.pages["/hostile/home"] = ("text/html", (
        "<html><head><title>Home</title><link rel='alternate' type='application/rss+xml' "
        f"href='/hostile/feed{ESC_TITLE}.xml'></head><body>hi</body></html>").encode())
    sources = write_sources(tmp_path, server, (
        f"  - {{name: jsonfeed, kind: feed, url: '{server.url('/hostile/feed.json')}'}}\n"
        f"  - {{name: announced, kind: feed, url: '{server.url('/hostile/home')}'}}\n"))
    result = subprocess.run([sys.executable, "-m", "newsflow.cli", "check", "--sources", sources],
                            capture_output=True, timeout=300, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")})
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 1 and "Traceback" not in stderr, stderr  # the announced feed's URL is invalid
    assert not UNSHOWABLE.findall(stdout), stdout
    assert not UNSHOWABLE.findall(stderr), stderr
    # still shown, each character a terminal must not be handed as U+FFFD
    assert f"  e.g. {server.url('/ok/hostile-1')} (listed \ufffd]0;PWNED-TITLE\ufffd\ufffd[2J\ufffd[31mRED)" in stdout
    assert f"  e.g. {server.url('/ok/p/')}\ufffdgnp.exe (listed 2024-05-01T00:00:00Z)" in stdout
    escaped = server.url("/hostile/feed\ufffd]0;PWNED\ufffd\ufffd[31m.xml")
    assert f"  feed {escaped}: skipped invalid_url" in stdout
    assert f"{server.url('/hostile/home')} is a web page; reading {escaped} instead" in stderr


def test_render_makes_every_sites_text_printable():
    """Each field render prints can come from a site: a listing's final URL (its redirect), a robots.txt-disallowed
    URL, a reason."""
    from newsflow.source_check import SourceReport, render

    report = SourceReport("wire", "feed", documents=[{
        "url": "http://x.example/feed", "url_kind": "feed", "outcome": "loaded", "reason": "listed:1",
        "http_status": 200, "final_url": "http://x.example/feed\u202e\x9b2J"}],
        articles=1, examples=[("http://x.example/a\x1b[2J", "2024\u2066-05")],
        disallowed_examples=[("http://x.example/b\x07", "robots_disallowed")], disallowed=1)
    text = render([report])
    assert not UNSHOWABLE.findall(text), text
    assert "redirected to http://x.example/feed\ufffd\ufffd2J: put that URL in the file" in text
    assert "  e.g. http://x.example/a\ufffd[2J (listed 2024\ufffd-05)" in text
    assert "  robots.txt disallows http://x.example/b\ufffd" in text
