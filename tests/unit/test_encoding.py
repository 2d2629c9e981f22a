"""How page bytes become text when the server's charset is a default rather than the page's (newsflow.encoding)."""

from __future__ import annotations

import re

import pytest

from newsflow.encoding import decode_html

RU_1251 = ("<html><head><meta http-equiv='Content-Type' content='text/html; charset=windows-1251'>"
           "<title>Мост через Ушайку открыли после ремонта</title></head><body><p>В Томске открыли мост.</p></body></html>")
AR_NO_META = "<html><head><title>افتتاح محطة تحلية جديدة في صور</title></head><body><p>افتتح الوزير المحطة.</p></body></html>"
FR_META_UTF8 = "<html><head><meta charset='utf-8'><title>Fête de la musique à Besançon</title></head><body></body></html>"


def _title(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html).group(1)


@pytest.mark.parametrize("header", ["text/html; charset=iso-8859-1", "text/html; charset=ISO-8859-1",
                                    "text/html; charset=us-ascii", "text/html; charset=windows-1252"])
@pytest.mark.parametrize("page", [AR_NO_META, FR_META_UTF8.replace("<meta charset='utf-8'>", "")], ids=["arabic", "french"])
def test_a_latin_default_header_gives_way_to_valid_utf8(header, page):
    # French UTF-8 is the common case: every byte of "é" (C3 A9) is defined in windows-1252, so nothing failed and
    # the page was stored as "FÃªte de la musique Ã  BesanÃ§on"
    html, used = decode_html(page.encode("utf-8"), header)
    assert (used, _title(html)) == ("utf-8", _title(page))


def test_a_latin_default_header_gives_way_to_the_pages_meta_charset():
    html, used = decode_html(RU_1251.encode("cp1251"), "text/html; charset=iso-8859-1")
    assert (used, _title(html)) == ("cp1251", "Мост через Ушайку открыли после ремонта")


def test_a_real_latin1_page_is_still_read_as_latin1():
    # a wrong meta (utf-8) that the bytes contradict: the header's Latin-1 stands
    html, used = decode_html(FR_META_UTF8.encode("cp1252"), "text/html; charset=iso-8859-1")
    assert (used, _title(html)) == ("cp1252", "Fête de la musique à Besançon")
    # no meta at all
    page = FR_META_UTF8.replace("<meta charset='utf-8'>", "").encode("cp1252")
    assert decode_html(page, "text/html; charset=windows-1252") == (page.decode("cp1252"), "cp1252")


def test_an_ascii_page_keeps_the_declared_charset():
    page = b"<html><head><title>Plain</title></head></html>"
    assert decode_html(page, "text/html; charset=iso-8859-1") == (page.decode("ascii"), "cp1252")


def test_other_declared_charsets_still_win_over_the_meta_tag():
    # only the Latin default is doubted: a server that names another charset is believed, as browsers do
    _html, used = decode_html(RU_1251.encode("cp1251"), "text/html; charset=koi8-r")
    assert used == "koi8-r"


def test_a_bom_beats_everything():
    html, used = decode_html("\ufeff".encode() + AR_NO_META.encode("utf-8"), "text/html; charset=iso-8859-1")
    assert used == "utf-8" and _title(html) == "افتتاح محطة تحلية جديدة في صور"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom", "cp1256"])
def test_plain_text_documents_by_bom_then_utf8_then_detection(encoding):
    from newsflow.encoding import decode_text

    # a curated list with its headlines as comments: enough text for detection to tell windows-1256 (a few
    # percent-encoded-looking slugs alone are not: detection is a guess on little text)
    text = ("# أقرت الحكومة اليوم موازنة جديدة للعام المقبل بعد نقاش طويل في مجلس الوزراء\n"
            "https://alhadath.example/2024/03/14/budget\n"
            "# افتتاح محطة تحلية جديدة في صور بقدرة عشرين ألف متر مكعب يوميا\n"
            "https://alhadath.example/2024/03/14/محطة-تحلية\n")
    data = ("\ufeff" + text).encode("utf-16-le") if encoding == "utf-16-le-bom" else text.encode(encoding)
    assert decode_text(data) == text


@pytest.mark.parametrize(
    ("header", "meta"),
    [
        ("text/html; charset=undefined", None),  # raised UnicodeError out of decode_html
        ("text/html; charset=punycode", None),
        (None, "unicode_escape"),  # read the page's own backslashes as escapes: "\x41" became "A"
        ("text/html; charset=utf-7", "utf-7"),  # an ASCII page read as UTF-7 turned "+AGEAYgBj-" into "abc"
    ],
)
@pytest.mark.parametrize("story", ["الحدث - وكالات", "AFP"])
def test_python_only_codecs_named_by_a_page_or_server_are_ignored(header, meta, story):
    """Only encodings a browser reads pages in count: a label naming one of Python's other codecs is no label."""
    head = f'<meta charset="{meta}">' if meta else ""
    page = f"<html><head>{head}</head><body><p>{story}: C:\\x41\\u0042 +AGEAYgBj-</p></body></html>"
    text, _encoding = decode_html(page.encode("utf-8"), header)
    assert f"{story}: C:\\x41\\u0042 +AGEAYgBj-" in text


UNDECLARED = {
    "arabic": ("cp1256", "<p>الحدث - وكالات: افتتح وزير الطاقة يوم الاثنين محطة تحلية جديدة في مدينة صور.</p>"),
    "russian-1251": ("cp1251", "<p>В Томске после ремонта открыли мост через Ушайку, сообщили в мэрии.</p>"),
    "russian-koi8": ("koi8-r", "<p>В Томске после ремонта открыли мост через Ушайку, сообщили в мэрии.</p>"),
    "japanese-sjis": ("cp932", "<p>東京都議会は十四日、新しい防災計画を可決した。①避難所の増設②備蓄の拡充。</p>"),
    "japanese-euc": ("euc-jp", "<p>東京都議会は十四日、新しい防災計画を可決した。</p>"),
    "chinese-gbk": ("gb18030", "<p>市政府周一宣布，新的地铁线路将于明年春季开通。</p>"),
    "korean": ("euc-kr", "<p>서울시는 월요일 새로운 지하철 노선이 내년 봄에 개통된다고 발표했다.</p>"),
    "greek": ("iso-8859-7", "<p>Η κυβέρνηση ανακοίνωσε τη Δευτέρα νέο πρόγραμμα για τα νησιά.</p>"),
    "portuguese": ("cp1252", "<p>A votação na câmara municipal foi adiada após a sessão de terça-feira.</p>"),
    "polish": ("cp1250", "<p>Rada miasta przełożyła głosowanie nad budżetem na przyszły tydzień.</p>"),
}


@pytest.mark.parametrize("header", [None, "text/html; charset=utf-8"], ids=["no-charset", "utf8-header-wrong"])
@pytest.mark.parametrize("case", sorted(UNDECLARED))
def test_a_legacy_page_that_declares_no_charset_is_read_as_a_browser_reads_it(case, header):
    """No usable declaration (none, or a UTF-8 header the bytes contradict): charset-normalizer, used before, read
    Portuguese as the Baltic DOS code page cp775 and Arabic as cp1250 (bench/charset_detection.py)."""
    encoding, paragraph = UNDECLARED[case]
    page = f"<html><head><title>news</title></head><body>{paragraph}</body></html>"
    text, _used = decode_html(page.encode(encoding), header)
    assert paragraph in text


@pytest.mark.parametrize(("label", "text"), [
    ("windows-874", "<p>กรุงเทพมหานครประกาศ</p>"),  # the Thai label pages use, unknown to Python by that name
    ("x-mac-cyrillic", "<p>Новости дня</p>"),
    ("shift_jis", "<p>①避難所の増設</p>"),  # NEC characters: only the Windows table (cp932) has them
    ("big5", "<p>市政府宣布新計劃</p>"),
])
def test_web_labels_python_names_otherwise(label, text):
    codec = {"windows-874": "cp874", "x-mac-cyrillic": "mac-cyrillic", "shift_jis": "cp932", "big5": "big5"}[label]
    page = f"<html><head><meta charset='{label}'></head><body>{text}</body></html>"
    decoded, used = decode_html(page.encode(codec), None)
    assert text in decoded and used == {"big5": "big5hkscs"}.get(label, codec)


@pytest.mark.parametrize("case", ["arabic", "russian-1251", "russian-koi8", "greek", "japanese-sjis", "korean"])
def test_a_server_default_latin1_header_gives_way_to_a_page_in_another_script(case):
    """ISO-8859-1 is what a server says when nobody set a charset; an Arabic or Cyrillic page without a meta tag
    behind one was stored as mojibake ("ÇáÍÏË")."""
    encoding, paragraph = UNDECLARED[case]
    page = f"<html><head><title>news</title></head><body>{paragraph}</body></html>"
    text, _used = decode_html(page.encode(encoding), "text/html; charset=ISO-8859-1")
    assert paragraph in text


@pytest.mark.parametrize("case", ["portuguese", "polish"])
def test_a_latin_page_behind_the_same_header_is_read_by_the_header(case):
    encoding, paragraph = UNDECLARED[case]
    data = f"<html><body>{paragraph}</body></html>".encode(encoding)
    assert decode_html(data, "text/html; charset=ISO-8859-1") == (data.decode("cp1252"), "cp1252")


LATIN1_META = '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'


@pytest.mark.parametrize("text", ["Fête de la musique à Besançon", "Straßenfest in Köln", "الحدث - وكالات"])
def test_a_utf8_page_whose_template_still_says_latin1_is_read_as_utf8(text):
    """A site moved to UTF-8 with its old meta tag kept (Dreamweaver wrote this one into countless templates): read by
    the tag, every accented letter became two ("FÃªte"). 959 of 959 such corpus pages now read exactly."""
    page = f"<html><head>{LATIN1_META}<title>{text}</title></head><body><p>{text}</p></body></html>"
    decoded, used = decode_html(page.encode("utf-8"), None)
    assert (decoded, used) == (page, "utf-8")


def test_a_utf8_page_with_a_stray_byte_and_that_meta_tag_is_read_as_utf8():
    page = f"<html><head>{LATIN1_META}<title>الحدث - وكالات</title></head><body><p>الحدث - وكالات</p></body></html>"
    data = page.encode()
    at = data.index(b"<p>") + 3
    assert decode_html(data[:at] + b"\x92" + data[at:], None) == (page.replace("<p>", "<p>\ufffd"), "utf-8")


def test_a_latin1_page_with_that_meta_tag_is_still_read_as_latin1():
    page = f"<html><head>{LATIN1_META}<title>Fête à Besançon</title></head><body><p>Straßenfest</p></body></html>"
    assert decode_html(page.encode("cp1252"), None) == (page, "cp1252")


@pytest.mark.parametrize("case", ["arabic", "russian-1251", "japanese-sjis", "chinese-gbk", "korean", "portuguese"])
@pytest.mark.parametrize("header", [None, "text/html; charset=utf-8", "text/html; charset=ISO-8859-1"],
                         ids=["no-charset", "utf8-header", "server-default-header"])
def test_a_utf8_page_with_a_stray_byte_is_read_as_utf8(case, header):
    """One windows-1252 quote pasted into a UTF-8 page made the bytes invalid UTF-8; detection (chardetng never
    answers UTF-8) then read the whole Arabic or Japanese page as windows-1252 mojibake."""
    _encoding, paragraph = UNDECLARED[case]
    data = f"<html><head><title>news</title></head><body>{paragraph}</body></html>".encode()
    at = data.index(b"<p>") + 3
    text, used = decode_html(data[:at] + b"\x92" + data[at:], header)
    assert used == "utf-8" and paragraph.replace("<p>", "<p>\ufffd") in text


def test_legacy_text_is_not_taken_for_utf8_with_strays():
    for encoding, paragraph in UNDECLARED.values():
        data = f"<html><body>{paragraph * 3}</body></html>".encode(encoding)
        assert paragraph * 3 in decode_html(data, None)[0], encoding


JA_PAGE = ("<html><head><title>東京で新しい美術館が開館</title></head>"
           "<body><p>東京都内に新しい美術館が開館し、初日から多くの来館者が訪れた。</p></body></html>")


@pytest.mark.parametrize("order", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("page", [AR_NO_META, JA_PAGE, RU_1251.replace("windows-1251", "utf-16")],
                         ids=["arabic", "japanese", "russian-meta-utf16"])
def test_utf16_without_a_bom_is_told_by_its_zero_bytes(page, order):
    """Read as UTF-8 (NUL is valid UTF-8) such a page was "<\x00h\x00t\x00m\x00l"; by its meta tag's "utf-16", a
    big-endian page came out as CJK noise ("㰀栀琀洀氀")."""
    html, used = decode_html(page.encode(order), "text/html")
    assert (used, html) == (order, page)


def test_a_page_without_zero_bytes_is_not_taken_for_utf16():
    from newsflow.encoding import utf16_without_bom

    assert utf16_without_bom(JA_PAGE.encode("utf-8")) is None
    assert utf16_without_bom(RU_1251.encode("cp1251")) is None
    assert utf16_without_bom(b"\x00\x01") is None


@pytest.mark.parametrize("header", [None, "text/html"])
def test_iso_2022_jp_is_7_bit_and_still_detected(header):
    """ISO-2022-JP is valid ASCII, hence valid UTF-8: read so, the Japanese was escape sequences ("\x1b$B%K%e")."""
    html, used = decode_html(JA_PAGE.encode("iso2022_jp"), header)
    assert (used, html) == ("iso2022_jp", JA_PAGE)


def test_a_declared_charset_still_wins_over_7_bit_detection():
    page = JA_PAGE.replace("<head>", "<head><meta charset='iso-2022-jp'>")
    assert decode_html(page.encode("iso2022_jp"), "text/html") == (page, "iso2022_jp")
    ascii_page = "<html><body><p>An ASCII page with a stray \x1b escape byte.</p></body></html>"
    assert decode_html(ascii_page.encode(), "text/html; charset=utf-8") == (ascii_page, "utf-8")


@pytest.mark.parametrize("order", ["utf-16-le", "utf-16-be"])
def test_a_url_list_in_utf16_without_a_bom(order):
    from newsflow.encoding import decode_text

    text = "https://alhadath.example/2024/03/14/محطة-تحلية\nhttps://alhadath.example/2024/03/14/budget\n"
    assert decode_text(text.encode(order)) == text


@pytest.mark.parametrize("label", ["windows-1256", "iso-8859-6", "koi8-r", "windows-1251", "gbk", "shift_jis"])
@pytest.mark.parametrize("where", ["header", "meta"])
def test_a_legacy_label_over_bytes_that_are_utf8_throughout_is_read_as_utf8(label, where):
    """Single-byte codecs (and GB18030's) decode UTF-8 bytes without an error: the page was stored as mojibake
    ("ط§ظ„ط­ظƒظˆظ…ط©") and passed validation."""
    page = AR_NO_META if where == "header" else AR_NO_META.replace("<head>", f"<head><meta charset='{label}'>")
    html, used = decode_html(page.encode("utf-8"), f"text/html; charset={label}" if where == "header" else "text/html")
    assert (used, _title(html)) == ("utf-8", "افتتاح محطة تحلية جديدة في صور")


@pytest.mark.parametrize(("label", "page"), [("windows-1256", AR_NO_META), ("koi8-r", RU_1251), ("cp1251", RU_1251)])
def test_a_legacy_page_that_says_what_it_is_is_still_read_so(label, page):
    html, _used = decode_html(page.encode(label), f"text/html; charset={label}")
    assert _title(html) == _title(page)
