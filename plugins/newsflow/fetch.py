"""Polite, bounded, address-safe HTTP fetching with asyncio: robots.txt, per-host pacing, retries that respect
the server, conditional requests, size and time limits. Every request ends in a FetchResult, never an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import email.utils
import hashlib
import logging
import random
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import aiohttp
from yarl import URL

from newsflow import bot_walls
from newsflow.config import Settings
from newsflow.encoding import decode_text, header_text
from newsflow.host_gate import open_gate
from newsflow.netsafety import RefusedAddress, SafeResolver, allowed_private, check_ip_literal
from newsflow.urls import FETCHABLE_SCHEMES, host_port, url_problem

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 507, 508, 509, 520, 521, 522, 523, 524})
ROBOTS_MAX_BYTES = 512 * 1024
# Browsers show pages whose headers aiohttp's defaults refuse (8 KB a header, 128 headers): a long
# Content-Security-Policy or Link preload list, dozens of Set-Cookie lines. aiohttp has no limit on the total, so
# these stay modest enough that a hostile server cannot make one response hold more than 16 MiB of headers.
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 256
# Failures that are a decision, not an accident: the URL gets outcome "skipped" rather than "failed".
SKIP_REASONS = frozenset(
    {"not_html", "refused_address", "bad_scheme", "bad_scheme_redirect", "robots_disallowed", "invalid_url",
     "out_of_time"}
)


@dataclass
class FetchResult:
    url: str
    final_url: str
    outcome: str  # ok | not_modified | failed | skipped
    reason: str | None = None
    status: int | None = None
    body: bytes | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = None
    bytes: int = 0
    tries: int = 0
    duration_ms: int = 0
    fetched_at: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_sha1: str | None = None
    decoded_from: str | None = None
    peer_ip: str | None = None
    request_headers: dict[str, str] = field(default_factory=dict)
    reason_phrase: str = ""
    warc_file: str | None = None
    warc_offset: int | None = None
    # the body is the response's beginning only (a robots.txt past ROBOTS_MAX_BYTES): the WARC-Truncated reason
    truncated: str | None = None


class _Failure(Exception):
    def __init__(self, reason: str, status: int | None = None, retry: bool = False, retry_after: float | None = None,
                 unreachable: bool = False, blocked_by: str | None = None):
        """unreachable: no connection could be made at all (refused, no route, DNS, connect timeout). blocked_by: the
        vendor whose bot wall answered (newsflow.bot_walls)."""
        super().__init__(reason)
        self.reason, self.status, self.retry, self.retry_after = reason, status, retry, retry_after
        self.unreachable, self.blocked_by = unreachable, blocked_by


def _blocked(vendor: str, status: int | None = None) -> _Failure:
    # never retried: a wall that refused a client without a browser refuses it again, and asking harder is what
    # turns a challenge into a ban
    return _Failure(f"blocked:{vendor}", status, blocked_by=vendor)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (now or time.time()))


def backoff_delay(attempt: int, settings: Settings, retry_after: float | None, rng: random.Random) -> float:
    """Exponential backoff with full jitter; a server's Retry-After wins when it asks for longer (up to the cap)."""
    base = min(settings.backoff_max_s, settings.backoff_base_s * (2 ** (attempt - 1)))
    delay = base * (0.5 + rng.random() / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, settings.backoff_max_s)


# How files that are no page open, whatever their Content-Type says (a PDF or an image sent as text/html ended as an
# article rejected for having no body): PDF, PostScript, PNG, JPEG, GIF, ZIP (docx, epub), gzip, RAR, 7z, OLE (doc,
# xls), WebM/Matroska, Ogg, WOFF, ICO, the signatures of the WHATWG MIME Sniffing standard and file(1)
_BINARY_SIGNATURES = (b"%PDF-", b"%!PS-Adobe-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"PK\x03\x04",
                      b"\x1f\x8b\x08", b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
                      b"\x1a\x45\xdf\xa3", b"OggS\x00", b"wOFF", b"wOF2", b"\x00\x00\x01\x00")
_RIFF_FORMATS = (b"WEBP", b"WAVE", b"AVI ")


def is_binary_file(body_start: bytes) -> bool:
    """Whether a body opens as an image, a PDF, an archive or a media file does."""
    return (body_start.startswith(_BINARY_SIGNATURES)
            or (body_start[:4] == b"RIFF" and body_start[8:12] in _RIFF_FORMATS)
            or body_start[4:8] == b"ftyp")  # MP4, MOV, HEIC, AVIF


def is_html(content_type: str | None, body_start: bytes) -> bool:
    if is_binary_file(body_start):
        return False
    main = content_type.split(";", 1)[0].strip().lower() if content_type else ""
    if main in HTML_TYPES:
        return True
    if main and main not in ("application/octet-stream", "binary/octet-stream", "text/plain"):
        return False
    # no or vague type: look at the bytes like a browser would
    head = body_start[:1024].replace(b"\x00", b"").lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:512]


# Content codings newsflow does not decode (it asks for gzip and deflate only): a body sent in one is no page
_UNDECODED_CODINGS = frozenset({"br", "zstd", "compress", "x-compress", "exi", "pack200-gzip", "aes128gcm", "dcb",
                                "dcz", "sdch", "bzip2", "x-bzip2", "xz", "lzma"})
# How compressed data opens: gzip, zlib (the usual deflate levels), zstd, xz, Unix compress. Brotli has no signature.
_COMPRESSED_STARTS = (b"\x1f\x8b", b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda", b"\x28\xb5\x2f\xfd",
                      b"\xfd7zXZ\x00", b"\x1f\x9d")


class _Decoder:
    """Incremental gzip/deflate with a hard cap on the decoded size, so a bomb cannot exhaust memory."""

    _sniff = False
    _after_end = 0  # bytes received after the end of the compressed data

    def __init__(self, encoding: str | None):
        self.encoding = (encoding or "identity").strip().lower()
        if self.encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            self._z = zlib.decompressobj()
            self._raw_deflate_checked = False
        elif self.encoding in ("identity", ""):
            self._z = None
        elif self.encoding in _UNDECODED_CODINGS:
            raise _Failure("unsupported_encoding")
        else:
            # a label that names no coding ("UTF-8", "none", "text": PHP sites put a charset or a placeholder there)
            # is passed through as identity by browsers, and the page displays; unless the body opens as compressed
            # data, a coding newsflow does not know
            self.encoding, self._z, self._sniff = "identity", None, True

    def feed(self, chunk: bytes, room: int) -> bytes:
        if self._z is None:
            if self._sniff:
                self._sniff = False
                if chunk.startswith(_COMPRESSED_STARTS):
                    raise _Failure("unsupported_encoding")
            return chunk[: room + 1]
        if self._after_end:
            return self._past_end(chunk, room)
        try:
            out = self._inflate(chunk, room)
            while self._z.eof and len(out) <= room:
                rest = self._z.unused_data
                if not rest or (rest == b"\x1f" and self.encoding != "deflate"):
                    break  # nothing after the end yet, or a member's first byte: the next chunk tells
                if self.encoding != "deflate" and rest.startswith(b"\x1f\x8b"):
                    # RFC 1952 §2.2: a gzip body is a series of members (gzipped parts joined with cat, bgzip's
                    # blocks), each read as gzip -d reads them. Read by its first member alone, the page was stored
                    # cut where that member ended, `loaded`, without a word.
                    self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    out += self._inflate(rest, room - len(out))
                    continue
                return out + self._past_end(rest, room - len(out))
        except zlib.error:
            if self.encoding == "deflate" and not getattr(self, "_raw_deflate_checked", True):
                # many servers send raw deflate without the zlib header
                self._raw_deflate_checked = True
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(chunk, room)
            raise _Failure("corrupt_encoding") from None
        if self.encoding == "deflate":
            self._raw_deflate_checked = True
        return out

    def _inflate(self, data: bytes, room: int) -> bytes:
        out = self._z.decompress(data, room + 1)
        # bytes held back because of max_length: drain them up to the cap
        while self._z.unconsumed_tail and len(out) <= room:
            out += self._z.decompress(self._z.unconsumed_tail, room + 1 - len(out))
        return out

    def _past_end(self, data: bytes, room: int) -> bytes:
        """Bytes after the compressed stream that start no member (padding, a server's junk): ignored, as browsers
        ignore them, but counted against the cap and not kept. zlib kept every byte received after the end (a small
        member followed by endless bytes held hundreds of MB until the total timeout)."""
        self._after_end += len(data)
        if self._after_end > room:
            raise _Failure("too_large")
        return b""

    def finish(self) -> None:
        if self._z is not None and not self._z.eof:
            raise _Failure("truncated_body")


# The address each request went to (the WARC's WARC-IP-Address), set by the connector in the requesting task. aiohttp
# lets go of a response's connection once its whole body has arrived, as it has with the headers for most pages: read
# from resp.connection, nearly every record was archived without its address.
_PEER_IP: contextvars.ContextVar[str | None] = contextvars.ContextVar("newsflow_peer_ip", default=None)


class _PeerConnector(aiohttp.TCPConnector):
    async def connect(self, req, traces, timeout):
        connection = await super().connect(req, traces, timeout)
        peer = connection.transport.get_extra_info("peername") if connection.transport is not None else None
        _PEER_IP.set(peer[0] if peer else None)
        return connection


class SharedRobots:
    """robots.txt answers shared by the Fetchers of one event loop (`newsflow check` reads every source of a file at
    once, each with its own Fetcher as a run's tasks have): each origin's robots.txt is asked once, by the first
    Fetcher that needs it, and the others wait for that answer."""

    def __init__(self):
        self._answers: dict[str, asyncio.Future] = {}

    async def answer(self, origin: str, load: Callable) -> tuple[object, bool]:
        """What `load(origin)` gave, and whether this call is the one that loaded it."""
        read = origin not in self._answers
        if read:
            self._answers[origin] = asyncio.ensure_future(load(origin))
        # shielded: a Fetcher that stops waiting does not cancel the reading the others wait for
        return await asyncio.shield(self._answers[origin]), read


class Fetcher:
    """One per task run: shares connections, robots.txt answers and host pacing across all requests."""

    def __init__(
        self,
        settings: Settings,
        on_response: Callable[[FetchResult], None] | None = None,
        seed: int | None = None,
        host_gate_dir: Path | None = None,
        stop_at: float | None = None,
        robots: SharedRobots | None = None,
    ):
        """host_gate_dir: where host limits are shared with every other Fetcher on this machine that uses the same
        folder (newsflow.host_gate); without it, host_concurrency and the host interval hold within this Fetcher only.
        stop_at: a time.monotonic() after which no request starts; the URLs left are `skipped: out_of_time`.
        robots: robots.txt answers shared with other Fetchers of this event loop; without it, this Fetcher's own.
        """
        self.settings = settings
        self.stop_at = stop_at
        self._gate = open_gate(host_gate_dir, settings.host_concurrency)
        self.on_response = on_response
        self._allowed = allowed_private(settings.allow_private_hosts)
        self._rng = random.Random(seed)
        self._global = asyncio.Semaphore(settings.global_concurrency)
        self._host_sems: dict[str, asyncio.Semaphore] = {}
        self._host_locks: dict[str, asyncio.Lock] = {}
        self._host_next: dict[str, float] = {}
        self._host_delay: dict[str, float] = {}
        self._robots: dict[str, tuple[object | None, str | None]] = {}  # origin -> (parser, why it disallows all)
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._shared_robots = robots
        self._session: aiohttp.ClientSession | None = None
        # consecutive connection failures per host:port; at host_failure_limit the host counts as down for the
        # rest of this Fetcher's run, and its other URLs fail at once (host_unreachable) instead of each
        # spending its timeouts and retries
        self._host_failures: dict[str, int] = {}
        self.hosts_down: set[str] = set()
        # the same for bot walls: (refusals in a row, vendor) per host:port, and the hosts no longer asked
        self._host_walls: dict[str, tuple[int, str]] = {}
        self.hosts_blocked: dict[str, str] = {}

    def _host_down(self, url: str) -> bool:
        try:
            return host_port(url) in self.hosts_down
        except ValueError:
            return False

    def _note_connection(self, key: str, failure: _Failure | None) -> None:
        if failure is not None and failure.blocked_by:
            self._note_wall(key, failure)
        if failure is None or not failure.unreachable:
            self._host_failures[key] = 0
            return
        self._host_failures[key] = self._host_failures.get(key, 0) + 1
        if self._host_failures[key] >= self.settings.host_failure_limit and key not in self.hosts_down:
            self.hosts_down.add(key)
            log.warning("%s: %d connection failures in a row; its remaining URLs fail as host_unreachable",
                        key, self._host_failures[key])

    def _note_wall(self, key: str, failure: _Failure | None) -> None:
        """A host whose bot wall refused `host_failure_limit` requests in a row (no page obtained from it between)
        is asked nothing more this run: its remaining URLs fail as blocked without a request."""
        if failure is None or failure.blocked_by is None:
            self._host_walls.pop(key, None)
            return
        count = self._host_walls.get(key, (0, ""))[0] + 1
        self._host_walls[key] = (count, failure.blocked_by)
        if count >= self.settings.host_failure_limit and key not in self.hosts_blocked:
            self.hosts_blocked[key] = failure.blocked_by
            log.warning("%s: %d requests in a row refused by a %s bot wall; its remaining URLs fail as blocked "
                        "without a request", key, count, failure.blocked_by)

    def _host_blocked(self, url: str) -> str | None:
        try:
            return self.hosts_blocked.get(host_port(url))
        except ValueError:
            return None

    async def __aenter__(self) -> Fetcher:
        connector = _PeerConnector(
            resolver=SafeResolver(self._allowed),
            limit=self.settings.global_concurrency,
            limit_per_host=self.settings.host_concurrency,
            ttl_dns_cache=300,
            enable_cleanup_closed=True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": self.settings.user_agent},
            max_line_size=16384,
            max_field_size=MAX_HEADER_BYTES,
            max_headers=MAX_HEADERS,
        )
        return self

    async def __aexit__(self, *exc) -> None:
        if self._session:
            await self._session.close()

    # -- politeness -----------------------------------------------------------------------------------------
    async def _pace(self, key: str) -> None:
        """Space request starts to one host by at least the host interval (and robots.txt Crawl-delay)."""
        lock = self._host_locks.setdefault(key, asyncio.Lock())
        async with lock:
            interval = max(self.settings.min_host_interval_s, self._host_delay.get(key, 0.0))
            self._check_time(0.0)
            if self._gate is not None:
                if interval <= 0:
                    return
                try:
                    # booked in the shared pacing file; sleeping under the lock keeps this Fetcher's starts in order
                    wait = await self._gate.reserve(
                        key, interval, None if self.stop_at is None else self.stop_at - time.monotonic())
                except OSError as exc:
                    self._gate_failed(exc)
                else:
                    if wait is None:  # past stop_at: nothing was booked
                        raise _Failure("out_of_time")
                    # kept here too, so spacing carries on if the gate fails later in the run
                    self._host_next[key] = time.monotonic() + max(wait, 0.0) + interval
                    if wait > 0:
                        await asyncio.sleep(wait)
                    return
            now = time.monotonic()
            wait = self._host_next.get(key, 0.0) - now
            self._check_time(wait)
            if wait > 0:
                await asyncio.sleep(wait)
            self._host_next[key] = max(now, self._host_next.get(key, 0.0)) + interval

    def _check_time(self, wait: float) -> None:
        # decided before the pacing sleep: a host paced at its Crawl-delay has thousands of URLs queued behind this
        # lock, and each would otherwise sleep its interval only to find the time up
        if self.stop_at is not None and time.monotonic() + max(wait, 0.0) >= self.stop_at:
            raise _Failure("out_of_time")

    @contextlib.asynccontextmanager
    async def _host_slot(self, key: str):
        """One of the host's request slots: this Fetcher's own, and with a gate one shared by every task."""
        sem = self._host_sems.setdefault(key, asyncio.Semaphore(self.settings.host_concurrency))
        async with sem:
            gate, held = self._gate, None
            if gate is not None:
                try:
                    held = await gate.acquire(key)
                except OSError as exc:
                    self._gate_failed(exc)
            try:
                yield
            finally:
                if held is not None:
                    gate.release(held)

    def _gate_failed(self, exc: OSError) -> None:
        # the limits still hold within this task; a broken lock folder must not fail the fetch
        if self._gate is not None:
            log.warning("host limits apply per task only from now on: the shared host gate failed (%s)", exc)
            self._gate = None

    async def robots_refusal(self, url: str) -> str | None:
        """The reason robots.txt keeps `url` from being fetched, None when it does not: `robots_disallowed` by the
        site's rules, `robots_disallowed:http_<status>` when robots.txt answered a server error, read as disallowing
        everything."""
        if not self.settings.respect_robots:
            return None
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        lock = self._robots_locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._robots:
                if self._shared_robots is None:
                    self._robots[key] = await self._load_robots(key)
                else:
                    (self._robots[key], failures), read = await self._shared_robots.answer(key, self._read_robots)
                    for _ in range(0 if read else failures):
                        # a host that did not answer the read has not answered this Fetcher either, as when each
                        # asks: its listing then fails host_unreachable after as many tries as it would have
                        self._note_connection(host_port(key + "/"), _Failure("connection_error", unreachable=True))
                # this Fetcher's pacing follows the Crawl-delay, whichever Fetcher read the file
                delay = self._robots[key][0] and self._robots[key][0].crawl_delay(self.settings.user_agent)
                if delay:
                    self._host_delay[host_port(key + "/")] = min(float(delay), self.settings.backoff_max_s)
        parser, cause = self._robots[key]
        if parser is None or parser.can_fetch(url, self.settings.user_agent):
            return None
        # the cause named: "the site's rules forbid it" sends an operator to read a robots.txt that forbids nothing
        return f"robots_disallowed:{cause}" if cause else "robots_disallowed"

    async def _read_robots(self, origin: str):
        """_load_robots for SharedRobots, with the connection failures in a row the read left on the host (robots.txt
        is a Fetcher's first request to a host: they are the read's own)."""
        return await self._load_robots(origin), self._host_failures.get(host_port(origin + "/"), 0)

    async def _load_robots(self, origin: str):
        """The origin's robots.txt parsed (None: no restrictions), and what made it disallow everything when it was
        not the file's rules."""
        from protego import Protego

        result = await self.get(origin + "/robots.txt", kind="robots", check_robots=False, max_bytes=ROBOTS_MAX_BYTES)
        # RFC 9309: unreachable robots.txt (4xx) means no restrictions; a server error means "assume disallow"
        # is the letter of the RFC, but a flaky robots.txt would then block whole runs, so we only disallow on 5xx
        # after retries.
        if result.status and 500 <= result.status < 600:
            return Protego.parse("User-agent: *\nDisallow: /\n"), f"http_{result.status}"
        if result.outcome != "ok" or not result.body:
            return None, None
        try:
            # by its byte-order mark first: a robots.txt saved with a UTF-8 BOM (Windows editors write one) read
            # as plain UTF-8 starts "\ufeffUser-agent", its first group goes unrecognised and its rules unapplied
            parser = Protego.parse(decode_text(result.body))
        except Exception:  # a garbled robots.txt is not a reason to stop; treat as absent
            log.warning("unparseable robots.txt at %s", origin)
            return None, None
        return parser, None

    # -- one URL ----------------------------------------------------------------------------------------------
    async def get(
        self,
        url: str,
        *,
        kind: str = "article",
        etag: str | None = None,
        last_modified: str | None = None,
        previous_sha1: str | None = None,
        validated_url: str | None = None,
        check_robots: bool = True,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """Fetch `url`, following redirects. `etag` / `last_modified` are sent to `validated_url`, the address whose
        answer they came from (where last time's redirects ended; by default `url` itself), so a link through a
        tracker or an old address is still asked conditionally where the page is."""
        started = time.monotonic()
        result = FetchResult(url=url, final_url=url, outcome="failed", fetched_at=datetime.now(UTC))
        problem = url_problem(url)
        if problem:
            result.outcome, result.reason = "skipped", problem
            return result
        try:
            return await self._get(url, result, started, kind, etag, last_modified, previous_sha1, check_robots,
                                   max_bytes, validated_url or url)
        except Exception as exc:  # noqa: BLE001 - whatever one URL does wrong stays with that URL's ledger row
            log.warning("fetching %.200s failed unexpectedly", url, exc_info=True)
            result.outcome, result.reason, result.body = "failed", f"fetch_error:{type(exc).__name__}", None
            result.duration_ms = int((time.monotonic() - started) * 1000)
            return result

    async def _get(self, url, result, started, kind, etag, last_modified, previous_sha1, check_robots,
                   max_bytes, validated_url) -> FetchResult:
        if self._host_down(url):
            result.outcome, result.reason = "failed", "host_unreachable"
            return result
        if vendor := self._host_blocked(url):
            result.outcome, result.reason = "failed", f"blocked:{vendor}"
            return result
        if check_robots and (refusal := await self.robots_refusal(url)):
            result.outcome, result.reason = "skipped", refusal
            return result
        attempt = 0
        while True:
            attempt += 1
            result.tries = attempt
            try:
                await self._attempt(url, result, kind, etag, last_modified, max_bytes or self.settings.max_bytes,
                                    check_robots, validated_url)
                break
            except _Failure as failure:
                if failure.reason == "host_unreachable":
                    # no connection was attempted; if this URL had tried before the host went down, its own
                    # last failure stands
                    result.tries = attempt - 1
                    if attempt == 1:
                        result.outcome, result.reason = "failed", failure.reason
                    break
                result.outcome, result.reason, result.status = "failed", failure.reason, failure.status or result.status
                result.body = None
                if not failure.retry or attempt >= self.settings.max_tries or self._host_down(url):
                    break
                await asyncio.sleep(backoff_delay(attempt, self.settings, failure.retry_after, self._rng))
                if self._host_down(url):  # it went down while this URL waited: keep its own last failure
                    break
        result.duration_ms = int((time.monotonic() - started) * 1000)
        if result.outcome == "failed" and (result.reason or "").split(":", 1)[0] in SKIP_REASONS:
            result.outcome = "skipped"
        if result.outcome == "ok" and result.body is not None:
            result.content_sha1 = hashlib.sha1(result.body).hexdigest()
            if previous_sha1 and previous_sha1 == result.content_sha1:
                result.outcome, result.reason = "not_modified", "same_content"
        return result

    async def _attempt(self, url, result, kind, etag, last_modified, max_bytes, check_robots=False,
                       validated_url=None) -> None:
        assert self._session is not None
        s = self.settings
        timeout = aiohttp.ClientTimeout(total=s.total_timeout_s, sock_connect=s.connect_timeout_s, sock_read=s.read_timeout_s)
        current = url
        # cookies live for one URL's redirect chain only: enough for a site that sets a cookie and redirects back
        # to check it (without one that loops until too_many_redirects), never shared between articles, where a
        # jar would carry a paywall's meter and a consent state from page to page
        chain_cookies: aiohttp.CookieJar | None = None
        for _hop in range(s.max_redirects + 1):
            parts = urlsplit(current)
            if parts.scheme.lower() not in FETCHABLE_SCHEMES:
                raise _Failure("bad_scheme_redirect")
            if url_problem(current):
                raise _Failure("invalid_url")
            try:
                port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
            except ValueError:
                raise _Failure("invalid_url") from None
            host = parts.hostname or ""
            try:
                check_ip_literal(host, port, self._allowed)
            except RefusedAddress:
                raise _Failure("refused_address") from None
            key = host_port(current)
            if key in self.hosts_down:
                raise _Failure("host_unreachable")
            if key in self.hosts_blocked:
                raise _blocked(self.hosts_blocked[key])
            if check_robots and current != url and (refusal := await self.robots_refusal(current)):
                # a redirect (or refresh) into a path the target's robots.txt closes: as a polite crawler stops
                raise _Failure(refusal)
            headers = {"Accept-Encoding": "gzip, deflate", "Accept": _accept(kind)}
            if chain_cookies is not None and (cookies := chain_cookies.filter_cookies(URL(current))):
                headers["Cookie"] = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
            if current == (validated_url or url):  # where the validators' answer came from
                if etag:
                    headers["If-None-Match"] = etag
                if last_modified:
                    headers["If-Modified-Since"] = last_modified
            # the Host header as aiohttp sends it (an IDN host in IDNA, no default port), for the WARC's request record
            result.request_headers = {"User-Agent": s.user_agent, "Host": URL(current).host_port_subcomponent,
                                      **headers}
            async with self._global, self._host_slot(key):
                await self._pace(key)
                if key in self.hosts_down:  # it went down while this request waited for its slot
                    raise _Failure("host_unreachable")
                try:
                    set_cookies = await self._exchange(current, headers, timeout, result, kind, max_bytes)
                except _Failure as failure:
                    self._note_connection(key, failure)
                    raise
                self._note_connection(key, None)
                if result.outcome == "not_modified" and not headers.keys() & {"If-None-Match", "If-Modified-Since"}:
                    # a 304 to a request that named no version (a misconfigured cache or server) holds no page, and
                    # it is no page newsflow has: logged `unchanged`, nothing was stored and none would ever be
                    raise _Failure("http_304", 304)
                if set_cookies:
                    chain_cookies = chain_cookies or aiohttp.CookieJar(unsafe=True)  # unsafe: IP hosts too
                    chain_cookies.update_cookies(set_cookies, URL(current))
                target = self._next_hop(url, current, result, kind)
                if target is None:
                    return
                current = target
        raise _Failure("too_many_redirects", result.status)

    def _next_hop(self, url: str, current: str, result: FetchResult, kind: str) -> str | None:
        """Where to go after the answer from `current` to a request for `url`: a redirect's target, or a redirect
        shell's (a page refreshing elsewhere within REFRESH_REDIRECT_S); None when the answer is the result. A consent
        or login gate standing where the page was asked raises blocked:gate."""
        if result.status in (301, 302, 303, 307, 308) and result.outcome == "redirect":
            result.outcome = "failed"
            return result.final_url
        if kind != "robots" and result.outcome == "ok":
            if is_html(result.content_type, result.body or b"") and (
                    target := refresh_target(result.headers, result.body or b"", current)):
                # the page a browser shows is the one it refreshes to (the shell stays in the WARC, archived as
                # read); for a feed or sitemap, the old address of one that moved
                result.final_url = target
                result.outcome, result.body = "failed", None
                return target
            if current != url and bot_walls.is_gate(url, current):
                # extracted, the consent or login page was a "short article", parsed a "web page, not a listing";
                # it is the site refusing a reader who has not clicked. A host that gates every page is asked no more.
                gate = _blocked("gate", result.status)
                self._note_wall(host_port(url), gate)
                raise gate
        if result.outcome in ("ok", "not_modified"):  # a page obtained: the hosts' walls are not refusing in a row
            self._note_wall(host_port(url), None)
            self._note_wall(host_port(current), None)
        return None

    async def _exchange(self, current, headers, timeout, result, kind, max_bytes):
        """One request to `current`; a redirect leaves its target in result.final_url, outcome `redirect`. Returns
        the cookies the response set."""
        s = self.settings
        try:
            async with asyncio.timeout(s.total_timeout_s + 1):
                async with self._session.get(current, headers=headers, allow_redirects=False, timeout=timeout) as resp:
                    result.status = resp.status
                    result.final_url = current
                    result.reason_phrase = resp.reason or ""
                    result.peer_ip = _PEER_IP.get()
                    if resp.status in (301, 302, 303, 307, 308):
                        location = resp.headers.get("Location")
                        if not location:
                            raise _Failure("redirect_without_location", resp.status)
                        try:
                            result.final_url = urljoin(current, _location_url(location))
                        except ValueError:
                            raise _Failure("invalid_url", resp.status) from None
                        result.outcome = "redirect"
                        self._archive_hop(current, resp, result)
                        return resp.cookies
                    await self._read(resp, result, kind, max_bytes)
                    return resp.cookies
        except RefusedAddress:
            raise _Failure("refused_address") from None
        except _Failure:
            raise
        except aiohttp.ConnectionTimeoutError:
            raise _Failure("timeout", retry=True, unreachable=True) from None
        except TimeoutError:
            raise _Failure("timeout", retry=True) from None
        except aiohttp.TooManyRedirects:
            raise _Failure("too_many_redirects") from None
        except aiohttp.InvalidURL:
            raise _Failure("invalid_url") from None
        except aiohttp.ClientResponseError:
            # a response aiohttp could not parse (a header line without a colon, a duplicated Content-Length):
            # its status 400 is aiohttp's own, not the server's, and is not recorded as the page's status
            raise _Failure("bad_response") from None
        except aiohttp.ClientPayloadError:
            raise _Failure("truncated_body", retry=True) from None
        except aiohttp.ClientConnectorCertificateError:
            # a certificate fails the same way on every try: retried, and counted as the host being down (its other
            # URLs then failing host_unreachable), it hid what the site has to fix
            raise _Failure("tls_error:certificate") from None
        except aiohttp.ClientSSLError:
            raise _Failure("tls_error:handshake") from None
        except aiohttp.ClientConnectorDNSError as exc:
            if isinstance(exc.__cause__, RefusedAddress) or "resolves to" in str(exc):
                raise _Failure("refused_address") from None
            raise _Failure("dns_error", retry=True, unreachable=True) from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, RefusedAddress):
                raise _Failure("refused_address") from None
            raise _Failure("connection_error", retry=True, unreachable=True) from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, ConnectionResetError):
            raise _Failure("connection_error", retry=True) from None
        except aiohttp.ClientError as exc:
            raise _Failure(f"client_error:{type(exc).__name__}", retry=True) from None

    def _archive_hop(self, current: str, resp: aiohttp.ClientResponse, result: FetchResult) -> None:
        """A redirect's answer goes to the archive as a response with its headers (its Location): without it a replay
        of the listed link (a feed's tracker, an old address) found nothing, and the chain fetch_log summarises could
        not be seen. Its body is not read (a server stalling there would hold the fetch up for a page nobody reads):
        when it had one, the record says so with `WARC-Truncated: length`, a cap of nothing."""
        if self.on_response is None:
            return
        declared = resp.headers.get("Content-Length")
        had_body = bool(declared and declared.strip() != "0") or "Transfer-Encoding" in resp.headers
        hop = replace(result, final_url=current, outcome="redirect", body=b"", bytes=0, decoded_from=None,
                      headers=[(name, header_text(value)) for name, value in resp.headers.items()],
                      content_type=header_text(resp.headers.get("Content-Type")),
                      truncated="length" if had_body else None, warc_file=None, warc_offset=None)
        # a copy: the archive's pointer on the result stays the page's (or, with none, its last listing's), never a hop
        self.on_response(hop)

    async def _body(self, resp: aiohttp.ClientResponse, decoder: _Decoder, result: FetchResult, kind: str,
                    max_bytes: int) -> bytes:
        """The decoded body, failing too_large past `max_bytes`; a robots.txt past them is read up to its last whole
        line within them instead (RFC 9309 §2.5: at least the first 500 KiB), since one that fails counts as allowing
        everything, a big site's `Disallow: /` included."""
        status = resp.status
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            out = decoder.feed(chunk, max_bytes - size)
            size += len(out)
            if size > max_bytes and kind == "robots":
                chunks.append(out[: len(out) - (size - max_bytes)])
                result.truncated = "length"
                log.warning("%s is over %d bytes: its rules past them are not read", result.final_url, max_bytes)
                return _whole_lines(b"".join(chunks))
            if size > max_bytes:
                raise _Failure("too_large", status)
            chunks.append(out)
            if kind == "article" and status < 400 and len(chunks) == 1 and size >= 1024 and not is_html(result.content_type, out):
                # no need to download a PDF or video to know it is not an article
                result.bytes = size
                raise _Failure("not_html", status)
        decoder.finish()
        return b"".join(chunks)

    async def _read(self, resp: aiohttp.ClientResponse, result: FetchResult, kind: str, max_bytes: int) -> None:
        status = resp.status
        result.headers = [(name, header_text(value)) for name, value in resp.headers.items()]
        result.content_type = header_text(resp.headers.get("Content-Type"))
        result.etag = header_text(resp.headers.get("ETag"))
        result.last_modified = header_text(resp.headers.get("Last-Modified"))
        if status == 304:
            result.outcome, result.reason = "not_modified", "not_modified"
            return
        wall = bot_walls.by_headers(resp.headers)
        if status in RETRY_STATUSES and not wall:
            raise _Failure(f"http_{status}", status, retry=True, retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        declared = resp.headers.get("Content-Length")
        if (kind != "robots" and declared and declared.isdigit() and int(declared) > max_bytes
                and "Content-Encoding" not in resp.headers):
            raise _Failure("too_large", status)
        decoder = _Decoder(resp.headers.get("Content-Encoding"))
        result.truncated = None  # a retry or a redirect's next hop is read afresh
        body = await self._body(resp, decoder, result, kind, max_bytes)
        result.body, result.bytes = body, len(body)
        result.decoded_from = decoder.encoding if decoder.encoding not in ("identity", "") else None
        if self.on_response is not None:
            self.on_response(result)
        if wall := wall or bot_walls.by_body(status, body):
            raise _blocked(wall, status)
        if status >= 400:
            raise _Failure(f"http_{status}", status)
        if status == 206 and not _whole_range(resp.headers.get("Content-Range")):
            # newsflow never asks for a range: a broken cache answering with part of the page is not the page
            raise _Failure("partial_content", status)
        if kind == "article" and not is_html(result.content_type, body):
            raise _Failure("not_html", status)
        result.outcome, result.reason = "ok", None


# A refresh sooner than this is a redirect: what a reader sees is the target. Later ones are a live page reloading
# itself ("300") or sending an idle reader to the home page ("1800; url=/"): the page is the article.
REFRESH_REDIRECT_S = 5.0
REFRESH_SCAN_BYTES = 256 * 1024
_META_REFRESH = re.compile(rb"http-equiv\s*=\s*[\"']?\s*refresh\b", re.I)
_REFRESH_VALUE = re.compile(r"""\s*(\d[\d.]*)\s*[;,]?\s*(?:url\s*=\s*)?(["']?)(.*)""", re.I | re.S)


def refresh_target(headers: list[tuple[str, str]], body: bytes, base: str) -> str | None:
    """Where a page refreshes to within REFRESH_REDIRECT_S seconds (a `<meta http-equiv="refresh">` or a Refresh
    header, as browsers follow them), when that is another http(s) URL; else None. A refresh in a comment (CNN's
    `<!--[if lte IE 9]>` "unsupported browser" page) or inside `<noscript>` (Facebook's page for readers without
    JavaScript) is not what a browser follows: the page is parsed to tell, only when it names a refresh at all."""
    values = [value for name, value in headers if name.lower() == "refresh" and value]
    # a redirect shell is small: the page's beginning is parsed, never a hostile 64 MB in the fetcher's event loop
    head = body[:REFRESH_SCAN_BYTES]
    if _META_REFRESH.search(head):
        values += _meta_refreshes(head)
    for value in values:
        parsed = _REFRESH_VALUE.match(value)
        if not parsed or not parsed[3].strip():
            continue
        try:
            delay = float(parsed[1].rstrip("."))
        except ValueError:
            continue
        url = parsed[3].strip()
        if parsed[2] and parsed[2] in url:
            url = url[: url.index(parsed[2])]
        try:
            target = urljoin(base, _location_url(url.strip()))
        except ValueError:
            continue
        if delay <= REFRESH_REDIRECT_S and urlsplit(target).scheme.lower() in FETCHABLE_SCHEMES and (
                target.split("#", 1)[0] != base.split("#", 1)[0]):
            return target
    return None


def _meta_refreshes(body: bytes) -> list[str]:
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.document_fromstring(body)
    except (etree.ParserError, ValueError):
        return []
    return [meta.get("content") or "" for meta in root.iter("meta")
            if (meta.get("http-equiv") or "").strip().lower() == "refresh"
            and not any(ancestor.tag == "noscript" for ancestor in meta.iterancestors())]


def _location_url(value: str) -> str:
    """A Location header as a browser follows it: bytes in it that are not UTF-8 (which aiohttp keeps as lone
    surrogates, and no URL quoting takes) are percent-encoded, "/caf\\xe9" becoming "/caf%E9"."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return quote(value.encode("utf-8", "surrogateescape"), safe="!#$%&'()*+,/:;=?@[]~")


def _whole_lines(text: bytes) -> bytes:
    """`text` up to its last line break (CR, LF or CRLF, as robots.txt allows): a line cut in two could say more than
    it did, `Disallow: /private/` becoming `Disallow: /`."""
    return text[: max(text.rfind(b"\n"), text.rfind(b"\r")) + 1]


def _whole_range(content_range: str | None) -> bool:
    """Whether a 206's Content-Range ("bytes 0-4999/5000") covers the whole document, as some caches send it."""
    match = re.fullmatch(r"\s*bytes\s+0-(\d+)/(\d+)\s*", content_range or "")
    return bool(match) and int(match[1]) + 1 == int(match[2])


def _accept(kind: str) -> str:
    if kind == "article":
        return "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
    if kind in ("feed", "sitemap"):
        return ("application/rss+xml,application/atom+xml,application/feed+json,application/xml;q=0.9,text/xml;q=0.9,"
                "*/*;q=0.1")
    return "*/*"
