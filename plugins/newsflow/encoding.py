"""Turn raw page bytes into text: byte-order mark, then the HTTP charset, then the page's own meta declaration,
then detection. Legacy encodings (windows-1256, ISO-8859-6, Shift_JIS, EUC-KR, KOI8-R, UTF-16) are common in news.
"""

from __future__ import annotations

import codecs
import re

import webencodings

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_\-:.]+)""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Where the codec a browser decodes by is not the Python codec webencodings names: the Standard's gbk decoder is its
# gb18030 decoder (four-byte sequences included); x-user-defined in a meta tag means windows-1252 to HTML, and is
# read so from a header too (the Standard's decoder makes its upper half private-use characters); `replacement`, what
# the Standard makes of ISO-2022-KR, HZ-GB-2312 and ISO-2022-CN, whose ASCII bytes can switch the meaning of what
# follows (UTF-7's XSS hazard), shows the whole page as one U+FFFD: such a page is read as declaring nothing.
_CODECS = {"gbk": "gb18030", "x-user-defined": "cp1252", "replacement": None}
# Python's spellings of web encodings that servers send and the Standard does not list: read as their Standard
# labels, not ignored. Ignored, "latin-1" left a windows-1252 page to detection, which read £ as Ł on 12 of 584
# corpus pages so relabelled (the other labels Python alone knows, EBCDIC and utf-7 among them, stay ignored)
_SPELLINGS = {"latin-1": "latin1", "latin_1": "latin1", "iso8859_1": "latin1", "latin-9": "iso-8859-15",
              "latin9": "iso-8859-15", "cp874": "windows-874"}


def normalise_label(label: str | None) -> str | None:
    """The Python codec for a charset label as a browser reads it (ISO-8859-1 is windows-1252, Shift_JIS the Windows
    table cp932), or None for a label the WHATWG Encoding Standard does not list. Browsers ignore any other label, and
    Python's own codecs named by one were a page's undoing: EBCDIC (cp037, ibm500, cp1026) read a plain ASCII page as
    control characters and accented letters, unicode_escape read its backslashes as escapes, undefined and punycode
    raised on ordinary bytes."""
    if not label:
        return None
    label = label.strip().strip("'\"")
    label = _SPELLINGS.get(label.lower(), label)
    # labels are ASCII; webencodings' ASCII case folding would raise on a lone surrogate from a header
    encoding = webencodings.lookup(label) if label.isascii() else None
    if encoding is None:
        return None
    return _CODECS.get(encoding.name, encoding.codec_info.name)


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return normalise_label(match.group(1)) if match else None


def sniff_meta_charset(data: bytes) -> str | None:
    head = data[:4096]
    # a UTF-16 page without a BOM is unreadable to a byte regex; look at it with the zeros removed
    if head.count(b"\x00") > len(head) // 4:
        head = head.replace(b"\x00", b"")
    match = _META_CHARSET.search(head)
    label = normalise_label(match.group(1).decode("ascii", "ignore")) if match else None
    # a page served as bytes cannot really be UTF-16 if its meta tag was readable as ASCII
    if label and label.startswith("utf-16") and data[:4096].count(b"\x00") == 0:
        return "utf-8"
    return label


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark at the start of `data` names, if it has one."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    return None


def utf16_without_bom(data: bytes) -> str | None:
    """`utf-16-le` or `utf-16-be` for UTF-16 written without a byte-order mark, told by where its zero bytes fall:
    markup and URLs are ASCII, which UTF-16 writes with a zero byte always on the same side. Read as UTF-8 (NUL is
    valid UTF-8) such a document came out as "<\\x00h\\x00t\\x00m\\x00l"; no other encoding a page uses writes NULs."""
    head = data[:4096]
    units = len(head) // 2
    if units < 4 or bom_encoding(data):
        return None
    even, odd = head[0:units * 2:2].count(0), head[1:units * 2:2].count(0)
    if odd >= units // 4 and even <= odd // 16:
        return "utf-16-le"
    if even >= units // 4 and odd <= even // 16:
        return "utf-16-be"
    return None


def _escaped_iso2022(data: bytes) -> bool:
    # ISO-2022-JP is 7-bit: valid ASCII, hence valid UTF-8, its Japanese spelt as escape sequences ("\x1b$B%K%e")
    return b"\x1b" in data and data.isascii()


def _marked(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) of bytes whose encoding their own bytes say: a byte-order mark, or UTF-16's zero bytes."""
    if name := bom_encoding(data):
        return data.decode(name, errors="replace").lstrip("\ufeff"), name
    if name := utf16_without_bom(data):
        return data.decode(name, errors="replace"), name
    return None


def _undeclared(data: bytes) -> tuple[str, str]:
    """(text, encoding) of bytes nothing declares: UTF-8 when they are (but not 7-bit ISO-2022-JP, which is
    valid UTF-8 too), else detection."""
    if not _escaped_iso2022(data):
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    name = detect(data)
    return data.decode(name, errors="replace"), name


def decode_text(data: bytes) -> str:
    """A plain text document (a URL list): by its byte-order mark (Windows editors write one, UTF-16 included), else
    UTF-16 told by its zero bytes, else UTF-8, else detection."""
    return (_marked(data) or _undeclared(data))[0]


def detect(data: bytes) -> str:
    """The encoding of bytes that declare none and are not valid UTF-8 (callers try UTF-8 first): UTF-8 when they
    are UTF-8 but for a few stray bytes, else as Firefox guesses (chardetng). charset-normalizer, used before, read
    230 of 1,351 legacy re-encodings of the htmldate corpus with more than 20 characters wrong (Portuguese as Baltic
    cp775, Arabic as cp1250), this 11 (bench/charset_detection.py). Callers decode with errors="replace"."""
    from chardetng_py import EncodingDetector

    if _mostly_utf8(data):
        return "utf-8"
    detector = EncodingDetector()
    detector.feed(data[:_DETECT_BYTES], last=True)
    return normalise_label(detector.guess(tld=None, allow_utf8=False)) or SERVER_DEFAULT


def overrules_latin_default(data: bytes) -> str | None:
    """What bytes a server default calls ISO-8859-1 surely are instead, if anything: UTF-8 when they are UTF-8 but
    for a few stray bytes, or their detected encoding when it is one of a script ISO-8859-1 cannot write (Cyrillic,
    Arabic, Greek, Hebrew, Thai, CJK). On legacy re-encodings of the corpora served so, none of 1,504 Latin-script
    copies read worse than by the header, and 32 of 35 in other scripts read exactly instead of 0
    (bench/charset_detection.py)."""
    guess = detect(data)
    return guess if guess == "utf-8" or guess in _OTHER_SCRIPTS else None


def utf8_despite_latin_label(data: bytes) -> bool:
    """Bytes labelled ISO-8859-1 (by a server default, a template's meta tag, a feed's XML declaration) that are
    really UTF-8 with non-ASCII text in them, a few stray bytes allowed. Latin-1 text almost never is that."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return _mostly_utf8(data)
    return True


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 but for a few stray bytes (a CMS pasting one windows-1252 quote into a UTF-8 page, a byte damaged on the
    way): read as UTF-8, with U+FFFD for the strays. chardetng never answers UTF-8 (browsers may not guess it), so
    such an Arabic or Japanese page came out whole as mojibake. Legacy text makes few valid multi-byte sequences:
    of 1,541 legacy re-encodings of the corpora, none but two already double-encoded pages has more than 1.7 valid
    non-ASCII characters per invalid sequence, while a UTF-8 page with a stray byte has hundreds."""
    text = data.decode("utf-8", errors="replace")
    strays = text.count("\ufffd") - data.count("\ufffd".encode())
    return 0 < strays and len(_VALID_NON_ASCII.findall(text)) >= 4 * strays


_VALID_NON_ASCII = re.compile(r"[^\x00-\x7f\ufffd]")


# encodings of scripts ISO-8859-1 cannot write
_OTHER_SCRIPTS = frozenset({"cp1251", "koi8-r", "koi8-u", "iso8859-5", "cp866", "mac-cyrillic", "cp1256", "iso8859-6",
                            "cp1253", "iso8859-7", "cp1255", "iso8859-8", "cp874", "gb18030", "big5hkscs", "cp932",
                            "euc_jp", "iso2022_jp", "cp949"})
_DETECT_BYTES = 20_000_000  # the whole page: a prefix that is all markup and scripts made chardetng guess Big5 for English


# ISO-8859-1 is what servers send when nobody set a charset (old Apache configurations, Java servlet containers), and
# it (read as windows-1252) decodes any bytes, so unlike a wrong UTF-8 label the bytes can never contradict it.
SERVER_DEFAULT = "cp1252"


def decode_html(data: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Text of the page and the encoding used to read it (BOM > HTTP header > meta > detection; UTF-16 without a BOM
    told by its zero bytes, ISO-2022-JP, which is 7-bit, by detection unless declared).

    ISO-8859-1 (or windows-1252, US-ASCII), said by the server or by a meta tag a template carried over, gives way to
    bytes that are UTF-8 with non-ASCII text in them, a few stray bytes allowed (Latin-1 text almost never is
    that: _mostly_utf8). Said by the server, it
    also gives way to a different charset the page declares in its meta tag, and, on a page that declares none, to
    a detected encoding of another script (Cyrillic, Arabic, Greek, Hebrew, Thai, CJK). Read by that default, a UTF-8
    or windows-1251 page would be stored as mojibake ("Ã©", "Ìîñò")."""
    if marked := _marked(data):  # UTF-16's zero bytes too, whatever its meta tag says: "utf-16" assumes an order
        return marked
    declared, meta = charset_from_content_type(content_type), sniff_meta_charset(data)
    candidates = [declared, meta]
    if (declared or meta) == SERVER_DEFAULT and (not data.isascii() or _escaped_iso2022(data)):
        # said by a meta tag too: the template's leftover, on a page edited since
        if utf8_despite_latin_label(data):
            return data.decode("utf-8", errors="replace"), "utf-8"
        if declared and meta and meta != declared:
            candidates = [meta, declared]
        elif declared and not meta and (guess := overrules_latin_default(data)):
            return data.decode(guess, errors="replace"), guess
    if (declared or meta) not in (None, "utf-8") and not data.isascii() and not _escaped_iso2022(data):
        # another legacy label over bytes that are UTF-8 throughout (a server configured for windows-1256 or
        # KOI8-R in front of a CMS that writes UTF-8): single-byte codecs decode any bytes, so the page was stored
        # as mojibake ("ط§ظ„ط­ظƒظˆظ…ط©") that passed validation. Text in a legacy encoding is almost never valid UTF-8:
        # its letters are lead bytes followed by letters, not by continuation bytes (no corpus page changed).
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    for name in candidates:
        if not name:
            continue
        try:
            return data.decode(name), name
        except (UnicodeDecodeError, LookupError):
            continue  # a declared charset the bytes contradict: fall through to detection
    return _undeclared(data)


# half of a UTF-16 pair: JSON and YAML escapes can spell one, and Python keeps undecodable bytes as one
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def without_lone_surrogates(text: str) -> str:
    """`text` with each lone UTF-16 surrogate replaced by U+FFFD. JSON allows them ("\\ud83d" of an emoji cut in
    half by a CMS, a JSON-LD headline or date): json.loads keeps them, and no UTF-8 encoder (Parquet, the WARC
    writer, DuckDB) takes them. A pair written as two halves is joined."""
    if not LONE_SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def header_text(value: str | None) -> str | None:
    """An HTTP header value as text that can be stored. aiohttp keeps bytes that are not UTF-8 (an ETag or a
    charset written in ISO-8859-1, binary junk) as lone surrogates, which made the WARC write and the ledger fail;
    such a value is read as ISO-8859-1, the charset headers had before UTF-8."""
    if value is None or not LONE_SURROGATE.search(value):
        return value
    try:
        return value.encode("utf-8", "surrogateescape").decode("latin-1")
    except UnicodeEncodeError:  # a surrogate that stands for no byte: not from the wire, so no bytes to recover
        return without_lone_surrogates(value)
