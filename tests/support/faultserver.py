"""A web server that misbehaves on purpose, on loopback, for fetch and end-to-end tests: throttling, stalls,
trickles, resets, bombs, loops, hostile redirects, wrong types and every legacy encoding newsflow must read.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import random
import threading
import time
import zlib
from urllib.parse import quote

from aiohttp import web

ARTICLE_TEMPLATE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="{meta_charset}"><title>{title} | Fault Gazette</title>
<meta property="article:published_time" content="2018-05-21T12:23:00+03:00"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>{title}</h1><p class="dateline">21 May 2018</p>
{paragraphs}
</article><footer>Fault Gazette, all rights reserved</footer></body></html>"""

ENCODED_TEXT = {
    # encoding: (lang, title, paragraph text)
    "windows-1256": ("ar", "الحكومة تقر موازنة جديدة", "أقرت الحكومة اليوم موازنة جديدة للعام المقبل بعد نقاش طويل في مجلس الوزراء حول أولويات الإنفاق العام والاستثمار في البنية التحتية والتعليم والصحة. "),
    "iso-8859-6": ("ar", "افتتاح معرض الكتاب", "افتتح وزير الثقافة معرض الكتاب السنوي بمشاركة مئات من دور النشر العربية والاجنبية وسط اقبال واسع من الزوار والطلاب والباحثين. "),
    "shift_jis": ("ja", "東京で新しい図書館が開館", "東京都内で新しい公共図書館が開館し、初日から多くの市民が訪れた。館内には子ども向けの読書室や研究者向けの資料室が設けられている。"),
    "euc-kr": ("ko", "서울에서 새 도서관 개관", "서울 시내에 새로운 공공 도서관이 문을 열었다. 개관 첫날부터 많은 시민들이 찾아와 책을 읽고 다양한 행사에 참여했다. "),
    "koi8-r": ("ru", "В Москве открылась новая библиотека", "В центре Москвы открылась новая городская библиотека. В первый же день её посетили сотни жителей, а вечером прошла встреча с писателями. "),
    "utf-8": ("el", "Νέα δημόσια βιβλιοθήκη στην Αθήνα", "Μια νέα δημόσια βιβλιοθήκη άνοιξε στο κέντρο της Αθήνας με αναγνωστήρια για παιδιά, χώρο για ερευνητές και απογευματινό ωράριο που ζητούσαν οι κάτοικοι. "),
    # no byte-order mark (Python's utf-16-be writes none): told by where its zero bytes fall
    "utf-16-be": ("ar", "افتتاح مكتبة عامة جديدة في صور", "افتتحت البلدية مكتبة عامة جديدة في وسط مدينة صور تضم قاعات للمطالعة وركنا للأطفال وتفتح أبوابها حتى ساعات المساء. "),
    # 7-bit, so valid ASCII and valid UTF-8: told by detection when nothing declares it
    "iso-2022-jp": ("ja", "大阪で市民マラソンが開催", "大阪市内で市民マラソンが開催され、約三万人のランナーが秋晴れの街を駆け抜けた。沿道では多くの市民が声援を送った。"),
    "utf-16": ("en", "City opens a new public library", "The city opened a new public library on Monday, with reading rooms for children, a research floor and late opening hours that residents had asked for. "),
}


def article_html(title: str, text: str, lang: str = "en", meta_charset: str = "utf-8", repeat: int = 6) -> str:
    # numbered so that no two paragraphs are identical: extractors drop repeated text
    paragraphs = "\n".join(f"<p>{i + 1}. {text} {title} ({i + 1}/{repeat})</p>" for i in range(repeat))
    return ARTICLE_TEMPLATE.format(lang=lang, title=title, paragraphs=paragraphs, meta_charset=meta_charset)


GOOD_ARTICLE = article_html(
    "Parliament passes the budget",
    "Parliament passed the annual budget late on Monday after a long debate about spending on schools, hospitals and roads. ",
)

JSONLD_BOMB = '<script type="application/ld+json">' + "[" * 50_000 + "]" * 50_000 + "</script>"
# paragraphs that each hold a link: trafilatura's cost grows faster than their number (20,000 take ~3.7 CPU s,
# 50,000 ~16 here), so the page stays well over the tests' 2.5-3 s limits on a machine several times faster.
# A list of 60,000 links took only ~3.4 CPU s and once finished under a 3 s limit in CI.
LINK_FARM = GOOD_ARTICLE.replace(
    "</article>", "".join(f'<p>see <a href="/tag/{i}">tag {i}</a> too</p>' for i in range(50_000)) + "</article>")


class FaultServer:
    """Start with `with FaultServer() as server:`; `server.url(path)` gives absolute URLs."""

    def __init__(self, crawl_delay: float | None = None):
        self.crawl_delay = crawl_delay
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.hits: dict[str, int] = {}
        self.arrivals: list[tuple[float, str]] = []  # (time.monotonic() at arrival, path) of every request
        # path -> (content type, body): documents a test builds (a feed of junk links, a WARC to download)
        self.pages: dict[str, tuple[str, bytes]] = {}
        self.moved: dict[str, str] = {}  # path -> where it moved permanently (301)
        self.delays: dict[str, float] = {}  # path -> seconds it waits before answering (a slow listing)
        self.slow = True  # False: /slow/ pages answer at once (a test that acted mid-fetch reruns without waiting)
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------------------------
    def __enter__(self) -> FaultServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    # -- behaviours -------------------------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.arrivals.append((time.monotonic(), path))
        self.hits[path] = self.hits.get(path, 0) + 1
        hits = self.hits[path]
        if path in self.delays:
            await asyncio.sleep(self.delays[path])
        if path in self.moved:
            raise web.HTTPMovedPermanently(self.moved[path])
        if path in self.pages:
            content_type, body = self.pages[path]
            return web.Response(body=body, headers={"Content-Type": content_type})
        if path == "/robots.txt":
            delay = f"Crawl-delay: {self.crawl_delay}\n" if self.crawl_delay else ""
            return web.Response(text=f"User-agent: *\n{delay}Disallow: /private/\n", content_type="text/plain")
        if path.startswith("/slow/"):  # an article that takes its time: for tests that act mid-fetch
            if self.slow:
                await asyncio.sleep(float(request.query.get("s", "0.3")))
            return web.Response(text=GOOD_ARTICLE.replace("Parliament passes", f"Parliament passes ({path})"),
                                content_type="text/html", charset="utf-8")
        if path.startswith("/ok/") or path.startswith("/private/"):
            return web.Response(text=GOOD_ARTICLE.replace("Parliament passes", f"Parliament passes ({path})"), content_type="text/html", charset="utf-8")
        if path == "/etag":
            etag = '"v1"'
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            return web.Response(text=GOOD_ARTICLE, content_type="text/html", headers={"ETag": etag})
        if path.startswith("/status/"):
            return web.Response(status=int(path.rsplit("/", 1)[1]), text="error page", content_type="text/plain")
        if path == "/retry-after":
            if hits <= 2:
                return web.Response(status=429 if hits == 1 else 503, headers={"Retry-After": "1"}, text="slow down")
            return web.Response(text=GOOD_ARTICLE, content_type="text/html")
        if path == "/always-503":
            return web.Response(status=503, headers={"Retry-After": "0"}, text="down")
        if path == "/stall-headers":
            await asyncio.sleep(3600)
        if path == "/stall-body":
            response = web.StreamResponse(headers={"Content-Type": "text/html"})
            await response.prepare(request)
            await response.write(b"<html><body><p>start")
            await asyncio.sleep(3600)
        if path == "/trickle":
            response = web.StreamResponse(headers={"Content-Type": "text/html"})
            await response.prepare(request)
            for _ in range(3600):
                await response.write(b"x")
                await asyncio.sleep(0.5)
            return response
        if path == "/reset":
            request.transport.close()
            return web.Response(text="never sent")
        if path == "/gzip-bomb":
            return web.Response(body=_BOMB, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
        if path == "/deflate":
            return web.Response(body=zlib.compress(GOOD_ARTICLE.encode()), headers={"Content-Type": "text/html", "Content-Encoding": "deflate"})
        if path == "/gzip-ok":
            return web.Response(body=gzip.compress(GOOD_ARTICLE.encode()), headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
        if path == "/gzip-truncated":
            data = gzip.compress(GOOD_ARTICLE.encode() * 5)
            return web.Response(body=data[: len(data) // 2], headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
        if path == "/gzip-corrupt":
            return web.Response(body=b"\x1f\x8b\x08\x00" + os.urandom(2000), headers={"Content-Type": "text/html", "Content-Encoding": "gzip"})
        if path == "/endless":
            response = web.StreamResponse(headers={"Content-Type": "text/html"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            chunk = b"<p>" + b"endless " * 8000 + b"</p>"
            try:
                for _ in range(100_000):
                    await response.write(chunk)
            except (ConnectionResetError, RuntimeError):
                pass
            return response
        if path == "/too-large-declared":
            return web.Response(body=b"<html>" + b"x" * 3_000_000, content_type="text/html")
        if path == "/redirect-loop":
            raise web.HTTPFound("/redirect-loop-b")
        if path == "/redirect-loop-b":
            raise web.HTTPFound("/redirect-loop")
        if path == "/redirect-ok":
            raise web.HTTPMovedPermanently("/ok/after-redirect")
        if path == "/redirect-private":
            raise web.HTTPFound("http://10.0.0.1/admin")
        if path == "/redirect-metadata":
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")
        if path == "/redirect-localhost":
            # same machine, another port: not on the allow list
            raise web.HTTPFound(f"http://{request.query.get('host', 'localhost')}:{request.query.get('port', '1')}/")
        if path == "/cookie-bounce":  # a site that sets a cookie and redirects back to check it
            if request.cookies.get("visited") == "1":
                return web.Response(text=GOOD_ARTICLE, content_type="text/html")
            raise web.HTTPFound("/cookie-set?next=/cookie-bounce")
        if path == "/cookie-set":
            response = web.HTTPFound(request.query.get("next", "/"))
            response.set_cookie("visited", "1", path="/")
            raise response
        if path == "/cookie-echo":  # the cookies a request carried, in an article
            cookies = ", ".join(f"{k}={v}" for k, v in sorted(request.cookies.items())) or "none"
            return web.Response(text=article_html(f"Cookies sent: {cookies}", "The council met on Monday. " * 12),
                                content_type="text/html")
        if path.startswith("/gate/"):  # a consent gate that promises to send the reader back
            here = f"{self.base}{path}"
            if path.startswith("/gate/nested"):  # DPG Media's: the path inside a URL inside the query
                inner = f"{self.base}/privacy-gate/accept?redirectUri={quote(path, safe='')}"
                raise web.HTTPFound(f"/privacy-gate?siteKey=x&callbackUrl={quote(inner, safe='')}")
            if path.startswith("/gate/tracking"):  # not a gate: the article, with the campaign on its query
                raise web.HTTPFound("/ok/landing?utm_source=newsletter")
            raise web.HTTPFound(f"/consent?gl=DE&continue={quote(here, safe='')}")
        if path in ("/consent", "/privacy-gate"):
            return web.Response(text="<html><body><form><h1>Before you continue</h1><p>We use cookies.</p>"
                                     "<button>Accept all</button></form></body></html>", content_type="text/html")
        if path.startswith("/wall/"):
            status, headers, body = BOT_WALLS[path.removeprefix("/wall/").split("/")[0]]
            return web.Response(status=status, body=body, headers={"Content-Type": "text/html", **headers})
        if path.startswith("/refresh/"):
            return _refresh_page(path.removeprefix("/refresh/"), request.query)
        if path == "/redirect-private-path":  # into the part of the site robots.txt closes
            raise web.HTTPFound("/private/secret")
        if path == "/redirect-file":
            raise web.HTTPFound("file:///etc/passwd")
        if path == "/pdf":
            return web.Response(body=b"%PDF-1.4\n" + os.urandom(4000), content_type="application/pdf")
        if path == "/json":
            return web.Response(text='{"a": 1}', content_type="application/json")
        if path == "/random-bytes":
            # the same bytes every time: one draw in ~2,000 of os.urandom read, recovered, as an element (`<إ>`), a
            # listing `not_a_sitemap` instead of `xml_parse_error`, and a test failed by chance
            return web.Response(body=random.Random("random-bytes").randbytes(5000),
                                headers={"Content-Type": "application/octet-stream"})
        if path == "/no-content-type":
            response = web.Response(body=GOOD_ARTICLE.encode())
            response.headers.popall("Content-Type", None)
            return response
        if path.startswith("/enc/"):
            # /enc/<encoding>/<header|meta|none|default-header>: the charset in the header, in a meta tag, nowhere, or
            # in a meta tag while the header says ISO-8859-1 (a server's default, not the page's encoding)
            _, _, encoding, where = path.split("/")
            lang, title, text = ENCODED_TEXT[encoding]
            meta = encoding if where in ("meta", "default-header") else ("utf-8" if encoding != "utf-16" else "utf-16")
            html = article_html(title, text, lang=lang, meta_charset=meta)
            if where not in ("meta", "default-header"):
                html = html.replace(f'<meta charset="{meta}">', "")
            body = html.encode(encoding)
            ctype = {"header": f"text/html; charset={encoding}",
                     "default-header": "text/html; charset=ISO-8859-1"}.get(where, "text/html")
            return web.Response(body=body, headers={"Content-Type": ctype})
        if path == "/empty":
            return web.Response(body=b"", content_type="text/html")
        if path == "/jsonld-bomb":  # an article whose JSON-LD nests deeper than Python's recursion limit
            return web.Response(text=GOOD_ARTICLE.replace("</head>", f"{JSONLD_BOMB}</head>"), content_type="text/html")
        if path == "/link-farm":  # an article drowned in 50,000 linked paragraphs, 2.4 MB: ~16 CPU s
            return web.Response(text=LINK_FARM, content_type="text/html")
        return web.Response(status=404, text="not found")


# /wall/<case>[/...]: the challenge and block pages of CDNs and WAFs, as they answer a client without a browser
_AKAMAI = (b'<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n\nYou don\'t have '
           b'permission to access "http&#58;&#47;&#47;herald&#46;example&#47;" on this server.<P>\n'
           b'Reference&#32;&#35;18&#46;2d351ab8&#46;1557333295&#46;a4e16ab\n<P>https&#58;&#47;&#47;errors&#46;'
           b'edgesuite&#46;net&#47;18&#46;2d351ab8&#46;1557333295&#46;a4e16ab</P>\n</BODY>\n</HTML>\n')
BOT_WALLS = {
    "cloudflare": (403, {"cf-mitigated": "challenge"},
                   b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
                   b"<script src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1'></script></body></html>"),
    # the same behind a 503: retried with backoff, it cost every try
    "cloudflare-503": (503, {"cf-mitigated": "challenge", "Retry-After": "1"}, b"<html><body>Checking</body></html>"),
    "vercel": (429, {"x-vercel-mitigated": "challenge"}, b"<html><body>Vercel Security Checkpoint</body></html>"),
    "datadome": (403, {}, b"<html><head><title>herald.example</title></head><body><script>var dd={'cid':'AHrlqA',"
                          b"'host':'geo.captcha-delivery.com'}</script>"
                          b"<script src='https://ct.captcha-delivery.com/c.js'></script></body></html>"),
    "akamai": (403, {}, _AKAMAI),
    # an article about bot walls that names them all, served normally, and a plain refusal: neither is a wall
    "article": (200, {}, article_html("Publishers turn to Cloudflare and DataDome against scrapers",
                                      "Pages now load a script from captcha-delivery.com or /cdn-cgi/challenge-platform/ "
                                      "before readers see them, and Akamai's errors.edgesuite.net pages are common. ")
                .encode()),
    "plain-403": (403, {}, b"<html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1></body></html>"),
}


# /refresh/<case>: meta refreshes a browser follows (a redirect shell) and ones it does not leave the article for
_SHELL = ("<!DOCTYPE html><html><head><meta charset='utf-8'>{meta}<title>Redirecting…</title></head>"
          "<body><p>This story has moved. <a href='/ok/moved'>Continue</a></p></body></html>")
REFRESH_CASES = {
    "shell": _SHELL.format(meta="<meta http-equiv='refresh' content='0; url=/ok/after-refresh'>"),
    "shell-quoted": _SHELL.format(meta='<meta content="1;URL=\'/ok/after-refresh?a=1&amp;b=2\'" HTTP-EQUIV="Refresh">'),
    "shell-absolute": _SHELL.format(meta="<meta http-equiv=refresh content=\"0;url={base}/ok/after-refresh\">"),
    "loop": _SHELL.format(meta="<meta http-equiv='refresh' content='0; url=/refresh/loop-b'>"),
    "loop-b": _SHELL.format(meta="<meta http-equiv='refresh' content='0; url=/refresh/loop'>"),
    "private": _SHELL.format(meta="<meta http-equiv='refresh' content='0; url=http://10.0.0.1/admin'>"),
    "javascript": _SHELL.format(meta="<meta http-equiv='refresh' content='0; url=javascript:alert(1)'>"),
    "self": _SHELL.format(meta="<meta http-equiv='refresh' content='0'>"),
    # the article itself: a live page reloading every 5 minutes, an idle reader sent home after 30, pages that
    # send old browsers or readers without JavaScript elsewhere
    "reload": GOOD_ARTICLE.replace("</head>", "<meta http-equiv='refresh' content='300'></head>"),
    "idle-home": GOOD_ARTICLE.replace("</head>", "<meta http-equiv='refresh' content='1800;url=/'></head>"),
    # CNN's pages: an "unsupported browser" page for old Internet Explorers only, in a conditional comment
    "ie-comment": GOOD_ARTICLE.replace("</head>", "<!--[if lte IE 9]><meta http-equiv='refresh' "
                                                  "content='1;url=/static/unsupp.html' /><![endif]--></head>"),
    "noscript": GOOD_ARTICLE.replace(
        "</head>", "<noscript><meta http-equiv='refresh' content='0; url=/enable-js'></noscript></head>"),
}


def _refresh_page(case: str, query) -> web.Response:
    if case == "header":  # the Refresh header browsers also follow
        return web.Response(text=_SHELL.format(meta=""), content_type="text/html",
                            headers={"Refresh": "0; url=/ok/after-refresh"})
    return web.Response(text=REFRESH_CASES[case].replace("{base}", query.get("base", "")), content_type="text/html")


# ~64 KB that inflates to 64 MB: built once; the fetcher must stop at its cap without holding it all
_BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
