"""Randomly malformed HTTP responses (a fixed seed) through every stage of a run: undecodable bytes in the status
line and headers, wrong lengths and encodings, damaged bodies in several charsets, redirects to junk. The run
succeeds, no source fails, and every URL ends as exactly one fetch_log row."""

from __future__ import annotations

import random

from newsflow.warehouse import connect
from tests.support.faultserver import article_html
from tests.support.rawserver import RawServer
from tests.support.stage_run import run

STATUSES = [b"200 OK", b"200 OK", b"200 OK", b"200 \xff\xfe", b"203 Non-Authoritative", b"404 Not Found",
            b"500 Oops", b"301 Moved", b"304 Not Modified", b"429 Slow Down"]
CONTENT_TYPES = [b"text/html", b"text/html; charset=utf-8", b"text/html; charset=\xe9", b"text/html; charset=undefined",
                 b"application/xhtml+xml", b"", b"text/plain", b"TEXT/HTML; CHARSET=KOI8-R", b"text/html; charset=utf-7"]
LOCATIONS = [b"/moved/\xe9\xff", b"/moved/%E9", "/moved/\u0623\u062e\u0628\u0627\u0631".encode(), b"http://[::1/", b"",
             b"javascript:alert(1)", b"/p/0"]
EXTRA = [b'ETag: "\xe9"', b"Last-Modified: \xff\xfe", b"X-Junk: " + bytes(range(128, 160)), b"Content-Encoding: gzip",
         b"Content-Encoding: zstd", b"Retry-After: -1", b"Set-Cookie: a=\xe9", b"ETag: \"a\x00\""]


def response(rng: random.Random, i: int) -> bytes:
    text = article_html(f"Story {i}: \u0627\u0644\u062d\u062f\u062b", "The council met on Monday to vote. " * rng.randint(1, 25))
    body = bytearray(text.encode(rng.choice(["utf-8", "utf-8", "utf-16", "windows-1256", "latin-1"]), "replace"))
    for _ in range(rng.choice([0, 0, 0, 5, 40])):
        body[rng.randrange(len(body))] = rng.randrange(256)
    status = rng.choice(STATUSES)
    headers = [b"Content-Type: " + rng.choice(CONTENT_TYPES)]
    if status.startswith(b"301"):
        headers.append(b"Location: " + rng.choice(LOCATIONS))
    if rng.random() < 0.4:
        headers.append(rng.choice(EXTRA))
    length = rng.choice(["exact", "exact", "none", "short", "long"])
    if length != "none":
        headers.append(b"Content-Length: %d" % {"exact": len(body), "short": len(body) // 2,
                                                 "long": len(body) + 100}[length])
    data = b"HTTP/1.1 " + status + b"\r\n" + b"\r\n".join(headers) + b"\r\nConnection: close\r\n\r\n" + bytes(body)
    return data[: rng.randrange(len(data))] if rng.random() < 0.05 else data


def test_malformed_responses_each_end_in_one_outcome_and_fail_no_source(tmp_path, data_env):
    rng = random.Random(23)
    pages = {f"/p/{i}": response(rng, i) for i in range(100)}
    targets = {"/moved/%E9%FF": response(rng, 100), "/moved/%E9": response(rng, 101)}
    with RawServer({**pages, **targets}) as server:
        urls = "".join(f"      - '{server.url(path)}'\n" for path in pages)
        summary = run(tmp_path, None, "hostile", f"  - name: hostile\n    kind: urls\n    urls:\n{urls}",
                      settings=f"  allow_private_hosts: ['127.0.0.1:{server.port}']\n  connect_timeout_s: 1\n"
                               "  read_timeout_s: 1\n  total_timeout_s: 2\n")
    assert summary["status"] == "succeeded" and not summary["failed_sources"], summary
    con = connect(data_env / "warehouse", read_only=True)
    try:
        rows = con.execute("select seq, outcome, reason from fetch_log where url_kind = 'article'").fetchall()
    finally:
        con.close()
    assert sorted(seq for seq, _, _ in rows) == list(range(len(pages)))
    outcomes = {(outcome, (reason or "").split(":")[0]) for _, outcome, reason in rows}
    assert ("loaded", "new") in outcomes and ("failed", "bad_response") in outcomes
    assert not any(reason == "fetch_error" for _, reason in outcomes), outcomes  # nothing unforeseen
