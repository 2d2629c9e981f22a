"""Discovery: turn a source (RSS/Atom/JSON feed, sitemap, URL list, WARC files) into the list of article URLs,
with the dates and titles the publisher listed for them. Parsing is defensive: hostile XML cannot reach the network.
"""

from __future__ import annotations

import functools
import glob
import gzip
import html.entities
import io
import json
import logging
import os
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

from lxml import etree

from newsflow import bot_walls
from newsflow.archive import ArchiveDamage, ArchiveScan, header, scan_archive
from newsflow.encoding import (
    SERVER_DEFAULT,
    decode_html,
    decode_text,
    detect,
    normalise_label,
    overrules_latin_default,
    utf8_despite_latin_label,
    utf16_without_bom,
    without_lone_surrogates,
)

log = logging.getLogger(__name__)

MAX_SITEMAP_DEPTH = 3
MAX_SITEMAP_DOCS = 200
# the sitemap protocol's limit for one file (50 MiB uncompressed); a gzipped listing that inflates past it is a bomb
# or broken: refused whole (it was cut at 50,000,000 bytes, under the limit, and read in part without a word)
MAX_UNCOMPRESSED = 50 * 1024 * 1024


class DiscoveryError(Exception):
    """A listing that cannot be read at all (its URL still gets a fetch_log row with this reason)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class Entry:
    url: str
    date: str | None = None
    title: str | None = None
    warc_file: str | None = None
    warc_offset: int | None = None
    warc_date: str | None = None
    failure: str | None = None  # known not to be an article already (a damaged WARC record, a 404 in it): its reason
    outcome: str = "failed"  # the ledger outcome that goes with `failure`: failed, or skipped for a decision
    target: str | None = None  # where an archived redirect (3xx or refresh shell) sends the reader


def _parser(recover: bool = True) -> etree.XMLParser:
    # no entities, no DTD fetches, no network: a feed is untrusted input
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=recover, remove_comments=True
    )


_CDATA = re.compile(rb"(<!\[CDATA\[.*?\]\]>)", re.S)
_NAMED_REF = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_BARE_AMPERSAND = re.compile(rb"&(?![A-Za-z][A-Za-z0-9]{1,31};|#[0-9]{1,7};|#[xX][0-9A-Fa-f]{1,6};)")
_XML_REFS = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})


def _named_ref(match: re.Match) -> bytes:
    name = match.group(1)
    if name in _XML_REFS:
        return match.group(0)
    text = html.entities.html5.get(name.decode("ascii") + ";")
    if text is None:  # not an HTML entity either (or a DTD's own, which is never expanded): kept as text
        return b"&amp;" + name + b";"
    return b"".join(b"&#%d;" % ord(ch) for ch in text)


def _repair_references(data: bytes) -> bytes:
    """What hand-made feeds and sitemaps get wrong, made well-formed: a bare `&` in a link (`?a=1&b=2`, which the
    recovering parser would cut to `?a=1=2`) is escaped, and an HTML entity (`&eacute;`, `&nbsp;`, which XML does not
    define: the parser cut "Caf&eacute;" to "Caf") becomes a character reference. CDATA sections are left as they are.
    """
    parts = _CDATA.split(data)
    for i in range(0, len(parts), 2):  # the odd parts are the CDATA sections
        parts[i] = _BARE_AMPERSAND.sub(b"&amp;", _NAMED_REF.sub(_named_ref, parts[i]))
    return b"".join(parts)


_XML_DECLARED = re.compile(rb"""^<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']""")


def _as_utf8(data: bytes, charset: str | None) -> bytes:
    """A document that says nothing of its encoding, or says UTF-8, while its bytes are not UTF-8 (a windows-1256
    feed whose charset is only in the HTTP header, a PHP feed declared UTF-8 and written in windows-1252): read by
    the header's charset, else by detection, and handed to the parser as UTF-8. The parser would otherwise turn
    every non-ASCII character of its titles into U+FFFD. A document that names another encoding is read by it."""
    declared = _XML_DECLARED.match(data)
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return data
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        pass
    if charset == SERVER_DEFAULT:  # ISO-8859-1, what servers say when nobody set a charset
        charset = overrules_latin_default(data) or charset
    elif not charset or charset == "utf-8":  # none said, or UTF-8 said and the bytes contradict it
        charset = detect(data)
    return _declared_utf8(data.decode(charset, errors="replace").encode("utf-8"))


def _declared_utf8(data: bytes) -> bytes:
    """UTF-8 bytes whose XML declaration, if it names an encoding, names UTF-8: re-encoded or found to be UTF-8, a
    document that still said "UTF-16" or "ISO-8859-1" would be read by that."""
    if declared := _XML_DECLARED.match(data):
        return data[: declared.start(1)] + b"utf-8" + data[declared.end(1):]
    return data


def _utf8_despite_declaration(data: bytes, charset: str | None) -> bytes:
    """A document whose XML declaration names a legacy encoding while its bytes are UTF-8, with the declaration
    corrected: read as it says, every title came out as mojibake and every non-ASCII link ("/أخبار/") pointed at a
    page that does not exist. A declared ISO-8859-1 (or windows-1252, US-ASCII), a template's leftover, gives way by
    the same rule as a web page's meta tag (encoding.utf8_despite_latin_label); another single-byte encoding
    (windows-1256, KOI8-R: a CMS moved to UTF-8 that kept its old declaration) only when the HTTP charset says UTF-8
    too (RFC 7303 lets it overrule the declaration) and the bytes are valid UTF-8 throughout."""
    declared = _XML_DECLARED.match(data)
    if declared and _WIDE_LABEL.fullmatch(declared.group(1)):
        # a UTF-16 or UTF-32 declaration readable as ASCII is false (_unwrap read real UTF-16 by its BOM or zero
        # bytes): .NET's XmlWriter over a StringWriter declares utf-16 whatever the bytes sent. Obeyed, the parser
        # found "no root element" and the whole listing failed; read as a document that names no encoding
        return _as_utf8(_declared_utf8(data), charset)
    label = normalise_label(declared.group(1).decode("ascii")) if declared else None
    if label == SERVER_DEFAULT:
        return _declared_utf8(data) if utf8_despite_latin_label(data) else data
    if charset == "utf-8" and label not in (None, "utf-8") and _single_byte(label) and _utf8_text(data):
        return _declared_utf8(data)
    return data


_WIDE_LABEL = re.compile(rb"(?i)(?:utf-?(?:16|32)(?:[bl]e)?|ucs-?[24]|(?:cs)?unicode(?:fffe|feff)?|iso-10646-ucs-[24])")


@functools.lru_cache(maxsize=32)
def _single_byte(codec: str) -> bool:
    # text in such an encoding is almost never valid UTF-8 (its letters above 0x7F follow one another, where UTF-8
    # needs continuation bytes); a double-byte one's (EUC-KR, GBK, Shift_JIS) often is, a few characters long
    try:
        return len(bytes(range(256)).decode(codec, errors="replace")) == 256
    except LookupError:  # a declaration naming one of Python's bytes-to-bytes codecs ("base64", "zlib")
        return False


def _utf8_text(data: bytes) -> bool:
    """Valid UTF-8 with non-ASCII text in it."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _unwrap(data: bytes) -> bytes:
    """The listing's document: inflated if gzipped, without leading blanks or a UTF-8 byte-order mark."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.GzipFile(fileobj=io.BytesIO(data)).read(MAX_UNCOMPRESSED + 1)
        except (OSError, EOFError, zlib.error):  # zlib's error for a damaged stream is neither
            raise DiscoveryError("corrupt_gzip") from None
        if len(data) > MAX_UNCOMPRESSED:  # read in part, it would list some entries and drop the rest unsaid
            raise DiscoveryError("too_large", f"over {MAX_UNCOMPRESSED:,} bytes uncompressed")
    if encoding := utf16_without_bom(data):
        # the XML parser finds UTF-16 by a byte-order mark or a declaration; without either it read "no root element"
        data = _declared_utf8(data.decode(encoding, errors="replace").encode("utf-8").lstrip())
    data = data.lstrip()
    if data.startswith(b"\xef\xbb\xbf"):
        # the mark outranks the declaration (XML 1.0 Appendix F), which a CMS moved to UTF-8 often kept: once the
        # mark is gone, the parser would obey a stale "windows-1256"
        data = _declared_utf8(data[3:].lstrip())
    if not data:
        raise DiscoveryError("empty_document")
    return data


# a web page where a listing was expected (the site's home page given as its feed): recovering XML parsers read
# its first few tags and reported "no root element", which told the user nothing
_HTML_START = re.compile(rb"(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.I | re.S)
_HTML_PAGE = "a web page, not a listing"


def _parse_xml(data: bytes, charset: str | None, notes: list[str]) -> etree._Element:
    data = _unwrap(data)
    if _HTML_START.match(data[:4096]):
        raise DiscoveryError("html_page", _HTML_PAGE)
    data = _utf8_despite_declaration(data, charset)
    try:
        root = etree.fromstring(data, _parser(recover=False))
    except etree.XMLSyntaxError:
        root = None
    # a DOCTYPE naming an external DTD (RSS 0.91's Netscape one) makes `&eacute;` well-formed, but the reference
    # stays an unexpanded node that cut the link or title around it ("/espa&ntilde;a.html" read as "/espa")
    if root is None or any(f"{ref.name};" in html.entities.html5 for ref in root.iter(etree.Entity)):
        # not well-formed: repair what is commonly wrong, then let the parser recover from the rest (not in UTF-16
        # or UTF-32, where these bytes mean something else)
        if b"\x00" not in data[:1024]:
            data = _repair_references(_as_utf8(data, charset))
        root = _recovered(data, notes)
    if root is None:
        raise DiscoveryError("xml_parse_error", "no root element")
    if _local(root.tag) == "html":  # XHTML
        raise DiscoveryError("html_page", _HTML_PAGE)
    return root


def _recovered(data: bytes, notes: list[str]):
    """The root of `data` as the recovering parser reads it. When the parser had to drop or close something (a
    document cut mid-way: a PHP feed that timed out behind a well-ended chunked body), `notes` gets `recovered`
    and the task log a warning: the entries read looked like the whole listing, while those after the damage were
    lost. A prefix the document never declares (`<dc:date>` without xmlns:dc) loses nothing and is not counted."""
    parser = _parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DiscoveryError("xml_parse_error", str(exc)) from None
    damage = [error for error in parser.error_log
              if error.level >= etree.ErrorLevels.ERROR and error.domain != etree.ErrorDomains.NAMESPACE]
    if damage and root is not None:
        notes.append("recovered")
        log.warning("a listing that is not well-formed (%s, line %d) was read by the recovering parser: entries "
                    "after the damage may be missing", damage[0].message.strip(), damage[0].line)
    return root


def listing_reason(listed: int, unlinked: int, notes: list[str]) -> str:
    """A listing's ledger reason: `listed:N`, `;unlinked=M` when some of its items name no page, then the `notes`
    parse_feed or parse_sitemap gave, counts first (`;sitemaps=K`), then `;recovered`."""
    counts = [f"listed:{listed}"] + ([f"unlinked={unlinked}"] if unlinked else [])
    return ";".join(counts + sorted(notes, key=lambda note: "=" not in note))


def _local(tag) -> str:
    # by hand, not etree.QName: a prefix the document never declares (`<dc:date>` in a feed without xmlns:dc, a
    # news sitemap without xmlns:news, both common) stays in the tag when the parser recovers, and QName refuses
    # such a name with a ValueError that took the whole listing down
    return tag.rpartition("}")[2].rpartition(":")[2].lower() if isinstance(tag, str) else ""


def _child_text(node, *names: str) -> str | None:
    for child in node:
        if _local(child.tag) in names and child.text and child.text.strip():
            return child.text.strip()
    return None


def _title(node) -> str | None:
    # a title in CDATA, or escaped twice ("Tom &amp;amp; Jerry"), still holds HTML references after XML parsing;
    # feed readers show them decoded, and the title is compared with the page's own headline
    title = _child_text(node, "title")
    if title and "&" in title:
        title = _TEXT_REF.sub(_decoded_ref, title)
    if title and "<" in title:
        # Atom's type="html" titles, and RSS titles written the same way: Google Alerts bolds the matched words
        # ("Hospital <b>strike</b> ends"); feed readers render the markup, the headline is the text
        title = " ".join(_INLINE_TAG.sub(" ", title).split()) or None
    return title


_INLINE_TAG = re.compile(r"</?(?:b|i|em|strong|u|s|span|font|mark|small|sup|sub|a|br|wbr)(?:\s[^<>]*)?/?>", re.I)


# whole references only: html.unescape alone also reads a legacy prefix ("&notanentity;" as "¬anentity;")
_TEXT_REF = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _decoded_ref(match: re.Match) -> str:
    ref = match.group(0)
    if ref[1] != "#" and ref[1:] not in html.entities.html5:
        return ref
    return html.unescape(ref)


def parse_feed(data: bytes, charset: str | None = None, unlinked: list[str] | None = None,
               notes: list[str] | None = None) -> list[Entry]:
    """RSS 2.0, RSS 1.0 (RDF), Atom and JSON Feed. `charset`: the HTTP header's, for a document whose bytes are not
    UTF-8 and whose XML declaration names no other encoding. `unlinked` gets the title (or "") of each item that
    names no page to fetch (no link, no permalink guid), so the listing can say how many it left out. `notes` gets
    what its ledger reason adds (listing_reason): `recovered` for a document that was not well-formed.
    A web page raises DiscoveryError `html_page` (`linked_feed` finds the feed it announces)."""
    unlinked = [] if unlinked is None else unlinked
    data = _unwrap(data)
    if data.startswith(b"{"):
        return _json_feed_entries(data, unlinked)
    root = _parse_xml(data, charset, [] if notes is None else notes)
    entries = _feed_entries(root, unlinked)
    if entries is None:
        raise DiscoveryError("not_a_feed", f"root element <{_local(root.tag)}>")
    return entries


def _feed_entries(root, unlinked: list[str]) -> list[Entry] | None:
    """The items of an RSS or Atom document; None when the root is neither."""
    kind = _local(root.tag)
    if kind == "feed":
        items, link_of, date_names = [e for e in root if _local(e.tag) == "entry"], _atom_link, _ATOM_DATES
    elif kind in ("rss", "rdf"):
        # wherever they are under the root, in whatever namespace, as feed readers take them: RSS 1.0 writes its
        # items beside the channel, hand-made RSS 2.0 after </channel>, UserLand's namespaced it on <rss>
        items, link_of, date_names = root.iter("{*}item"), _rss_link, _RSS_DATES
    else:
        return None
    entries = []
    for item in items:
        if link := link_of(item):
            entries.append(Entry(url=link, date=_preferred_text(item, date_names), title=_title(item)))
        else:
            unlinked.append(_title(item) or "")
    return entries


# in order of preference, whatever their order in the item: WordPress's Atom feeds write <updated> first
_ATOM_DATES = ("published", "issued", "created", "updated")
_RSS_DATES = ("pubdate", "date", "published")


def _preferred_text(node, names: tuple[str, ...]) -> str | None:
    """The text of the first of `names` the node has a child of, in the order `names` prefers them."""
    return next(filter(None, (_child_text(node, name) for name in names)), None)


def _atom_link(entry) -> str | None:
    """An Atom entry's page: FeedBurner's origLink (as for RSS), else its alternate link (else its first), else an
    `<id>` that is a web address (as a JSON Feed item's `id`)."""
    link = _child_text(entry, "origlink")
    for child in entry if link is None else ():
        if _local(child.tag) == "link" and child.get("href"):
            if _is_alternate(child.get("rel", "alternate")):
                link = _with_xml_base(child, child.get("href"))
                break
            link = link or _with_xml_base(child, child.get("href"))
    return link.strip() if link else _web_address(_child_text(entry, "id"))


# relation types are ASCII case-insensitive (RFC 8288 §2.1.1); Atom also names `alternate` by its IANA IRI (RFC 4287
# §4.2.7.2). Feeds write "ALTERNATE" and " alternate ": compared exactly, their entries took an enclosure instead.
_ALTERNATE = frozenset({"alternate", "http://www.iana.org/assignments/relation/alternate"})
_XML_SPACE = " \t\r\n"


def _is_alternate(rel: str) -> bool:
    rel = rel.strip(_XML_SPACE)
    return rel.isascii() and rel.lower() in _ALTERNATE


def _rss_link(item) -> str | None:
    """An RSS item's page: its link, else a guid that is a permalink and a web address. A guid such as "12345" was
    resolved against the feed's URL and requested, a page that does not exist."""
    # FeedBurner's feeds link every item through its feedproxy redirector; the publisher's own URL is in
    # feedburner:origLink, which feed readers take (one request fewer, no tracking hop, no dead redirector)
    link = _child_text(item, "origlink") or _child_text(item, "link")
    if link:
        return _with_xml_base(next(c for c in item if _local(c.tag) in ("origlink", "link")), link)
    guid = next((c for c in item if _local(c.tag) == "guid"), None)
    if guid is None or (guid.get("isPermaLink") or "true").strip().lower() == "false":
        return None
    return _web_address(guid.text)


def _web_address(text: str | None) -> str | None:
    """`text` (stripped) when it is an http(s) URL: an identifier that may also be a page's address."""
    text = text.strip() if text else None
    return text if text and _WEB_ADDRESS.match(text) else None


_WEB_ADDRESS = re.compile(r"(?i)https?://")


def _with_xml_base(node, link: str) -> str:
    """A feed's link resolved against the `xml:base` in scope (Atom's way to make links relative, which Blogger and
    other generators use); as written when there is none. The listing's own URL resolves what is still relative."""
    base = node.base  # libxml2 composes nested xml:base attributes
    if not base:
        return link.strip()
    try:
        return urljoin(base, link.strip())
    except ValueError:
        return link.strip()


def _json_feed_entries(data: bytes, unlinked: list[str]) -> list[Entry]:
    """JSON Feed 1.0/1.1 (jsonfeed.org, always UTF-8): an item's page is its `url`, else its `external_url`, else
    an `id` that is a web address (as an RSS permalink guid)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DiscoveryError("json_parse_error", str(exc)[:200]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list) or "jsonfeed.org" not in str(doc.get("version")):
        raise DiscoveryError("not_a_feed", "JSON, but not a JSON Feed (no jsonfeed.org version and items list)")
    entries = []
    for item in doc["items"]:
        item = item if isinstance(item, dict) else {}
        title = _text_field(item, "title")
        link = _text_field(item, "url") or _text_field(item, "external_url") or _web_address(_text_field(item, "id"))
        if link:
            entries.append(Entry(url=link, date=_text_field(item, "date_published") or _text_field(item, "date_modified"),
                                 title=title))
        else:
            unlinked.append(title or "")
    return entries


def _text_field(item: dict, name: str) -> str | None:
    value = item.get(name)
    # JSON may spell half an emoji ("\\ud83d"), which json.loads keeps as a lone surrogate: in one item's title, link
    # or date it made the ledger's Parquet write fail, and with it the source's discover stage (every URL the feed
    # listed lost, no row). Each becomes U+FFFD, as a browser's JSON-to-USVString conversion makes it.
    return without_lone_surrogates(value.strip()) or None if isinstance(value, str) else None


# not application/json: WordPress announces its REST API's JSON for the page that way, which is no feed
_FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"})


def linked_feed(data: bytes, content_type: str | None = None) -> str | None:
    """The first feed a web page announces (`<link rel="alternate" type="application/rss+xml" href=…>`), as feed
    readers find a site's feed from its home page; None when it announces none. The link is as written, or resolved
    against the page's `<base href>`."""
    import lxml.html

    try:
        text, _ = decode_html(_unwrap(data), content_type)
        page = lxml.html.document_fromstring(text)
    except (DiscoveryError, etree.ParserError, ValueError):
        return None
    base = next((b.get("href").strip() for b in page.iter("base") if b.get("href")), None)
    for link in page.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" in rels and kind in _FEED_TYPES and href:
            try:  # against the page's <base href>, as a browser resolves it
                return urljoin(base, href) if base else href
            except ValueError:
                return href
    return None


def parse_sitemap(data: bytes, charset: str | None = None, unlinked: list[str] | None = None,
                  notes: list[str] | None = None) -> tuple[list[Entry], list[str]]:
    """A urlset gives entries (news:publication_date preferred over lastmod); a sitemapindex gives child sitemaps,
    the most recently modified first (those without a lastmod after, as listed): a run reads a bounded number of
    them (MAX_SITEMAP_DOCS), and an index that lists its monthly sitemaps oldest first must not leave this month's
    unread. The protocol's other forms give entries too (a text file of URLs, an RSS or Atom feed), and a robots.txt
    gives the sitemaps its `Sitemap:` lines name as children. `charset` and `unlinked` (a <url> or <sitemap>
    without <loc>) as for parse_feed; `notes` also gets `sitemaps=N` for an index or a robots.txt, which list no
    page of their own."""
    unlinked = [] if unlinked is None else unlinked
    notes = [] if notes is None else notes
    data = _unwrap(data)
    text_entries = _text_sitemap(data)
    if text_entries is not None:
        return text_entries, []
    robots_children = _robots_sitemaps(data)
    if robots_children is not None:
        if not robots_children:
            raise DiscoveryError("not_a_sitemap", "a robots.txt that names no sitemap")
        notes.append(f"sitemaps={len(robots_children)}")
        return [], robots_children
    root = _parse_xml(data, charset, notes)
    kind = _local(root.tag)
    feed_entries = _feed_entries(root, unlinked)  # the protocol takes an RSS or Atom feed as a sitemap
    if feed_entries is not None:
        return feed_entries, []
    if kind == "sitemapindex":
        children = _index_children(root, unlinked)
        notes.append(f"sitemaps={len(children)}")
        return [], children
    if kind != "urlset":
        raise DiscoveryError("not_a_sitemap", f"root element <{kind}>")
    return _urlset_entries(root, unlinked), []


def _index_children(root, unlinked: list[str]) -> list[str]:
    """The sitemaps an index names, the most recently modified first, then those without a readable lastmod."""
    children = [(_child_text(sm, "loc"), _sort_stamp(_child_text(sm, "lastmod")))
                for sm in root if _local(sm.tag) == "sitemap"]
    unlinked.extend("" for loc, _ in children if not loc)
    children = [(loc, stamp) for loc, stamp in children if loc]
    dated = sorted((c for c in children if c[1] is not None), key=lambda c: c[1], reverse=True)
    return [loc for loc, _ in dated] + [loc for loc, stamp in children if stamp is None]


def _urlset_entries(root, unlinked: list[str]) -> list[Entry]:
    entries = []
    for node in root:
        if _local(node.tag) != "url":
            continue
        loc = _child_text(node, "loc")
        if not loc:
            unlinked.append("")
            continue
        date, title = None, None
        for child in node:
            if _local(child.tag) == "news":
                date = _child_text(child, "publication_date")
                title = _title(child)
        entries.append(Entry(url=loc, date=date or _child_text(node, "lastmod"), title=title))
    return entries


def _text_sitemap(data: bytes) -> list[Entry] | None:
    """The protocol's text format (one URL a line), told by the document as a whole: no markup first, and most of
    its lines (blank and `#` comment lines aside) http(s) URLs. Every line is an entry, so a line that is no usable
    URL (another scheme, broken brackets) gets its own ledger row instead of failing the file (`xml_parse_error`:
    all its good URLs were lost). None when `data` (unwrapped) is not one."""
    if data.startswith(b"<"):
        return None
    entries = parse_url_list(decode_text(data))
    urls = sum(1 for entry in entries if _WEB_ADDRESS.match(entry.url))
    return entries if 2 * urls > len(entries) else None


def _robots_sitemaps(data: bytes) -> list[str] | None:
    """The sitemaps a robots.txt (`data`, unwrapped) names in its `Sitemap:` lines, read as an index's children;
    None when `data` is no robots.txt."""
    if data.startswith(b"<"):
        return None
    if not (_ROBOTS_SITEMAP.search(head := data.decode("latin-1")) or _ROBOTS_LINE.search(head)):
        return None
    return list(dict.fromkeys(match[1] for match in _ROBOTS_SITEMAP.finditer(decode_text(data))))


_ROBOTS_SITEMAP = re.compile(r"(?im)^[ \t]*sitemap[ \t]*:[ \t]*(https?://\S+)")
_ROBOTS_LINE = re.compile(r"(?im)^[ \t]*(?:user-agent|disallow|allow|crawl-delay)[ \t]*:")


def _sort_stamp(value: str | None) -> float | None:
    """A sitemap lastmod as a UTC timestamp to sort by (a date alone is its midnight, UTC); None when unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


# a URL list is split on real line breaks only: str.splitlines also breaks at U+2028, U+0085, form feeds and
# other separators, which turned 7,747 lines into 10,589 "URLs"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BLANK = " \t\f\v"


def parse_url_list(text: str) -> list[Entry]:
    """One entry per non-blank line that is not a `#` comment; nothing else in a line is dropped or split."""
    entries = []
    for line in _LINE_BREAK.split(text):
        line = line.strip(_BLANK)
        if line and not line.startswith("#"):
            entries.append(Entry(url=line))
    return entries


def parse_url_list_file(text: str) -> list[Entry]:
    """A `urls_file`, fetched over HTTP or read from disk. A web page, an XML or JSON document or binary data where
    the list was expected would turn into a row a line: requests for `<!DOCTYPE html>`, `<url>` or `"items": [` on
    the publisher's host (a remote list's lines are resolved against its address), or, from disk, hundreds of
    `skipped: bad_scheme` rows and a run that says nothing was wrong. Such a document fails the listing instead
    (`html_page`; `not_a_url_list:sitemap` or `:feed` for one that should be given as a source of that kind,
    `not_a_url_list:xml` or `:json` for other such documents; `not_a_url_list` for binary data)."""
    head = text.lstrip("\ufeff \t\r\n")[:4096]
    if _HTML_START.match(head.encode("utf-8", "replace")):
        raise DiscoveryError("html_page", _HTML_PAGE)
    if "\x00" in text:
        raise DiscoveryError("not_a_url_list", "binary data, not one URL a line")
    if what := _markup_document(head) or _json_document(text, head):
        kind, detail = what
        raise DiscoveryError(f"not_a_url_list:{kind}", detail)
    return parse_url_list(text)


# an element's start, after an XML declaration, comments, a DOCTYPE or processing instructions: a URL list's line
# never starts so, while `<http://…>` or `<URL:http://…>` (URLs as RFC 3986 delimits them in text) is no element
_XML_ELEMENT_START = re.compile(
    r"(?:<\?[^>]*\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)(?=[\s/>])", re.S)
_SITEMAP_ROOTS = frozenset({"urlset", "sitemapindex"})
_FEED_ROOTS = frozenset({"rss", "feed", "rdf"})


def _markup_document(head: str) -> tuple[str, str] | None:
    """("sitemap" | "feed" | "xml", what to say) for a URL list that is an XML document, None otherwise."""
    match = _XML_ELEMENT_START.match(head)
    if match is None:
        return None
    root = _local(match.group(1))
    if root in _SITEMAP_ROOTS:
        return "sitemap", f"a sitemap (<{root}>), not one URL a line: give it as a source of kind sitemap"
    if root in _FEED_ROOTS:
        return "feed", f"a feed (<{root}>), not one URL a line: give it as a source of kind feed"
    return "xml", f"an XML document (<{root}>), not one URL a line"


def _json_document(text: str, head: str) -> tuple[str, str] | None:
    """("feed" | "json", what to say) for a URL list that is JSON (no URL starts with `[` or `{`), None otherwise."""
    if not head.startswith(("[", "{")):
        return None
    try:
        doc = json.loads(text.lstrip("\ufeff"))
    except (ValueError, RecursionError):
        return "json", "starts as JSON (an array or object, here not valid JSON), not one URL a line"
    if isinstance(doc, dict) and "jsonfeed.org" in str(doc.get("version")):
        return "feed", "a JSON Feed, not one URL a line: give it as a source of kind feed"
    return "json", "a JSON document, not one URL a line"


def _location(url: str, location: str | None) -> str | None:
    if not location or not location.strip():
        return None
    try:
        return urljoin(url, location.strip())
    except ValueError:  # a Location no URL can be made of (bad IPv6 brackets): the record is a redirect all the same
        return None


def warc_entries(pattern: str, base_dir: Path | None = None, scans: list[ArchiveScan] | None = None) -> list[Entry]:
    """URLs from WARC-Target-URI of response records (and resource records: pages archived without an HTTP
    exchange, typed by their WARC Content-Type), fetch time from WARC-Date, located by record offset.

    A response that is no page to extract is an entry with its outcome already given, as the fetch stage would
    give it, so it is accounted for rather than dropped: `skipped: not_html` (an image, a stylesheet, a PDF, by
    its bytes whatever its Content-Type says), `skipped: redirect` (a 3xx: the crawl stored its target as a record
    of its own), `failed: http_<status>`,
    `skipped: warc_revisit` (a crawler's deduplication record: the page is in the capture it points at).
    Damaged files are read as far as they can be (newsflow.archive.scan_archive): `scans` gets one ArchiveScan
    per file (records read, damage with offsets), and a damaged response record whose URL survived becomes an
    entry with `failure` set, so it is accounted for as failed rather than lost.
    """
    from newsflow.fetch import is_binary_file, is_html, refresh_target
    from newsflow.urls import url_problem

    path = Path(pattern)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if any(c in str(path) for c in "*?["):
        # a crawl folder's glob also meets its subfolders (a crawler's logs/, tmp/): the files it matches are read
        files = sorted(f for f in glob.glob(str(path)) if Path(f).is_file())
    else:
        files = [str(path)] if path.is_file() else []
    if not files:
        raise DiscoveryError("warc_not_found", str(path))
    entries = []
    for name in files:
        shown = os.fsencode(name).decode("utf-8", "backslashreplace")
        if shown != name:
            # a file name in another encoding (bytes Python keeps as lone surrogates): the ledger, whose rows name the
            # file each page is read back from, cannot store it; listed as unreadable, under a printable name
            scan = ArchiveScan(shown)
            scan.damage.append(ArchiveDamage(shown, 0, "warc_unreadable", "the file name is not UTF-8: rename it"))
            if scans is not None:
                scans.append(scan)
            continue
        scan = ArchiveScan(name)
        try:
            for response in scan_archive(name, scan):
                ctype = header(response.headers, "Content-Type") or ""
                entry = Entry(url=response.url, warc_file=name, warc_offset=response.offset,
                              warc_date=response.warc_date)
                unfetchable = url_problem(response.url or "")
                if unfetchable:
                    entry.failure, entry.outcome = unfetchable, "skipped"
                elif response.problem:
                    entry.failure = response.problem
                elif response.record_type == "revisit":
                    # the page is in the earlier capture it points at, which may be in another file or none given
                    entry.failure, entry.outcome = "warc_revisit", "skipped"
                elif wall := (bot_walls.by_headers({k.lower(): v for k, v in response.headers})
                              or bot_walls.by_body(response.status, response.body)):
                    entry.failure = f"blocked:{wall}"  # the crawler met a bot wall: its challenge page is no article
                elif 300 <= response.status < 400:
                    entry.failure, entry.outcome = "redirect", "skipped"
                    entry.target = _location(response.url, header(response.headers, "Location"))
                elif not response.status:
                    entry.failure = "bad_response"  # an http(s) record without a readable status line
                elif response.status != 200:
                    entry.failure = f"http_{response.status}"
                elif is_binary_file(response.body[:1024]) or (
                        ctype and "html" not in ctype.lower() and not is_html(ctype, response.body[:1024])):
                    # a PDF or an image whose server called it text/html (or gave no type) is sniffed as the live
                    # fetcher sniffs it: extracted, it was an article rejected for having no body
                    entry.failure, entry.outcome = "not_html", "skipped"
                elif shell := refresh_target(response.headers, response.body, response.url):
                    # a redirect shell the crawler stored (a meta refresh within seconds): as a 3xx record, its
                    # target is a record of its own or was never crawled; extracted, it was a "short article"
                    entry.failure, entry.outcome, entry.target = "redirect", "skipped", shell
                elif response.truncated:
                    scan.truncated += 1
                    log.warning("%s: the crawler stored only the beginning of %s (WARC-Truncated: %s); its text is "
                                "what precedes the cut", name, response.url, response.truncated)
                entries.append(entry)
        except OSError as exc:
            scan.damage.append(ArchiveDamage(name, 0, "warc_unreadable", exc.strerror or str(exc)))
        for damage in scan.damage:
            if damage.url:
                log.warning("%s: the record of %s at offset %d is unreadable (%s)", name, damage.url,
                            damage.offset, damage.reason)
                entries.append(Entry(url=damage.url, warc_file=name, warc_offset=damage.offset,
                                     failure=damage.reason))
        if scans is not None:
            scans.append(scan)
    return entries
