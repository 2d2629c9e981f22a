"""The raw archive: every HTTP exchange is written to gzipped WARC files (request and response records).

Offsets of each response record are kept so that extraction and re-extraction read one record without refetching.
"""

from __future__ import annotations

import io
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader, ChunkedDataReader
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter
from yarl import URL

# Hop-by-hop and transfer headers describe bytes we did not store: bodies are archived decoded.
ARCHIVE_FOLDER = "archive"  # under the data dir: <source>/<run>.warc.gz, what each run fetched (staging.archive_path)
_DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection", "keep-alive"}


def gzip_member(data: bytes) -> bytes:
    """One gzip member at zlib level 1: warcio's own gzip writer uses level 9, which costs ~4.7 ms per 170 KB
    page against ~1.1 ms (the fetch stage's largest CPU cost), for files about 15% smaller."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    return compressor.compress(data) + compressor.flush()


@dataclass(frozen=True)
class ArchivedResponse:
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    warc_date: str
    warc_file: str
    offset: int
    # "revisit": a record that only points at an earlier capture of the same payload (a crawler's deduplication);
    # its body is empty, the page is in that capture
    record_type: str = "response"
    # why the body is no page although the record is intact: too_large, unsupported_encoding, corrupt_encoding,
    # truncated_body (the fetcher's words for the same faults)
    problem: str | None = None
    # the crawler's WARC-Truncated reason (length, time, disconnect, unspecified): it stored the page's beginning
    # only (Common Crawl cuts at a size). Read all the same: the story usually precedes the cut, and refusing every
    # such page would drop whole sites whose pages are heavy
    truncated: str | None = None


class WarcArchive:
    """Append-only WARC file; one per source per run, so concurrent sources never share a file."""

    def __init__(self, path: Path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # never over an earlier execution's file: the articles and validators it stored point into it, and a task
        # cleared and run again rewrote it under them (reprocess then read other records at their offsets). A
        # rerun writes `<run>.2.warc.gz`, then `.3`, ...
        stem = path.name.removesuffix(".warc.gz")
        for attempt in range(1, 10_000):
            self.path = path if attempt == 1 else path.with_name(f"{stem}.{attempt}.warc.gz")
            try:
                self._fh = open(self.path, "xb")
                break
            except FileExistsError:
                continue
        else:
            raise FileExistsError(f"{path}: 9,999 executions of this run have written an archive already")
        # warcio writes each record uncompressed into a buffer (its public API); the buffer then goes to the file
        # as one gzip member of its own, the per-record layout that lets a reader seek to any record
        self._buffer = io.BytesIO()
        # WARC/1.1: its records carry WARC-Date to the microsecond, which WARC/1.0 (seconds only) does not allow
        self._writer = WARCWriter(self._buffer, gzip=False, warc_version="1.1")
        info = self._writer.create_warcinfo_record(self.path.name, {"software": "newsflow", "format": "WARC/1.1"})
        self._write(info)

    def _write(self, record) -> int:
        """Append one record as a gzip member; returns its offset in the file. Written through at once: the
        extraction workers read each page by its offset while this file is still being written."""
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.write_record(record)
        offset = self._fh.tell()
        self._fh.write(gzip_member(self._buffer.getvalue()))
        self._fh.flush()
        return offset

    def write_exchange(
        self,
        url: str,
        method: str,
        request_headers: dict[str, str],
        status: int,
        reason: str,
        response_headers: list[tuple[str, str]],
        body: bytes,
        decoded_from: str | None = None,
        peer_ip: str | None = None,
        truncated: str | None = None,
    ) -> int:
        """Write request+response; return the response record's offset. `truncated`: why `body` is the response's
        beginning only (WARC 1.1's WARC-Truncated reasons: length, time, disconnect, unspecified)."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        headers = [(k, v) for k, v in response_headers if k.lower() not in _DROP_HEADERS]
        headers.append(("Content-Length", str(len(body))))
        if decoded_from:
            headers.append(("X-Newsflow-Decoded-From", decoded_from))
        # warcio writes status lines as ASCII only: a reason phrase in other bytes ("200 \\xff") is informational
        status_line = f"{status} {(reason or '').encode('ascii', 'replace').decode()}".strip()
        http_headers = StatusAndHeaders(status_line, headers, protocol="HTTP/1.1")
        warc_headers = {"WARC-Date": now}
        if peer_ip:
            warc_headers["WARC-IP-Address"] = peer_ip
        if truncated:
            # a reader of the archive would otherwise take the part kept for the whole response
            warc_headers["WARC-Truncated"] = truncated
        # WARC headers and request lines are ASCII: a URL with an Arabic or Cyrillic path or an IDN host (which the
        # writer refused: the page was lost) is recorded as it went on the wire, percent-encoded and in IDNA, the
        # form aiohttp sends (yarl's); an ASCII URL is kept as written
        wire = URL(url)
        target = url if url.isascii() else str(wire)
        # the length given: warcio otherwise copies the body into a temporary file to count it while it digests
        response = self._writer.create_warc_record(
            target, "response", payload=io.BytesIO(body), length=len(body), http_headers=http_headers,
            warc_headers_dict=warc_headers,
        )
        offset = self._write(response)
        req_headers = StatusAndHeaders(f"{method} {wire.raw_path_qs} HTTP/1.1", list(request_headers.items()),
                                       is_http_request=True)
        request = self._writer.create_warc_record(
            target,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=req_headers,
            warc_headers_dict={"WARC-Date": now, "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID")},
        )
        self._write(request)
        return offset

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()

    def __enter__(self) -> WarcArchive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _to_response(record, warc_file: str, offset: int) -> ArchivedResponse:
    http = record.http_headers
    if record.rec_type == "resource":
        # a page stored without an HTTP exchange (a file archived from disk, a capture tool's own page): the
        # record's Content-Type is the page's
        status, headers = 200, [("Content-Type", record.rec_headers.get_header("Content-Type") or "")]
    else:
        status = int(http.get_statuscode() or 0) if http else 0
        headers = list(http.headers) if http else []
    problem = None
    encoding = (http.get_header("Content-Encoding") or "").strip().lower() if http else ""
    if record.rec_headers.get_header("WARC-Segment-Number"):
        # the first of a record split over `continuation` records (a crawler's cap on record size): its body is the
        # page's beginning only, which would load as a short article
        problem, body = "warc_segmented", b""
    elif encoding == "br":
        body, problem = _unbrotli(record, http)
    elif encoding and encoding != "identity" and encoding not in BufferedReader.get_supported_decompressors():
        # warcio hands such a body over still compressed (zstd, say): that is no page, and is said so
        problem, body = "unsupported_encoding", b""
    else:
        # decoded as stored (gzip, deflate, chunked); a body that inflates past the cap is a bomb, not a page
        body = record.content_stream().read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            problem, body = "too_large", b""
    return ArchivedResponse(
        url=record.rec_headers.get_header("WARC-Target-URI"),
        status=status,
        headers=headers,
        body=body,
        problem=problem,
        warc_date=record.rec_headers.get_header("WARC-Date"),
        warc_file=warc_file,
        offset=offset,
        record_type=record.rec_type,
        truncated=(record.rec_headers.get_header("WARC-Truncated") or "").strip().lower() or None,
    )


def _unbrotli(record, http) -> tuple[bytes, str | None]:
    """A body stored with Content-Encoding: br (browser-based crawlers keep responses as sent), decoded with
    brotli's public API. warcio's own br support sets an attribute that brotli's Decompressor no longer accepts
    (brotli 1.1+), so it fails on every such record."""
    import brotli

    raw = record.raw_stream
    if (http.get_header("Transfer-Encoding") or "").strip().lower() == "chunked":
        raw = ChunkedDataReader(raw)
    stored = raw.read(MAX_RECORD_BYTES + 1)
    decompressor = brotli.Decompressor()
    try:
        body = decompressor.process(stored, output_buffer_limit=MAX_BODY_BYTES + 1)
    except brotli.error:
        if stored.lstrip()[:1] == b"<" and len(stored) <= MAX_BODY_BYTES:
            # a crawler that stored the body decoded but kept the header: markup as it is (as warcio does for gzip)
            return stored, None
        return b"", "corrupt_encoding"
    if len(body) > MAX_BODY_BYTES:
        return b"", "too_large"
    if not decompressor.is_finished():
        return b"", "truncated_body"
    return body, None


def locate(warc_file: str | os.PathLike) -> Path:
    """Where an archived WARC file is now: the same file under this data dir's `archive/` when it has one (the data
    dir moved or was copied: a renamed project folder, a restored backup, a copy beside the original, which read
    the original's files while they were there), else the path stored with the article or the listing's
    validators. A file that is in neither place (a `warc` source's crawl moved away) stays as stored, to be said
    missing by whoever opens it."""
    from newsflow.config import data_dir

    path = Path(warc_file)
    if ARCHIVE_FOLDER not in path.parts[:-1]:
        return path
    parts = path.parts
    last = len(parts) - 1 - parts[::-1].index(ARCHIVE_FOLDER)
    moved = data_dir() / ARCHIVE_FOLDER / Path(*parts[last + 1:])
    return moved if moved.exists() else path


class ArchiveRecordError(ValueError):
    """The record a stored offset points to cannot be the page: `reason` is its ledger reason."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def read_response(warc_file: str | os.PathLike, offset: int) -> ArchivedResponse:
    """The response or resource record at `offset`. A record the file ends inside is `warc_truncated` (as
    scan_archive says of it): warcio hands over the bytes that are there, and a reprocess of an archive cut short
    replaced a stored article with its first half."""
    path = locate(warc_file)
    with open(path, "rb") as fh:
        arc = is_legacy_arc(fh)
        fh.seek(offset)
        iterator = ArchiveIterator(fh, arc2warc=arc)
        for record in iterator:
            if record.rec_type not in ("response", "resource"):
                raise ValueError(f"{warc_file}@{offset} is a {record.rec_type} record, not a response")
            response = _to_response(record, str(warc_file), offset)
            if not response.url or not record.rec_headers.get_header("WARC-Record-ID") and not arc:
                # bytes in the middle of another record, which warcio reads as a record without a name: the file
                # at this path is no longer the one the offset was taken in
                raise ArchiveRecordError("warc_mismatch", f"no WARC record starts at {warc_file}@{offset}")
            iterator.read_to_end(record)
            # what the record's Content-Length promised and the file did not hold (plain or gzip alike)
            if getattr(record.raw_stream, "limit", 0):
                raise ArchiveRecordError("warc_truncated", f"{warc_file} ends inside the record at {offset}")
            return response
    # nothing to read from the offset on: the file was cut before the record's header ended, or before it began
    raise ArchiveRecordError("warc_truncated", f"{warc_file} ends before the record at {offset}")


@dataclass(frozen=True)
class ArchiveDamage:
    """Bytes of a WARC file that could not be read: where they start, why, and the record's URL when its header
    survived. `resumed_at` is where reading went on (the next intact gzip member or record), None at the end."""

    warc_file: str
    offset: int
    reason: str  # warc_truncated | warc_corrupt | warc_not_warc
    detail: str
    url: str | None = None
    resumed_at: int | None = None


@dataclass
class ArchiveScan:
    """What reading one WARC file found: records read, responses and revisit records yielded, and every damaged
    stretch."""

    warc_file: str
    records: int = 0
    responses: int = 0
    revisits: int = 0
    truncated: int = 0  # pages read from records the crawler marked WARC-Truncated
    damage: list[ArchiveDamage] | None = None
    legacy_arc: bool = False  # an ARC file, read as WARC records (is_legacy_arc)

    def __post_init__(self) -> None:
        self.damage = self.damage or []


GZIP_MAGIC = b"\x1f\x8b\x08"
MAX_RECORD_BYTES = 256 * 1024 * 1024  # one decompressed gzip member; more is a bomb, not a web page
MAX_BODY_BYTES = 64 * 1024 * 1024  # one response body decoded from its Content-Encoding; more is no article
_READ = 1024 * 1024
_TARGET = re.compile(rb"^WARC-Target-URI:[ \t]*(\S+)", re.M | re.I)
_TYPE = re.compile(rb"^WARC-Type:[ \t]*(\S+)", re.M | re.I)
# Legacy ARC files (the Internet Archive's format before WARC, written by crawls of 1996-2009) open with a
# `filedesc://` record; each record's header is one line: URL, IP address, 14-digit date, content type, length.
# warcio reads them as WARC records (arc2warc), but it also reads junk as ARC: the opening record tells them apart.
_ARC_START = b"filedesc://"
_ARC_HEADER = re.compile(rb"(?:\A|\n)(?P<url>[a-z][a-z0-9+.-]*:\S+) \S+ \d{14} \S* \d+\r?\n", re.I)


def is_legacy_arc(fh) -> bool:
    """Whether the open file (plain or gzipped) starts with an ARC file's `filedesc://` record."""
    fh.seek(0)
    head = fh.read(4096)
    if head.startswith(b"\x1f\x8b"):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, len(_ARC_START))
        except zlib.error:
            return False
    return head.startswith(_ARC_START)


def _damage(scan: ArchiveScan, offset: int, reason: str, detail: str, head: bytes = b"",
            url: str | None = None) -> ArchiveDamage:
    """Note a damaged stretch; its record's URL is `url` (the reader parsed the header) or what `head` shows."""
    found = ArchiveDamage(scan.warc_file, offset, reason, detail, url or _damaged_target(head, scan.legacy_arc))
    scan.damage.append(found)
    return found


def _damaged_target(head: bytes, arc: bool) -> str | None:
    """The URL of a damaged response record whose header survived: its WARC-Target-URI, or an ARC header line's."""
    header_block = head.split(b"\r\n\r\n", 1)[0][:65536]
    kind = _TYPE.search(header_block)
    target = _TARGET.search(header_block)
    if target and kind and kind.group(1).lower() == b"response":
        return target.group(1).decode("utf-8", "replace").strip("<>")
    line = _ARC_HEADER.match(head[:65536]) if arc else None
    if line and not line.group("url").startswith(_ARC_START):
        return line.group("url").decode("utf-8", "replace")
    return None


def _inflate_member(fh, offset: int) -> tuple[bytes, int | None, str | None]:
    """The gzip member at `offset`: (data, end offset, None) when whole, (data so far, None, why) when not."""
    fh.seek(offset)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out: list[bytes] = []
    size = 0
    position = offset
    while True:
        chunk = fh.read(_READ)
        if not chunk:
            return b"".join(out), None, "warc_truncated"
        try:
            data = inflater.decompress(chunk, MAX_RECORD_BYTES + 1 - size)
        except zlib.error as exc:
            return b"".join(out), None, f"warc_corrupt:{exc}"
        out.append(data)
        size += len(data)
        if size > MAX_RECORD_BYTES:
            return b"".join(out)[:65536], None, "warc_corrupt:record over 256 MB"
        if inflater.eof:
            return b"".join(out), position + len(chunk) - len(inflater.unused_data), None
        if inflater.unconsumed_tail:
            return b"".join(out)[:65536], None, "warc_corrupt:record over 256 MB"
        position += len(chunk)


def _next_member(fh, after: int, arc: bool = False) -> int | None:
    """Resync: the offset of the next gzip member after `after` that inflates whole into a WARC (or ARC) record."""
    position = after
    while True:
        fh.seek(position)
        block = fh.read(_READ + len(GZIP_MAGIC))
        if len(block) < len(GZIP_MAGIC):
            return None
        at = block.find(GZIP_MAGIC)
        while at != -1 and at < _READ:
            candidate = position + at
            data, end, problem = _inflate_member(fh, candidate)
            if problem is None and (data.startswith(b"WARC/") or (arc and _ARC_HEADER.match(data))):
                return candidate
            at = block.find(GZIP_MAGIC, at + 1)
        position += _READ
        fh.seek(position)


# the records that stand for a URL the crawl fetched; request, metadata and warcinfo records go with those
_LISTED_TYPES = ("response", "revisit", "resource")


def _listed(record) -> bool:
    # with or without an HTTP header block: warcio parses none for a target that is not http(s) (`dns:`, a
    # mistyped scheme), and such a record still gets its outcome (skipped: bad_scheme) instead of vanishing
    return record.rec_type in _LISTED_TYPES


def _unbounded(record) -> bool:
    """A WARC record without the Content-Length every one must carry: in an uncompressed file warcio reads its block
    to the file's end, and the records after it became the page's tail, never read nor accounted for."""
    return str(record.format).startswith("warc") and record.rec_headers.get_header("Content-Length") is None


def _count(scan: ArchiveScan, record_type: str) -> None:
    if record_type == "revisit":
        scan.revisits += 1
    else:
        scan.responses += 1


def _records(data: bytes, warc_file: str, offset: int, scan: ArchiveScan) -> Iterator[ArchivedResponse]:
    """The records of one intact gzip member (warcio's public ArchiveIterator), responses as ArchivedResponse.
    A page is given out once its record has been read to the end: a record whose Content-Length is shorter than
    its block (bytes left where the blank lines that end a record belong) is the page's beginning only, which
    loaded as the whole article while its damage was listed a duplicate of it."""
    try:
        records = ArchiveIterator(io.BytesIO(data), arc2warc=scan.legacy_arc)
        for index, record in enumerate(records):
            if not str(record.format).startswith("warc"):
                # warcio falls back to reading junk as a legacy ARC record (a real ARC file's are converted)
                _damage(scan, offset, "warc_not_warc", f"record format {record.format!r}", data)
                return
            scan.records += 1
            if not _listed(record):
                continue
            if index:
                # a second record in one member cannot be found again by offset: say so rather than mis-point. Its
                # header was read, so the page it holds is named (a whole file gzipped as one member, `gzip
                # crawl.warc`, holds every page of the crawl: each gets its row instead of vanishing)
                _damage(scan, offset, "warc_corrupt", "several records in one gzip member (warcio recompress "
                        "writes one member per record)", data, url=record.rec_headers.get_header("WARC-Target-URI"))
                continue
            page = _to_response(record, warc_file, offset)
            records.read_to_end(record)
            if records.err_count:
                raise ValueError("the record is not followed by the blank lines that end one: its Content-Length "
                                 "is wrong")
            _count(scan, page.record_type)
            # before the member's later records are read: damage there (a whole crawl gzipped as one member, junk
            # after it) is theirs, and this page stands
            yield page
    except Exception as exc:  # noqa: BLE001 - warcio raises a zoo of errors on damaged records
        _damage(scan, offset, "warc_corrupt", f"{type(exc).__name__}: {exc}"[:300], data)


def _scan_gzip(fh, warc_file: str, scan: ArchiveScan) -> Iterator[ArchivedResponse]:
    offset = 0
    size = os.fstat(fh.fileno()).st_size
    while offset < size:
        data, end, problem = _inflate_member(fh, offset)
        if problem is None:
            yield from _records(data, warc_file, offset, scan)
            offset = end
            continue
        reason, _, detail = problem.partition(":")
        found = _damage(scan, offset, reason, detail or f"file ends at {size} inside the record", data)
        resume = _next_member(fh, offset + 1, scan.legacy_arc)
        if resume is None:
            return
        scan.damage[-1] = ArchiveDamage(found.warc_file, found.offset, found.reason, found.detail, found.url, resume)
        offset = resume


def _scan_plain(fh, warc_file: str, scan: ArchiveScan) -> Iterator[ArchivedResponse]:
    """An uncompressed WARC: warcio reads it in place; a break resyncs at the next `WARC/1.` line (the next ARC
    record's header line in an ARC file)."""
    size = os.fstat(fh.fileno()).st_size
    start = 0
    while start < size:
        fh.seek(start)
        iterator = ArchiveIterator(fh, arc2warc=scan.legacy_arc)
        end = start
        try:
            for record in iterator:
                if not str(record.format).startswith("warc"):
                    if start == 0 and not scan.records:
                        # junk from the first byte: warcio falls back to reading it as a legacy ARC record
                        _damage(scan, 0, "warc_not_warc", f"record format {record.format!r}")
                        return
                    raise ValueError(f"record format {record.format!r}")  # junk after records: resync below
                if _unbounded(record):
                    end = iterator.get_record_offset()  # damaged where it starts; read on from the next record
                    raise ValueError("the record has no Content-Length: where it ends is unknown")
                errors = iterator.err_count  # asking for the offset reads the record to its end
                # the body is read before the offset is asked for: asking first empties an ARC record's stream
                response = _to_response(record, warc_file, 0) if _listed(record) else None
                offset = iterator.get_record_offset()
                if response is not None:
                    response = replace(response, offset=offset)
                iterator.read_to_end(record)
                if (iterator.err_count > errors
                        and os.pread(fh.fileno(), 7, offset + iterator.get_record_length()) != b"WARC/1."):
                    # not followed by the blank lines that end a record, nor by the next record (a writer that left
                    # them out): its Content-Length is wrong, so its block is not the page (cut short, or running
                    # into the records after it). Damaged where it starts, and read on from the next record header
                    # after that, inside the block included
                    end = offset
                    raise ValueError("the record is not followed by the blank lines that end one: its "
                                     "Content-Length is wrong")
                end = offset + iterator.get_record_length()
                # a record whose declared length runs past the file's end: warcio stops reading at the end (and
                # leaves the part of its Content-Length it could not read, as read_response tells it)
                if (end > size or (record.length or 0) > iterator.get_record_length()
                        or getattr(record.raw_stream, "limit", 0)):
                    _damage(scan, offset, "warc_truncated", f"file ends at {size} inside the record",
                            url=response.url if response is not None and response.record_type == "response" else None)
                    return
                scan.records += 1
                if response is not None:
                    _count(scan, response.record_type)
                    yield response
            return
        except Exception as exc:  # noqa: BLE001 - warcio raises a zoo of errors on damaged records
            fh.seek(end)
            found = _damage(scan, end, "warc_corrupt", f"{type(exc).__name__}: {exc}"[:300], fh.read(65536))
            fh.seek(end + 1)
            rest = fh.read()
            if scan.legacy_arc:
                line = _ARC_HEADER.search(rest, 1)
                at = line.start() if line else -1
            else:
                at = rest.find(b"\nWARC/1.")
            if at == -1:
                return
            start = end + 1 + at + 1
            scan.damage[-1] = ArchiveDamage(found.warc_file, found.offset, found.reason, found.detail, found.url,
                                            start)


def scan_archive(warc_file: str | os.PathLike, scan: ArchiveScan | None = None) -> Iterator[ArchivedResponse]:
    """Every readable HTTP response (and revisit record, `record_type` "revisit") in a WARC or WARC.gz file, streamed
    (one record in memory at a time). A legacy ARC file (plain or gzipped) is read the same way, its records as WARC
    response records (warcio's arc2warc).

    Damage never ends the scan silently: a truncated or corrupt stretch is noted in `scan.damage` (offset,
    reason, the record's URL when its header survived) and reading resumes at the next intact gzip member (or
    `WARC/1.` line in an uncompressed file), so records after a corrupt block are still read.
    """
    scan = scan if scan is not None else ArchiveScan(str(warc_file))
    with open(warc_file, "rb") as fh:
        scan.legacy_arc = is_legacy_arc(fh)
        fh.seek(0)
        gzipped = fh.read(2) == b"\x1f\x8b"
        fh.seek(0)
        yield from (_scan_gzip if gzipped else _scan_plain)(fh, str(warc_file), scan)
    if scan.records == 0 and not scan.damage:
        # warcio reads junk as an empty archive; an archive with no record at all is damaged, not empty
        _damage(scan, 0, "warc_not_warc", "no WARC records")


def iter_responses(warc_file: str | os.PathLike) -> Iterator[ArchivedResponse]:
    """Like scan_archive, but the first damage raises ValueError (for callers that want all or nothing)."""
    scan = ArchiveScan(str(warc_file))
    for response in scan_archive(warc_file, scan):
        if scan.damage:
            break
        yield response
    if scan.damage:
        first = scan.damage[0]
        raise ValueError(f"{warc_file}: {first.reason} at offset {first.offset}: {first.detail}")


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    name = name.lower()
    for key, value in headers:
        if key.lower() == name:
            return value
    return None

