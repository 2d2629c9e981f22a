"""Publication dates: parsing datelines in many scripts, gathering candidates from pages, choosing one."""

import gzip
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from newsflow.dates import (
    DISAGREEMENT_SOURCES,
    PRIORITY,
    DateCandidate,
    DateResult,
    choose_publication_date,
    find_datelines,
    gather_candidates,
    parse_date_text,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dates"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "article-extraction-benchmark"
FETCHED = datetime(2018, 6, 1, 12, 0, tzinfo=UTC)
FETCHED_LATE = datetime(2021, 1, 1, tzinfo=UTC)


def tzo(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


def naive(*args: int) -> datetime:
    return datetime(*args)


# ---------------------------------------------------------------------------------------------------------
# parse_date_text

PARSES = [
    # Arabic, Egyptian/Gulf month names, 12-hour markers
    ("الاثنين 21 مايو 2018 12:23 مساءً", "ar", naive(2018, 5, 21, 12, 23), True),
    ("الاثنين 21 مايو 2018 01:15 مساءً", "ar", naive(2018, 5, 21, 13, 15), True),
    # Hindi's formal p.m./a.m. words, after the time or before it (the time was read as a morning one)
    ("अपडेटेड: 1 दिसंबर 2024, 3:20 अपराह्न", "hi", naive(2024, 12, 1, 15, 20), True),
    ("1 दिसंबर 2024 अपराह्न 3:20", "hi", naive(2024, 12, 1, 15, 20), True),
    ("1 दिसंबर 2024, 12:05 पूर्वाह्न", "hi", naive(2024, 12, 1, 0, 5), True),
    ("الاثنين 21 مايو 2018 12:05 صباحاً", "ar", naive(2018, 5, 21, 0, 5), True),
    ("21 مايو 2018 09:40 ص", "ar", naive(2018, 5, 21, 9, 40), True),
    ("21 مايو 2018 09:40 م", "ar", naive(2018, 5, 21, 21, 40), True),
    ("21 مايو 2018 09:40 مساء", "ar", naive(2018, 5, 21, 21, 40), True),
    ("21 مايو 2018 09:40 صباحا", "ar", naive(2018, 5, 21, 9, 40), True),
    ("21 يونية 2018", "ar", naive(2018, 6, 21), False),
    ("21 يوليو 2018", "ar", naive(2018, 7, 21), False),
    ("21 ابريل 2018", "ar", naive(2018, 4, 21), False),
    ("21 أبريل 2018", "ar", naive(2018, 4, 21), False),
    ("21 اغسطس 2018", "ar", naive(2018, 8, 21), False),
    ("21 أكتوبر 2018", "ar", naive(2018, 10, 21), False),
    ("21 يناير 2018", "ar", naive(2018, 1, 21), False),
    ("21 ديسمبر 2018", "ar", naive(2018, 12, 21), False),
    # lunar Hijri months, converted with the Umm al-Qura calendar: 6 Ramadan 1439 = 21 May 2018
    ("الاثنين 6 رمضان 1439 هـ", "ar", naive(2018, 5, 21), False),
    ("٦ رمضان ١٤٣٩هـ ١٢:٢٣ م", "ar", naive(2018, 5, 21, 12, 23), True),
    ("1 محرّم 1446", "ar", naive(2024, 7, 7), False),
    ("15 ربيع الأول 1445", "ar", naive(2023, 9, 30), False),
    ("10 ذو الحجة 1444", "ar", naive(2023, 6, 28), False),
    ("۱۰ ذی‌الحجه ۱۴۴۴", "fa", naive(2023, 6, 28), False),
    # Arabic-Indic and Persian digits
    ("٢١ أيار ٢٠١٨", "ar", naive(2018, 5, 21), False),
    ("۲۱ مايو ۲۰۱۸ ۱۲:۲۳", None, naive(2018, 5, 21, 12, 23), True),
    ("٢١ مايو ٢٠١٨ ٠١:١٥ مساءً", "ar", naive(2018, 5, 21, 13, 15), True),
    # Levantine/Iraqi names: the two-word names must win over single words
    ("21 كانون الثاني 2018", "ar", naive(2018, 1, 21), False),
    ("21 شباط 2018", "ar", naive(2018, 2, 21), False),
    ("21 آذار 2018", "ar", naive(2018, 3, 21), False),
    ("21 اذار 2018", "ar", naive(2018, 3, 21), False),
    ("21 نيسان 2018", "ar", naive(2018, 4, 21), False),
    ("21 أيار 2018", "ar", naive(2018, 5, 21), False),
    ("21 ايار 2018", "ar", naive(2018, 5, 21), False),
    ("21 حزيران 2018", "ar", naive(2018, 6, 21), False),
    ("21 تموز 2018", "ar", naive(2018, 7, 21), False),
    ("21 آب 2018", "ar", naive(2018, 8, 21), False),
    ("21 اب 2018", "ar", naive(2018, 8, 21), False),
    ("21 أيلول 2018", "ar", naive(2018, 9, 21), False),
    ("21 تشرين الأول 2018", "ar", naive(2018, 10, 21), False),
    ("21 تشرين الثاني 2018", "ar", naive(2018, 11, 21), False),
    ("21 كانون الأول 2018", "ar", naive(2018, 12, 21), False),
    ("21 أيار/مايو 2018", "ar", naive(2018, 5, 21), False),
    # Maghrebi names
    ("21 جانفي 2018", "ar", naive(2018, 1, 21), False),
    ("21 فيفري 2018", "ar", naive(2018, 2, 21), False),
    ("21 أفريل 2018", "ar", naive(2018, 4, 21), False),
    ("21 ماي 2018", "ar", naive(2018, 5, 21), False),
    ("21 جوان 2018", "ar", naive(2018, 6, 21), False),
    ("21 جويلية 2018", "ar", naive(2018, 7, 21), False),
    ("21 أوت 2018", "ar", naive(2018, 8, 21), False),
    # the Arabic comma where Latin script writes a comma (WordPress's Arabic date format "j F، Y")
    ("1 يونيو، 2024", "ar", naive(2024, 6, 1), False),
    ("يونيو 1، 2024", None, naive(2024, 6, 1), False),
    ("السبت، ١ يونيو، ٢٠٢٤ - ١٠:٣٠ ص", "ar", naive(2024, 6, 1, 10, 30), True),
    # Hijri marker and Hijri date beside the Gregorian one
    ("الاثنين 6 رمضان 1439 هـ - 21 مايو 2018 م 12:23", "ar", naive(2018, 5, 21, 12, 23), True),
    ("21 مايو 2018م", "ar", naive(2018, 5, 21), False),
    # numeric, day-first outside US English
    ("2018/05/21", "ar", naive(2018, 5, 21), False),
    ("21/05/2018", "ar", naive(2018, 5, 21), False),
    ("21/05/2018 12:23", None, naive(2018, 5, 21, 12, 23), True),
    ("05/06/2018", "fr", naive(2018, 6, 5), False),
    ("05/06/2018", None, naive(2018, 6, 5), False),
    ("05/06/2018", "en", naive(2018, 5, 6), False),
    ("05/21/2018", "en-GB", naive(2018, 5, 21), False),
    ("11.14.2019 09:00 AM", "en", naive(2019, 11, 14, 9, 0), True),
    ("21/05/2018", "en", naive(2018, 5, 21), False),
    # a full-width colon right after a label, as Chinese and Japanese pages write it
    ("发布时间：2024-12-01 15:20:33", "zh", naive(2024, 12, 1, 15, 20, 33), True),
    ("日期：01/12/2024", None, naive(2024, 12, 1), False),
    # Persian Solar Hijri
    ("دوشنبه ۳۱ اردیبهشت ۱۳۹۷ - ۱۲:۲۳", "fa", naive(2018, 5, 21, 12, 23), True),
    ("دوشنبه ۳۱ اردیبهشت ۱۳۹۷ - ۱۲:۲۳", None, naive(2018, 5, 21, 12, 23), True),
    ("۱ فروردین ۱۳۹۷", "fa", naive(2018, 3, 21), False),
    ("۳۰ اسفند ۱۳۹۵", "fa", naive(2017, 3, 20), False),
    ("۱۰ دی ۱۳۹۶", "fa", naive(2017, 12, 31), False),
    ("۱۳۹۷/۰۲/۳۱", None, naive(2018, 5, 21), False),
    ("1397/02/31", "fa", naive(2018, 5, 21), False),
    # the word "month" after the name: joined, spaced, or joined by a ZWNJ
    ("سه‌شنبه ۱۵ خردادماه ۱۴۰۳ - ۱۲:۳۰", "fa", naive(2024, 6, 4, 12, 30), True),
    ("۱۵ آذر ماه ۱۴۰۳", None, naive(2024, 12, 5), False),
    ("۱۰ دی\u200cماه ۱۴۰۳", "fa", naive(2024, 12, 30), False),
    ("۱۳۹۷/۰۲/۳۱ ساعت ۱۲:۲۳", None, naive(2018, 5, 21, 12, 23), True),
    # Persian pages with Gregorian month names
    ("۲۱ مه ۲۰۱۸", "fa", naive(2018, 5, 21), False),
    ("۲۱ ژانویه ۲۰۱۸", "fa", naive(2018, 1, 21), False),
    ("۲۱ ژوئیه ۲۰۱۸", "fa", naive(2018, 7, 21), False),
    ("۲۱ اکتبر ۲۰۱۸", "fa", naive(2018, 10, 21), False),
    ("۲۱ دسامبر ۲۰۱۸", "fa", naive(2018, 12, 21), False),
    # Russian / Ukrainian
    ("21 мая 2018, 12:23", "ru", naive(2018, 5, 21, 12, 23), True),
    ("21 мая 2018 г.", "ru", naive(2018, 5, 21), False),
    ("21 мая 2018 года в 12:23", "ru", naive(2018, 5, 21, 12, 23), True),
    ("Опубликовано: 21.05.2018 12:23", "ru", naive(2018, 5, 21, 12, 23), True),
    ("21 май 2018", "ru", naive(2018, 5, 21), False),
    ("3 декабря 2018", "ru", naive(2018, 12, 3), False),
    ("21 травня 2018 о 12:23", "uk", naive(2018, 5, 21, 12, 23), True),
    ("21 листопада 2018", "uk", naive(2018, 11, 21), False),
    ("21.05.2018 12:23 (МСК)", "ru", datetime(2018, 5, 21, 12, 23, tzinfo=tzo(3)), True),
    # Chinese / Japanese / Korean
    ("2018年05月21日 12:23", "zh", naive(2018, 5, 21, 12, 23), True),
    ("2018年5月21日", "zh", naive(2018, 5, 21), False),
    ("2018-05-21 12:23 来源：新华社", "zh", naive(2018, 5, 21, 12, 23), True),
    ("2018年5月21日 下午1:23", "zh", naive(2018, 5, 21, 13, 23), True),
    ("2018年5月21日(月) 12時23分", "ja", naive(2018, 5, 21, 12, 23), True),
    ("2018년 5월 21일 12:23", "ko", naive(2018, 5, 21, 12, 23), True),
    ("2018년 5월 21일 오후 1:23", "ko", naive(2018, 5, 21, 13, 23), True),
    ("2018.05.21 12:23", "ko", naive(2018, 5, 21, 12, 23), True),
    ("2018. 5. 21. 오전 12:05", "ko", naive(2018, 5, 21, 0, 5), True),
    # English
    ("May 21, 2018 12:23 PM", "en", naive(2018, 5, 21, 12, 23), True),
    ("May 21, 2018 1:15 PM", "en", naive(2018, 5, 21, 13, 15), True),
    ("May 21, 2018 12:05 am", "en", naive(2018, 5, 21, 0, 5), True),
    ("21 May 2018", "en", naive(2018, 5, 21), False),
    ("21st May 2018", "en", naive(2018, 5, 21), False),
    ("Monday, May 21, 2018 at 12:23 p.m. EDT", "en", datetime(2018, 5, 21, 12, 23, tzinfo=tzo(-4)), True),
    # a dot between hour and minute only with a zone after it (the Guardian's "18 Nov 2019 18.54 GMT")
    ("Mon 21 May 2018 14.05 BST", "en", datetime(2018, 5, 21, 14, 5, tzinfo=tzo(1)), True),
    ("21 May 2018 14.05", "en", naive(2018, 5, 21), False),
    # Japanese era and Taiwan's Minguo years; Latvian year-first; Polish and Slovak "o" before the time
    ("令和6年3月14日", "ja", naive(2024, 3, 14), False),
    ("令和元年5月1日", "ja", naive(2019, 5, 1), False),
    ("平成30年5月21日 12時23分", "ja", naive(2018, 5, 21, 12, 23), True),
    ("民國113年3月14日", "zh", naive(2024, 3, 14), False),
    ("2024. gada 14. martā", "lv", naive(2024, 3, 14), False),
    ("14 marca 2024 o godz. 10:32", "pl", naive(2024, 3, 14, 10, 32), True),
    ("14. marca 2024 o 10:32", "sk", naive(2024, 3, 14, 10, 32), True),
    ("21 May 2018 14:05 BST", "en", datetime(2018, 5, 21, 14, 5, tzinfo=tzo(1)), True),
    ("Jan. 5, 2019 9:05 a.m. PST", "en", datetime(2019, 1, 5, 9, 5, tzinfo=tzo(-8)), True),
    ("21-May-2018", "en", naive(2018, 5, 21), False),
    ("Sept 3, 2018", "en", naive(2018, 9, 3), False),
    # Other European languages and Indonesian
    ("21. Mai 2018", "de", naive(2018, 5, 21), False),
    ("21. Mai 2018, 12:23 Uhr", "de", naive(2018, 5, 21, 12, 23), True),
    ("21 mai 2018 à 12h23", "fr", naive(2018, 5, 21, 12, 23), True),
    ("1er mai 2018", "fr", naive(2018, 5, 1), False),
    ("21 de mayo de 2018", "es", naive(2018, 5, 21), False),
    ("21 de mayo de 2018 a las 12:23", "es", naive(2018, 5, 21, 12, 23), True),
    ("21 de maio de 2018", "pt", naive(2018, 5, 21), False),
    ("21 de maio de 2018 às 12h23", "pt", naive(2018, 5, 21, 12, 23), True),
    ("21 maggio 2018", "it", naive(2018, 5, 21), False),
    ("21 Mayıs 2018", "tr", naive(2018, 5, 21), False),
    ("21 Mayıs 2018 Pazartesi 12:23", "tr", naive(2018, 5, 21, 12, 23), True),
    ("21 Mei 2018", "id", naive(2018, 5, 21), False),
    ("Senin, 21 Mei 2018 pukul 12.23 WIB", "id", datetime(2018, 5, 21, 12, 23, tzinfo=tzo(7)), True),
    ("21 maja 2018", "pl", naive(2018, 5, 21), False),
    ("21 Μαΐου 2018", "el", naive(2018, 5, 21), False),
    ("21 मई 2018", "hi", naive(2018, 5, 21), False),
    ("ngày 21 tháng 5 năm 2018", "vi", naive(2018, 5, 21), False),
    # Machine formats: ISO 8601 and RFC 822
    ("2018-05-21", None, naive(2018, 5, 21), False),
    ("2018-05-21T12:23:00", None, naive(2018, 5, 21, 12, 23), True),
    ("2018-05-21T12:23:00Z", None, datetime(2018, 5, 21, 12, 23, tzinfo=UTC), True),
    ("2018-05-21T12:23:00+03:00", None, datetime(2018, 5, 21, 12, 23, tzinfo=tzo(3)), True),
    ("2018-05-21T12:23:00.000+0300", None, datetime(2018, 5, 21, 12, 23, tzinfo=tzo(3)), True),
    ("2018-05-21 12:23", None, naive(2018, 5, 21, 12, 23), True),
    ("Mon, 21 May 2018 12:23:00 +0300", None, datetime(2018, 5, 21, 12, 23, tzinfo=tzo(3)), True),
    ("Mon, 21 May 2018 12:23:00 GMT", None, datetime(2018, 5, 21, 12, 23, tzinfo=UTC), True),
    ("Mon, 21 May 2018 12:23:00 -0500", None, datetime(2018, 5, 21, 12, 23, tzinfo=tzo(-5)), True),
    ("21 May 2018 12:23:45 EST", None, datetime(2018, 5, 21, 12, 23, 45, tzinfo=tzo(-5)), True),
    ("21/05/2018 12:23 GMT+3", None, datetime(2018, 5, 21, 12, 23, tzinfo=tzo(3)), True),
    # two-digit hours after a zone name (Sydney, Auckland, Samoa): read as +1 and a stray digit before
    ("21 May 2018 08:15 (GMT+10:00)", None, datetime(2018, 5, 21, 8, 15, tzinfo=tzo(10)), True),
    ("21/05/2018 12:23 UTC+13", None, datetime(2018, 5, 21, 12, 23, tzinfo=tzo(13)), True),
    ("21/05/2018 12:23 GMT-11", None, datetime(2018, 5, 21, 12, 23, tzinfo=tzo(-11)), True),
    ("21/05/2018 12:23 GMT+130", None, datetime(2018, 5, 21, 12, 23, tzinfo=tzo(1.5)), True),
    # the widest offsets in use (Kiribati's Line Islands, Baker Island) are offsets; wider ones are no zone
    ("Mon, 21 May 2018 12:23:00 +1400", None, datetime(2018, 5, 21, 12, 23, tzinfo=tzo(14)), True),
    ("21/05/2018 12:23 GMT-14", None, datetime(2018, 5, 21, 12, 23, tzinfo=tzo(-14)), True),
    ("  \u200f21 مايو\u200f 2018  ", "ar", naive(2018, 5, 21), False),
]


@pytest.mark.parametrize(("text", "lang", "expected", "has_time"), PARSES)
def test_parse_date_text(text, lang, expected, has_time):
    result = parse_date_text(text, lang)
    assert result is not None, text
    value, got_has_time = result
    assert value == expected
    assert (value.tzinfo is None) == (expected.tzinfo is None)
    if expected.tzinfo is not None:
        assert value.utcoffset() == expected.utcoffset()
    assert got_has_time is has_time


@pytest.mark.parametrize("text", [
    "Updated 2 hours ago",
    "منذ 3 ساعات",
    "31 February 2018",
    "30 февраля 2018",
    "31/02/2018",
    "2018-02-30",
    "۳۰ اسفند ۱۳۹۶",  # 1396 is not a leap year
    "21 May 1985",
    "21 May 2101",
    "1988-05-21",
    "20180521",
    "2018",
    "12:23",
    "12:23 PM",
    "© 2018",
    "Copyright 2018 Example Media",
    "+7 (495) 123-45-67",
    "+20 2 2345 6789",
    "May 2018",
    "21 May",
    "30 شوال 1439",  # Shawwal 1439 has 29 days in the Umm al-Qura calendar
    "5 رمضان 1620",  # beyond the Umm al-Qura table
    "1439/09/05",
    "2.31.2018",
    "",
    "   ",
])
def test_parse_date_text_rejects(text):
    assert parse_date_text(text, "en") is None
    assert parse_date_text(text, None) is None


def test_parse_date_text_lunar_hijri_numeric_is_not_solar_on_arabic_pages():
    assert parse_date_text("1439/09/05", "ar") is None
    assert parse_date_text("1397/02/31", "fa") == (naive(2018, 5, 21), False)


# ---------------------------------------------------------------------------------------------------------
# find_datelines


def test_find_datelines_returns_all_dates_in_order():
    text = "Home | 3 June 2018 | Published: 21 May 2018 12:23 | Related: 2 June 2018"
    found = find_datelines(text, "en")
    assert [c.value for c in found] == [naive(2018, 6, 3), naive(2018, 5, 21, 12, 23), naive(2018, 6, 2)]
    assert all(c.source == "dateline" for c in found)
    assert found[1].has_time and not found[0].has_time
    assert found[1].raw == "21 May 2018 12:23"


@pytest.mark.parametrize("text", [
    "Updated: 22 May 2018 10:00",
    "Last updated Tuesday, 22 May 2018",
    "آخر تحديث: 22 مايو 2018",
    "Обновлено: 22.05.2018 10:00",
    "Aktualisiert am 22.05.2018",
    "更新时间：2018-05-22 10:00",
])
def test_find_datelines_drops_update_dates(text):
    assert find_datelines(text) == []


def test_find_datelines_keeps_published_next_to_updated():
    found = find_datelines("Published 21 May 2018, updated 22 May 2018 10:00")
    assert [c.value for c in found] == [naive(2018, 5, 21)]


# The update first, then the publication, in languages whose labels the scanner did not know: it took the update
@pytest.mark.parametrize(("lang", "text"), [
    ("pl", "Aktualizacja: 15 marca 2024, 10:00 · Opublikowano: 14 marca 2024, 08:00"),
    ("pl", "Data aktualizacji: 15.03.2024 10:00 Data publikacji: 14.03.2024 08:00"),
    ("nl", "Bijgewerkt: 15 maart 2024 10:00 · Gepubliceerd: 14 maart 2024 08:00"),
    ("cs", "Aktualizováno 15. března 2024 10:00 Publikováno 14. března 2024 8:00"),
    ("sv", "Uppdaterad 15 mars 2024 10:00 Publicerad 14 mars 2024 08:00"),
    ("da", "Opdateret 15. marts 2024 kl. 10.00 Publiceret 14. marts 2024 kl. 08.00"),
    ("no", "Oppdatert 15. mars 2024 10:00 Publisert 14. mars 2024 08:00"),
    ("fi", "Päivitetty 15.3.2024 10:00 Julkaistu 14.3.2024 8:00"),
    ("ro", "Actualizat: 15 martie 2024 10:00 Publicat: 14 martie 2024 08:00"),
    ("hu", "Frissítve: 2024. március 15. 10:00 Közzétéve: 2024. március 14. 8:00"),
    ("hr", "Ažurirano: 15. ožujka 2024. Objavljeno: 14. ožujka 2024."),
    ("bg", "Актуализирано: 15 март 2024 Публикувано: 14 март 2024"),
    ("el", "Ενημερώθηκε: 15 Μαρτίου 2024 10:00 Δημοσιεύθηκε: 14 Μαρτίου 2024 08:00"),
    ("vi", "Cập nhật: 15/03/2024 10:00 Ngày đăng: 14/03/2024 08:00"),
    ("he", "עודכן: 15.03.2024 10:00 פורסם: 14.03.2024 08:00"),
    ("hi", "अपडेटेड: 15 मार्च 2024 10:00 प्रकाशित: 14 मार्च 2024 08:00"),
    ("th", "อัปเดต 15 มี.ค. 2567 10:00 น. เผยแพร่ 14 มี.ค. 2567 08:00 น."),
    # session 16's languages
    ("be", "Абноўлена: 15 сакавіка 2024 Апублікавана: 14 сакавіка 2024"),
    ("is", "Uppfært 15. mars 2024 Birt 14. mars 2024"),
    ("sq", "Përditësuar: 15 mars 2024 Publikuar: 14 mars 2024"),
    ("mk", "Ажурирано: 15 март 2024 Објавено: 14 март 2024"),
    ("cy", "Diweddarwyd 15 Mawrth 2024 Cyhoeddwyd 14 Mawrth 2024"),
    ("ka", "განახლდა: 15 მარტი 2024 გამოქვეყნდა: 14 მარტი 2024"),
    ("az", "Yenilənib: 15 mart 2024 Dərc edilib: 14 mart 2024"),
    ("sw", "Imesasishwa: 15 Machi 2024 Imechapishwa: 14 Machi 2024"),
])
def test_an_update_label_in_more_languages_drops_its_date(lang, text):
    assert [c.value.date() for c in find_datelines(text, lang)] == [date(2024, 3, 14)]


def test_find_datelines_ignores_relative_and_bare_years():
    assert find_datelines("Updated 2 hours ago. © 2018 Example. Call +1 212 555 0199 at 12:23.") == []


def test_find_datelines_respects_max_chars():
    text = "x" * 5000 + " 21 May 2018"
    assert find_datelines(text) == []
    assert [c.value for c in find_datelines(text, max_chars=6000)] == [naive(2018, 5, 21)]


def test_find_datelines_raw_keeps_original_digits():
    (cand,) = find_datelines("نشر في ‏٢١ مايو ٢٠١٨ ٠١:١٥ مساءً")
    assert cand.value == naive(2018, 5, 21, 13, 15)
    assert cand.raw == "٢١ مايو ٢٠١٨ ٠١:١٥ مساءً"


def test_find_datelines_time_before_date():
    (cand,) = find_datelines("01:15 مساءً الاثنين 21 مايو 2018")
    assert cand.value == naive(2018, 5, 21, 13, 15) and cand.has_time


# Datelines in languages whose month names (or date order, or calendar) the scanner did not know: each used to give
# no candidate at all, so a page without metadata was rejected as missing_date.
@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("cs", "Brno, 14. března 2024 10:32", naive(2024, 3, 14, 10, 32)),
        ("sk", "Bratislava 14. júna 2024", naive(2024, 6, 14)),
        ("sl", "Ljubljana, 14. junija 2024", naive(2024, 6, 14)),
        ("hr", "Zagreb, 14. ožujka 2024.", naive(2024, 3, 14)),
        ("sr", "Beograd, 14. septembar 2024.", naive(2024, 9, 14)),
        ("ro", "Publicat: joi, 14 martie 2024, 10:32", naive(2024, 3, 14, 10, 32)),
        ("fi", "Julkaistu 14. maaliskuuta 2024 klo 10.32", naive(2024, 3, 14, 10, 32)),
        ("et", "Tallinn, 14. märts 2024", naive(2024, 3, 14)),
        ("da", "14. marts 2024 kl. 10.32", naive(2024, 3, 14, 10, 32)),
        ("sv", "Göteborg 14 augusti 2024", naive(2024, 8, 14)),
        ("ca", "Barcelona, 14 d'abril de 2024 - 10:32", naive(2024, 4, 14, 10, 32)),
        ("bg", "София, 14 юни 2024", naive(2024, 6, 14)),
        ("he", "פורסם ב-14 במרץ 2024", naive(2024, 3, 14)),
        ("ur", "لاہور، 14 مارچ 2024", naive(2024, 3, 14)),
        ("ms", "Kuala Lumpur, 14 Ogos 2024", naive(2024, 8, 14)),
        ("tl", "Maynila, Marso 14, 2024", naive(2024, 3, 14)),
        ("sw", "Dar es Salaam, 14 Machi 2024", naive(2024, 3, 14)),
        # year first: Hungarian and Lithuanian
        ("hu", "Szerző: Kovács Anna | 2024. március 14. 10:32", naive(2024, 3, 14, 10, 32)),
        ("hu", "2024. szept. 3.", naive(2024, 9, 3)),
        ("lt", "Vilnius, 2024 m. kovo 14 d. 10:32", naive(2024, 3, 14, 10, 32)),
        # Thai: the Buddhist-era year after a Thai month name (2567 = 2024), and a Gregorian year left as it is
        ("th", "14 มี.ค. 2567 10:32 น.", naive(2024, 3, 14, 10, 32)),
        ("th", "วันที่ 14 มีนาคม 2567", naive(2024, 3, 14)),
        ("th", "14 มีนาคม 2024", naive(2024, 3, 14)),
        ("th", "๑๔ มี.ค. ๒๕๖๗", naive(2024, 3, 14)),  # Thai digits
        # the era written before the year: Buddhist (พ.ศ.), or Common (ค.ศ.) for a Gregorian year
        ("th", "วันที่ 14 มีนาคม พ.ศ. 2567 - 10:32 น.", naive(2024, 3, 14, 10, 32)),
        ("th", "14 มี.ค. พ.ศ.2567", naive(2024, 3, 14)),
        ("th", "14 มีนาคม ค.ศ. 2024", naive(2024, 3, 14)),
        # South Asian scripts (and their digits), the Caucasus and Central Asia
        ("mr", "पुणे, १४ मार्च २०२४", naive(2024, 3, 14)),
        ("ne", "काठमाडौं, १४ अप्रिल २०२४", naive(2024, 4, 14)),
        ("gu", "અમદાવાદ, ૧૪ માર્ચ ૨૦૨૪", naive(2024, 3, 14)),
        ("pa", "ਚੰਡੀਗੜ੍ਹ, 14 ਮਾਰਚ 2024", naive(2024, 3, 14)),
        ("ta", "சென்னை, 14 மார்ச் 2024", naive(2024, 3, 14)),
        ("te", "హైదరాబాద్, 14 మార్చి 2024", naive(2024, 3, 14)),
        ("kn", "ಬೆಂಗಳೂರು, 14 ಮಾರ್ಚ್ 2024", naive(2024, 3, 14)),
        ("ml", "തിരുവനന്തപുരം, 14 മാർച്ച് 2024", naive(2024, 3, 14)),
        ("si", "කොළඹ, 14 අප්\u200dරේල් 2024", naive(2024, 4, 14)),  # with the zero-width joiner Sinhala writes
        ("ka", "თბილისი, 14 მარტი 2024", naive(2024, 3, 14)),
        ("hy", "Երևան, 14 մարտի 2024", naive(2024, 3, 14)),
        ("kk", "Астана, 14 наурыз 2024", naive(2024, 3, 14)),
        ("az", "Bakı, 14 avqust 2024", naive(2024, 8, 14)),
        ("uz", "Toshkent, 14 sentyabr 2024", naive(2024, 9, 14)),
        # the Balkans, Belarus, Iceland, Albania, Ireland, Wales, Galicia, the Basque Country, Mongolia, Khmer, Lao,
        # Hausa, Somali, Pashto, Afrikaans: nominative and the genitive dates use
        ("sr", "Београд, 14. мај 2024. у 10:32", naive(2024, 5, 14, 10, 32)),
        ("sr", "Објављено: 14. априла 2024.", naive(2024, 4, 14)),
        ("sr", "Novi Sad, 14. marta 2024. u 10:32", naive(2024, 3, 14, 10, 32)),
        ("mk", "Скопје, 14 јули 2024", naive(2024, 7, 14)),
        ("bg", "София, 14 април 2024", naive(2024, 4, 14)),
        ("be", "Мінск, 14 сакавіка 2024", naive(2024, 3, 14)),
        ("is", "Reykjavík, 14. ágúst 2024", naive(2024, 8, 14)),
        ("et", "Tallinn, 14. juuli 2024", naive(2024, 7, 14)),
        ("sq", "Tiranë, 14 shkurt 2024", naive(2024, 2, 14)),
        ("ga", "Baile Átha Cliath, 14 Meán Fómhair 2024", naive(2024, 9, 14)),
        ("cy", "Caerdydd, 14 Gorffennaf 2024", naive(2024, 7, 14)),
        ("gl", "Santiago, 14 de xullo de 2024", naive(2024, 7, 14)),
        ("eu", "Donostia, 2024ko martxoaren 14a", naive(2024, 3, 14)),
        ("mn", "Улаанбаатар, 2024 оны 3-р сарын 14", naive(2024, 3, 14)),
        ("km", "ភ្នំពេញ ថ្ងៃទី១៤ ខែមីនា ឆ្នាំ២០២៤", naive(2024, 3, 14)),  # Khmer digits, no space before the day
        ("lo", "ວຽງຈັນ, 14 ມີນາ 2024", naive(2024, 3, 14)),
        ("ha", "Abuja, 14 Maris 2024", naive(2024, 3, 14)),
        ("so", "Muqdisho, 14 Luuliyo 2024", naive(2024, 7, 14)),
        ("ps", "کابل، ۱۴ جون ۲۰۲۴", naive(2024, 6, 14)),
        ("af", "Kaapstad, 14 Junie 2024", naive(2024, 6, 14)),
        ("uz", "Тошкент, 14 октябр 2024", naive(2024, 10, 14)),
        # Afghanistan's Solar Hijri months (Dari and Pashto zodiac names): 24 Hamal 1403 is 12 April 2024 (1 Hamal = Nowruz, 20 March)
        ("fa", "کابل، ۲۴ حمل ۱۴۰۳", naive(2024, 4, 12)),
        ("ps", "کابل، ۲۴ وری ۱۴۰۳", naive(2024, 4, 12)),
        # numbers spaced after their dots (Czech, Slovak, Slovene, Croatian), and the word for "at" before the time
        ("cs", "14. 3. 2024 v 10:32", naive(2024, 3, 14, 10, 32)),
        ("hr", "14. 03. 2024. u 10:32", naive(2024, 3, 14, 10, 32)),
        ("sl", "14. 3. 2024 ob 10.32", naive(2024, 3, 14, 10, 32)),
        # Sorani Kurdish: the ezafe "ی" after the day and the month, Arabic-Indic digits
        ("ckb", "هەولێر، ١٣ی کانوونی دووەمی ٢٠٢٤ کاتژمێر ١٠:٣٠", naive(2024, 1, 13, 10, 30)),
        ("ckb", "سلێمانی - 14ی ئازاری 2024", naive(2024, 3, 14)),
        # Burmese digits, and its comma (၊) between the day and the year
        ("my", "ရန်ကုန် ၊ ဇန်နဝါရီ ၁၃ ၊ ၂၀၂၄", naive(2024, 1, 13)),
        ("my", "၁၄ စက်တင်ဘာ ၂၀၂၄", naive(2024, 9, 14)),
        # Amharic's Gregorian months
        ("am", "አዲስ አበባ፣ ሴፕቴምበር 14, 2024", naive(2024, 9, 14)),
        # Nepal's Bikram Sambat (Asar 5, 2081 is 19 June 2024), month first or year first, Devanagari digits
        ("ne", "काठमाडौं, असार ५, २०८१", naive(2024, 6, 19)),
        ("ne", "आइतबार, असार ९, २०८१ १०:३० बजे", naive(2024, 6, 23, 10, 30)),
        ("ne", "२०८१ असार ५ गते", naive(2024, 6, 19)),
        ("ne", "चैत ३०, २०८०", naive(2024, 4, 12)),
        ("ne", "५ जुलाई २०२४", naive(2024, 7, 5)),  # Gregorian months in Nepali stay Gregorian
        # the Ethiopian calendar (Sene 12, 2016 is 19 June 2024; the year starts on 12 September after a year with a
        # sixth day of Pagume, as 2015 had)
        ("am", "አዲስ አበባ፣ ሰኔ 12 ቀን 2016 ዓ.ም", naive(2024, 6, 19)),
        ("am", "መስከረም 1 ቀን 2016 ዓ.ም", naive(2023, 9, 12)),
        ("am", "ጳጉሜ 6 ቀን 2015 ዓ.ም", naive(2023, 9, 11)),
        ("ti", "12 ሰኔ 2016", naive(2024, 6, 19)),
    ],
)
def test_find_datelines_more_languages(lang, text, expected):
    (cand,) = find_datelines(text, lang)
    assert cand.value == expected


@pytest.mark.parametrize("year", range(2005, 2025))
def test_ethiopian_new_year_and_christmas_fall_on_their_gregorian_days(year):
    # New Year on 11 September, or 12 September after a sixth day of Pagume (the year before a Gregorian leap year);
    # Genna on 7 January: Tahsas 29, or Tahsas 28 in a year that began on 12 September
    long_year = (year - 1) % 4 == 3
    (new_year,) = find_datelines(f"መስከረም 1 ቀን {year} ዓ.ም", "am")
    assert new_year.value == naive(year + 7, 9, 12 if long_year else 11)
    (genna,) = find_datelines(f"ታኅሣሥ {28 if long_year else 29} ቀን {year} ዓ.ም", "am")
    assert genna.value == naive(year + 8, 1, 7)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("hi", "असार ५, २०८१"),  # Hindi names the lunar Vikram Samvat months alike: not read off a Nepali page
        (None, "असार ५, २०८१"),
        ("ne", "असार ३३, २०८१"),  # no such day
        ("ne", "असार ५, २०२४"),  # a Gregorian year beside a Bikram Sambat month converts to 1967: no date
        ("am", "ጳጉሜ 6 ቀን 2016 ዓ.ም"),  # 2016 has five days of Pagume
        ("am", "ሰኔ 31 ቀን 2016 ዓ.ም"),  # months have thirty
        (None, "ሰኔ 12 ቀን 2016 ዓ.ም"),  # Ethiopian months only on Amharic and Tigrinya pages
    ],
)
def test_other_calendars_only_on_their_languages_pages_and_only_real_days(lang, text):
    assert find_datelines(text, lang) == []


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        # a year ending a sentence before a month and a number is not a year-first date outside hu/lt
        ("en", "The firm was founded in 2019. March 14 was the day it opened."),
        ("de", "Die Firma gibt es seit 2019. März 14 Leute arbeiten dort."),
        # Buddhist-era years only follow Thai month names: 2567 after a Latin-script month is no year
        ("en", "14 March 2567"),
    ],
)
def test_find_datelines_no_date_in_these(lang, text):
    assert find_datelines(text, lang) == []


def test_listopad_is_november_except_on_a_croatian_page():
    # Polish, Czech and Slovak "listopad" is November; in Croatian the same spelling is October
    (cand,) = find_datelines("14. listopadu 2024", "cs")
    assert cand.value == naive(2024, 11, 14)
    (cand,) = find_datelines("14 listopada 2024", "pl")
    assert cand.value == naive(2024, 11, 14)
    (cand,) = find_datelines("Zagreb, 14. listopada 2024. u 10:32", "hr")
    assert cand.value == naive(2024, 10, 14, 10, 32)
    (cand,) = find_datelines("14. listopada 2024.", None)  # no language known: the table's meaning
    assert cand.value == naive(2024, 11, 14)


def test_a_gregorian_year_beside_an_afghan_solar_month_is_no_date():
    # "اسد" (Asad, the fifth solar month) is also a name: beside a Gregorian year it converts to no accepted year
    assert find_datelines("۱۴ اسد ۲۰۲۴", "fa") == []


def test_spaced_numbers_need_the_same_spacing_throughout():
    assert find_datelines("14. 3.2024", "cs") == []


# ---------------------------------------------------------------------------------------------------------
# gather_candidates

URL = "https://example.com/news/story-123"


def page(head: str = "", body: str = "") -> str:
    return f"<!DOCTYPE html><html><head><title>Oil prices rise on strong demand</title>{head}</head>" \
           f"<body>{body}</body></html>"


def by_source(cands, source):
    return [c for c in cands if c.source == source]


JSONLD_GRAPH = """<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "WebSite", "@id": "https://example.com/#website", "name": "Example"},
  {"@type": "WebPage", "@id": "https://example.com/news/story-123", "datePublished": "2018-05-20T08:00:00+00:00"},
  {"@type": ["NewsArticle", "Article"], "headline": "Oil prices rise",
   "datePublished": "2018-05-21T12:23:00+03:00", "dateModified": "2018-05-25T09:00:00+03:00",
   "publisher": {"@type": "Organization", "name": "Example", "foundingDate": "1999-01-01"}},
  {"@type": "BreadcrumbList", "itemListElement": [{"@type": "ListItem", "position": 1, "name": "News"}]}
]}
</script>"""


def test_jsonld_graph_prefers_article_and_ignores_date_modified():
    cands = gather_candidates(page(JSONLD_GRAPH), URL, use_htmldate=False)
    jsonld = by_source(cands, "jsonld")
    assert jsonld[0].value == datetime(2018, 5, 21, 12, 23, tzinfo=tzo(3))
    assert jsonld[0].has_time and jsonld[0].raw == "2018-05-21T12:23:00+03:00"
    assert [c.value.date() for c in jsonld] == [date(2018, 5, 21), date(2018, 5, 20)]
    assert all(c.value.day != 25 for c in cands)


def test_jsonld_list_nested_main_entity_and_date_created():
    ld = """<script type="application/ld+json">[
      {"@type": "WebPage", "mainEntity": {"@type": "NewsArticle", "dateCreated": "2018-05-21"}},
      {"@type": "Organization", "name": "Example"}]</script>"""
    (cand,) = by_source(gather_candidates(page(ld), URL, use_htmldate=False), "jsonld")
    assert cand.value == naive(2018, 5, 21) and not cand.has_time


def test_jsonld_date_published_beats_date_created():
    ld = """<script type="application/ld+json">{"@type": "NewsArticle", "dateCreated": "2018-05-19T10:00:00Z",
            "datePublished": "2018-05-21T10:00:00Z"}</script>"""
    jsonld = by_source(gather_candidates(page(ld), URL, use_htmldate=False), "jsonld")
    assert jsonld[0].value == datetime(2018, 5, 21, 10, tzinfo=UTC)


def test_jsonld_ignores_related_items_and_embedded_video():
    ld = """<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2018-05-21T10:00:00Z",
      "video": {"@type": "VideoObject", "datePublished": "2016-01-01T00:00:00Z"},
      "relatedLink": [{"@type": "NewsArticle", "datePublished": "2017-01-01T00:00:00Z"}]}</script>
      <script type="application/ld+json">{"@type": "ItemList", "itemListElement": [
        {"@type": "ListItem", "item": {"@type": "NewsArticle", "datePublished": "2015-01-01T00:00:00Z"}}]}
      </script>"""
    jsonld = by_source(gather_candidates(page(ld), URL, use_htmldate=False), "jsonld")
    assert [c.value for c in jsonld] == [datetime(2018, 5, 21, 10, tzinfo=UTC)]


@pytest.mark.parametrize("script", [
    # unescaped quote in the headline
    '{"@type": "NewsArticle", "headline": "He said "no"", "datePublished": "2018-05-21T12:23:00Z"}',
    # trailing comma
    '{"@type": "NewsArticle", "datePublished": "2018-05-21T12:23:00Z",}',
    # raw newline inside a string, HTML comment wrapper
    '<!--\n{"@type": "NewsArticle", "description": "line one\nline two", "datePublished": "2018-05-21T12:23:00Z"}\n-->',
    # truncated
    '{"@type": "NewsArticle", "datePublished": "2018-05-21T12:23:00Z", "author": {"name": "A',
])
def test_jsonld_survives_broken_json(script):
    html = page(f'<script type="application/ld+json">{script}</script>')
    (cand,) = by_source(gather_candidates(html, URL, use_htmldate=False), "jsonld")
    assert cand.value == datetime(2018, 5, 21, 12, 23, tzinfo=UTC)


@pytest.mark.parametrize(("attr", "name"), [
    ("property", "article:published_time"),
    ("property", "og:published_time"),
    ("name", "pubdate"),
    ("name", "publishdate"),
    ("name", "date"),
    ("name", "DC.date.issued"),
    ("name", "dcterms.created"),
    ("name", "sailthru.date"),
    ("name", "parsely-pub-date"),
    ("itemprop", "datePublished"),
])
def test_meta_tag_names(attr, name):
    html = page(f'<meta {attr}="{name}" content="2018-05-21T12:23:00+03:00">')
    (cand,) = by_source(gather_candidates(html, URL, use_htmldate=False), "meta")
    assert cand.value == datetime(2018, 5, 21, 12, 23, tzinfo=tzo(3)) and cand.has_time


def test_meta_priority_and_modified_ignored():
    head = """<meta property="article:modified_time" content="2018-05-25T09:00:00Z">
    <meta name="date" content="2018-05-20">
    <meta property="og:updated_time" content="2018-05-26T09:00:00Z">
    <meta property="article:published_time" content="2018-05-21T12:23:00Z">"""
    meta = by_source(gather_candidates(page(head), URL, use_htmldate=False), "meta")
    assert [c.value for c in meta] == [datetime(2018, 5, 21, 12, 23, tzinfo=UTC), naive(2018, 5, 20)]


def test_meta_compact_basic_iso_is_accepted_in_metadata_only():
    html = page('<meta name="pubdate" content="20180521">')
    (cand,) = by_source(gather_candidates(html, URL, use_htmldate=False), "meta")
    assert cand.value == naive(2018, 5, 21) and not cand.has_time


def test_itemprop_on_visible_elements_and_teaser_microdata():
    body = """<div itemscope itemtype="https://schema.org/NewsArticle">
      <h1 itemprop="headline">Oil prices rise on strong demand</h1>
      <span itemprop="datePublished" content="2018-05-21T12:23:00+03:00">21 May</span>
    </div>
    <div class="more-stories"><div itemscope itemtype="https://schema.org/NewsArticle">
      <meta itemprop="datePublished" content="2018-04-01T10:00:00Z"><a href="/x">Other story</a></div></div>
    <div id="comments"><div itemscope itemtype="https://schema.org/Comment">
      <time itemprop="datePublished" datetime="2018-05-30T10:00:00Z">30 May</time></div></div>"""
    meta = by_source(gather_candidates(page(body=body), URL, use_htmldate=False), "meta")
    assert meta[0].value == datetime(2018, 5, 21, 12, 23, tzinfo=tzo(3))
    assert all(c.value.day != 30 for c in meta)


def test_time_element_prefers_pubdate_and_skips_comments_and_updates():
    body = """<article><header><h1>Oil prices rise on strong demand</h1>
      <time class="updated" datetime="2018-05-24T08:00:00Z">24 May</time>
      <span>Updated</span> <time datetime="2018-05-23T08:00:00Z">23 May</time>
      <time datetime="2018-05-21T09:00:00Z">21 May</time>
      <time pubdate datetime="2018-05-21T12:23:00+03:00">21 May 2018</time></header>
      <p>Body text.</p>
      <section class="comments"><time datetime="2018-05-22T10:00:00Z">22 May</time></section></article>"""
    times = by_source(gather_candidates(page(body=body), URL, use_htmldate=False), "time")
    assert [c.value for c in times] == [datetime(2018, 5, 21, 12, 23, tzinfo=tzo(3)),
                                        datetime(2018, 5, 21, 9, tzinfo=UTC)]


def test_time_elements_of_other_stories_far_from_headline_are_dropped():
    body = """<div class="page"><div class="main"><div class="story">
      <h1>Oil prices rise on strong demand</h1><div class="byline">
      <time datetime="2018-05-21T12:23:00Z">21 May 2018</time></div><p>Text.</p></div></div>
      <div class="rail"><ul><li><a href="/a">A</a><time datetime="2018-05-30T10:00:00Z">30 May</time></li></ul>
      </div></div>
      <div class="list"><time datetime="2018-05-31T10:00:00Z">31 May</time></div>"""
    times = by_source(gather_candidates(page(body=body), URL, use_htmldate=False), "time")
    assert [c.value for c in times][0] == datetime(2018, 5, 21, 12, 23, tzinfo=UTC)
    assert all(c.value.day != 31 for c in times)


def test_arabic_page_dateline_beats_teasers_and_today_bar():
    html = (FIXTURES / "arabic_teasers.html").read_text(encoding="utf-8")
    cands = gather_candidates(html, "https://example.com/news/123", lang="ar", use_htmldate=False)
    (line,) = by_source(cands, "dateline")
    assert line.value == naive(2018, 5, 21, 12, 23) and line.has_time
    assert "مايو 2018" in line.raw
    result = choose_publication_date(cands, fetched_at=FETCHED, tz="Africa/Cairo")
    assert result.date_source == "dateline"
    assert result.published_at == datetime(2018, 5, 21, 10, 23, tzinfo=UTC)
    assert result.published_date == date(2018, 5, 21)


def test_dateline_just_above_headline_when_nothing_below():
    body = """<div class="box"><a href="/a">Other</a> <span>2 June 2018</span></div>
      <div class="post"><div class="kicker">Economy | 21 May 2018</div><h1>Oil prices rise on strong demand</h1>
      <p>Prices rose today.</p></div>"""
    (line,) = by_source(gather_candidates(page(body=body), URL, use_htmldate=False), "dateline")
    assert line.value == naive(2018, 5, 21)


def test_dateline_labelled_published_wins_over_nearer_date():
    body = """<h1>Oil prices rise on strong demand</h1><p>Event on 3 June 2018 announced.</p>
      <p class="by">Published: 21 May 2018</p>"""
    (line,) = by_source(gather_candidates(page(body=body), URL, use_htmldate=False), "dateline")
    assert line.value == naive(2018, 5, 21)


def test_dateline_after_update_line_is_not_taken_from_prose():
    body = """<h1>Oil prices rise on strong demand</h1><p class="when">Updated 3:27 am, May 24, 2018</p>
      <p>Ministers met on Sunday, May 20, 2018, in Vienna.</p>"""
    assert by_source(gather_candidates(page(body=body), URL, use_htmldate=False), "dateline") == []


def test_dateline_uses_title_when_h1_is_the_logo():
    body = """<div class="hdr"><h1 class="site-logo"><a href="/">Example News</a></h1>
      <div class="today">Friday 1 June 2018</div></div>
      <div class="list"><a href="/a">Other story</a> 31 May 2018 10:00</div>
      <div class="story"><h2>Oil prices rise on strong demand</h2><div>21 May 2018 12:23</div></div>"""
    (line,) = by_source(gather_candidates(page(body=body), URL, use_htmldate=False), "dateline")
    assert line.value == naive(2018, 5, 21, 12, 23)


def test_persian_page():
    html = """<html lang="fa"><head><title>افزایش قیمت نفت</title></head><body>
      <h1>افزایش قیمت نفت</h1><div class="date">دوشنبه ۳۱ اردیبهشت ۱۳۹۷ - ۱۲:۲۳</div><p>متن خبر</p></body></html>"""
    cands = gather_candidates(html, URL, lang="fa", use_htmldate=False)
    result = choose_publication_date(cands, fetched_at=FETCHED, tz="Asia/Tehran")
    assert result.date_source == "dateline"
    assert result.published_at == datetime(2018, 5, 21, 7, 53, tzinfo=UTC)
    assert result.published_date == date(2018, 5, 21)


def test_chinese_page():
    html = """<html><head><title>油价上涨</title></head><body><h1>油价上涨</h1>
      <div class="info">2018-05-21 12:23 来源：新华社</div><p>正文</p></body></html>"""
    result = choose_publication_date(gather_candidates(html, URL, lang="zh", use_htmldate=False),
                                     fetched_at=FETCHED, tz="Asia/Shanghai")
    assert result.published_at == datetime(2018, 5, 21, 4, 23, tzinfo=UTC)


def test_russian_page():
    html = """<html><head><title>Нефть дорожает</title></head><body><h1>Нефть дорожает</h1>
      <div class="meta">Опубликовано: 21.05.2018 12:23</div><p>Текст</p></body></html>"""
    result = choose_publication_date(gather_candidates(html, URL, lang="ru", use_htmldate=False),
                                     fetched_at=FETCHED, tz="Europe/Moscow")
    assert result.published_at == datetime(2018, 5, 21, 9, 23, tzinfo=UTC)


@pytest.mark.parametrize(("body", "expected"), [
    ("CAIRO, May 21, 2018 (Reuters) - Oil prices rose.", naive(2018, 5, 21)),
    ("القاهرة في 21 مايو 2018 - ارتفعت أسعار النفط", naive(2018, 5, 21)),
    ("Oil prices rose sharply on Monday. Published 21 May 2018.", naive(2018, 5, 21)),
    ("As of 29 November 2018, thirty artworks will be shown.", None),
    ("Prices rose. " + "Analysts expect more. " * 20 + "The deal of 3 March 2017 expires.", None),
])
def test_body_dateline(body, expected):
    lines = by_source(gather_candidates(None, URL, body=body), "dateline")
    assert [c.value for c in lines] == ([expected] if expected else [])


@pytest.mark.parametrize(("url", "expected"), [
    ("https://example.com/2018/05/21/oil-prices", naive(2018, 5, 21)),
    ("https://example.com/news/2018/5/21/oil-prices.html", naive(2018, 5, 21)),
    ("https://example.com/news/20180521/oil-prices", naive(2018, 5, 21)),
    ("https://example.com/news/2018-05-21-oil-prices", naive(2018, 5, 21)),
    ("https://example.com/news/oil_2018_05_21.html", naive(2018, 5, 21)),
    ("https://example.com/2018/02/31/impossible", None),
    ("https://example.com/1985/05/21/too-old", None),
    ("https://example.com/2018/05/oil-prices", None),
    ("https://example.com/article/1234567890123", None),
    ("https://example.com/news/20181340/x", None),
    ("https://example.com/news?id=2018-05-21", None),
])
def test_url_candidates(url, expected):
    found = by_source(gather_candidates(None, url), "url")
    assert [c.value for c in found] == ([expected] if expected else [])
    assert all(not c.has_time for c in found)


def test_feed_sitemap_warc_candidates():
    cands = gather_candidates(None, URL, feed_date="Mon, 21 May 2018 12:23:00 +0300",
                              sitemap_date="2018-05-21", warc_date="2018-06-01T03:00:00Z")
    assert [(c.source, c.value, c.has_time) for c in cands] == [
        ("feed", datetime(2018, 5, 21, 12, 23, tzinfo=tzo(3)), True),
        ("sitemap", naive(2018, 5, 21), False),
        ("warc", datetime(2018, 6, 1, 3, tzinfo=UTC), True),
    ]


@pytest.mark.parametrize(("feed_date", "expected"), [
    ("Mon, 21 May 2018 12:23:00 EDT", datetime(2018, 5, 21, 12, 23, tzinfo=tzo(-4))),
    ("Mon, 21 May 18 12:23:00 GMT", datetime(2018, 5, 21, 12, 23, tzinfo=UTC)),  # RFC 822 two-digit year
    ("21 May 18 12:23 +0300", datetime(2018, 5, 21, 12, 23, tzinfo=tzo(3))),
    ("2018-05-21T12:23:00.000Z", datetime(2018, 5, 21, 12, 23, tzinfo=UTC)),
    ("20180521T122300Z", datetime(2018, 5, 21, 12, 23, tzinfo=UTC)),
])
def test_feed_date_formats(feed_date, expected):
    (c,) = gather_candidates(None, URL, feed_date=feed_date)
    assert c.source == "feed" and c.value == expected and c.value.utcoffset() == expected.utcoffset()


def test_gather_handles_empty_and_odd_html():
    assert gather_candidates(None, "") == []
    assert gather_candidates("", URL) == []
    assert gather_candidates("   ", URL) == []
    xml_decl = '<?xml version="1.0" encoding="utf-8"?><html><head>' \
               '<meta property="article:published_time" content="2018-05-21T12:23:00Z"></head><body></body></html>'
    (cand,) = gather_candidates(xml_decl, URL, use_htmldate=False)
    assert cand.value == datetime(2018, 5, 21, 12, 23, tzinfo=UTC)


def test_raw_is_trimmed():
    long_value = "2018-05-21T12:23:00Z" + " " * 10 + "x" * 500
    html = page(f'<meta name="date" content="{long_value}">')
    (cand,) = gather_candidates(html, URL, use_htmldate=False)
    assert len(cand.raw) <= 200


# htmldate: last resort only, never network, never a padded year.

def test_htmldate_only_when_nothing_else_found():
    html = page(body='<p>Text</p><img src="/uploads/2018/05/21/photo.jpg">')
    (cand,) = gather_candidates(html, URL)
    assert (cand.source, cand.value, cand.has_time) == ("htmldate", naive(2018, 5, 21), False)
    assert gather_candidates(html, URL, use_htmldate=False) == []
    with_url = gather_candidates(html, "https://example.com/2018/05/22/x")
    assert [c.source for c in with_url] == ["url"]


def test_htmldate_copyright_year_is_not_a_date():
    html = page(body="<p>Text without dates.</p><footer>© 2018 Example Media</footer>")
    assert gather_candidates(html, URL) == []


def test_htmldate_never_downloads(monkeypatch):
    import htmldate.utils

    def no_network(*args, **kwargs):
        raise AssertionError("htmldate tried to download")

    monkeypatch.setattr(htmldate.utils, "fetch_url", no_network)
    gather_candidates("https://example.com/2018/05/21/story", URL)
    gather_candidates(page(body='<img src="/2018/05/21/a.jpg">'), URL)


# ---------------------------------------------------------------------------------------------------------
# choose_publication_date


def cand(source: str, value: datetime, has_time: bool = True, raw: str = "") -> DateCandidate:
    return DateCandidate(source, value, has_time, raw or value.isoformat())


def test_priority_constant():
    assert PRIORITY == ("jsonld", "meta", "feed", "sitemap", "time", "dateline", "url", "htmldate", "relative")
    assert "warc" not in PRIORITY
    assert DISAGREEMENT_SOURCES == {"jsonld", "meta", "feed", "sitemap", "time", "dateline"}


@pytest.mark.parametrize("index", range(len(PRIORITY)))
def test_priority_order(index):
    # every source on a different day (hours apart so no disagreement matters here)
    cands = [cand(src, datetime(2018, 5, 21, 1 + i, tzinfo=UTC)) for i, src in enumerate(PRIORITY)]
    cands.append(cand("warc", datetime(2018, 5, 21, 23, tzinfo=UTC)))
    remaining = list(reversed(cands[index:]))  # input order must not matter
    result = choose_publication_date(remaining, fetched_at=FETCHED)
    assert result.date_source == PRIORITY[index]
    assert result.published_at == datetime(2018, 5, 21, 1 + index, tzinfo=UTC)
    assert result.reason is None


def test_first_candidate_of_a_source_wins():
    cands = [cand("dateline", naive(2018, 5, 21, 12)), cand("dateline", naive(2018, 5, 21, 15))]
    assert choose_publication_date(cands, fetched_at=FETCHED).published_at == datetime(2018, 5, 21, 12,
                                                                                         tzinfo=UTC)


def test_warc_is_never_chosen():
    warc = cand("warc", datetime(2018, 6, 1, 3, tzinfo=UTC))
    result = choose_publication_date([warc], fetched_at=FETCHED)
    assert result == DateResult(None, None, None, False, (warc,), "missing_date")


def test_missing_date():
    result = choose_publication_date([], fetched_at=FETCHED)
    assert (result.published_at, result.published_date, result.date_source, result.reason) == \
           (None, None, None, "missing_date")
    assert result.candidates == ()


def test_future_date_rejected():
    future = cand("meta", datetime(2018, 6, 3, tzinfo=UTC))
    result = choose_publication_date([future], fetched_at=FETCHED)
    assert result.reason == "future_date" and result.published_at is None and result.date_source is None


def test_future_candidate_falls_back_to_next():
    cands = [cand("meta", datetime(2030, 1, 1, tzinfo=UTC)), cand("url", naive(2018, 5, 21), False)]
    result = choose_publication_date(cands, fetched_at=FETCHED)
    assert result.date_source == "url" and result.published_date == date(2018, 5, 21) and result.reason is None


def test_future_tolerance_is_one_day():
    near = cand("meta", FETCHED + timedelta(hours=23))
    assert choose_publication_date([near], fetched_at=FETCHED).reason is None
    far = cand("meta", FETCHED + timedelta(days=1, minutes=1))
    assert choose_publication_date([far], fetched_at=FETCHED).reason == "future_date"


def test_naive_fetched_at_is_utc():
    c = cand("meta", datetime(2018, 6, 2, 11, tzinfo=UTC))
    assert choose_publication_date([c], fetched_at=datetime(2018, 6, 1, 12)).reason is None


@pytest.mark.parametrize(("value", "tz", "published_at", "published_date"), [
    # naive = publisher-local
    (naive(2018, 5, 21, 23, 30), "Asia/Beirut", datetime(2018, 5, 21, 20, 30, tzinfo=UTC), date(2018, 5, 21)),
    (naive(2018, 5, 21, 1, 0), "Asia/Beirut", datetime(2018, 5, 20, 22, 0, tzinfo=UTC), date(2018, 5, 21)),
    (naive(2018, 5, 21, 20, 0), "America/New_York", datetime(2018, 5, 22, 0, 0, tzinfo=UTC), date(2018, 5, 21)),
    # naive without tz = UTC
    (naive(2018, 5, 21, 23, 30), None, datetime(2018, 5, 21, 23, 30, tzinfo=UTC), date(2018, 5, 21)),
    # aware without tz: the day in its own offset
    (datetime(2018, 5, 21, 1, tzinfo=tzo(3)), None, datetime(2018, 5, 20, 22, tzinfo=UTC), date(2018, 5, 21)),
    # aware with a source tz: still the day in its own offset; the source's zone is for naive times only
    (datetime(2018, 5, 21, 1, tzinfo=tzo(3)), "America/New_York", datetime(2018, 5, 20, 22, tzinfo=UTC),
     date(2018, 5, 21)),
    (datetime(2018, 5, 21, 22, tzinfo=UTC), "Asia/Tokyo", datetime(2018, 5, 21, 22, tzinfo=UTC),
     date(2018, 5, 21)),
])
def test_timezone_conversion(value, tz, published_at, published_date):
    result = choose_publication_date([cand("meta", value)], fetched_at=FETCHED, tz=tz)
    assert result.published_at == published_at
    assert result.published_at.utcoffset() == timedelta(0)
    assert result.published_date == published_date


def test_day_only_is_local_midnight():
    result = choose_publication_date([cand("url", naive(2018, 5, 21), False)], fetched_at=FETCHED,
                                     tz="Asia/Beirut")
    assert result.published_at == datetime(2018, 5, 20, 21, tzinfo=UTC)
    assert result.published_date == date(2018, 5, 21)


def test_day_only_borrows_time_from_lower_priority_same_day():
    cands = [cand("meta", naive(2018, 5, 21), False), cand("dateline", naive(2018, 5, 21, 12, 23))]
    result = choose_publication_date(cands, fetched_at=FETCHED, tz="Europe/Paris")
    assert result.date_source == "meta"
    assert result.published_at == datetime(2018, 5, 21, 10, 23, tzinfo=UTC)
    assert result.published_date == date(2018, 5, 21)


def test_no_time_borrowed_from_another_day_or_from_warc():
    cands = [cand("meta", naive(2018, 5, 21), False), cand("dateline", naive(2018, 5, 22, 12, 23)),
             cand("warc", naive(2018, 5, 21, 9, 0))]
    result = choose_publication_date(cands, fetched_at=FETCHED)
    assert result.published_at == datetime(2018, 5, 21, tzinfo=UTC)


@pytest.mark.parametrize(("other", "expected"), [
    (cand("dateline", naive(2018, 5, 23, 10)), True),
    (cand("feed", datetime(2018, 5, 24, 10, tzinfo=UTC)), True),
    (cand("time", naive(2018, 5, 19, 10)), True),
    (cand("dateline", naive(2018, 5, 22, 23)), False),  # one day apart is tolerated
    (cand("dateline", naive(2018, 5, 21, 1)), False),
    (cand("url", naive(2018, 5, 25), False), False),  # not a strong source
    (cand("htmldate", naive(2018, 5, 25), False), False),
    (cand("warc", datetime(2018, 6, 1, tzinfo=UTC)), False),
    (cand("jsonld", naive(2018, 5, 25, 10)), False),  # same source: only the first counts
])
def test_disagreement(other, expected):
    cands = [cand("jsonld", naive(2018, 5, 21, 10)), other]
    assert choose_publication_date(cands, fetched_at=FETCHED).disagreement is expected


def test_disagreement_uses_publisher_days():
    # 23:30 in Beirut on the 21st (naive, in the source's zone) against a feed's 2018-05-23T01:00+03:00: two days
    # apart in the publisher's own days, though only 25.5 hours apart in time
    cands = [cand("meta", naive(2018, 5, 21, 23, 30)), cand("feed", datetime(2018, 5, 23, 1, tzinfo=tzo(3)))]
    assert choose_publication_date(cands, fetched_at=FETCHED, tz="Asia/Beirut").disagreement is True
    cands = [cand("meta", naive(2018, 5, 21, 23, 30)), cand("feed", datetime(2018, 5, 22, 23, tzinfo=UTC))]
    assert choose_publication_date(cands, fetched_at=FETCHED, tz="Asia/Beirut").disagreement is False


@pytest.mark.parametrize(("raw", "tz", "published_at", "published_date"), [
    # the case: 03:01 in +04:00 is the 3rd there, whatever zone the source is configured with
    ("2020-06-03T03:01+0400", None, datetime(2020, 6, 2, 23, 1, tzinfo=UTC), date(2020, 6, 3)),
    ("2020-06-03T03:01+0400", "UTC", datetime(2020, 6, 2, 23, 1, tzinfo=UTC), date(2020, 6, 3)),
    ("2020-06-03T03:01+04:00", "America/New_York", datetime(2020, 6, 2, 23, 1, tzinfo=UTC), date(2020, 6, 3)),
    ("2020-06-02T23:59+04:00", "Asia/Dubai", datetime(2020, 6, 2, 19, 59, tzinfo=UTC), date(2020, 6, 2)),
    # -05:00 late in the evening is already the next day in UTC
    ("2020-06-02T22:30:00-05:00", None, datetime(2020, 6, 3, 3, 30, tzinfo=UTC), date(2020, 6, 2)),
    ("2020-06-02T23:59:59-05:00", "Europe/Berlin", datetime(2020, 6, 3, 4, 59, 59, tzinfo=UTC), date(2020, 6, 2)),
    ("2020-06-03T00:01-05:00", "UTC", datetime(2020, 6, 3, 5, 1, tzinfo=UTC), date(2020, 6, 3)),
    # +08:00 just after midnight is still the previous day in UTC
    ("2020-06-03T00:10:00+08:00", None, datetime(2020, 6, 2, 16, 10, tzinfo=UTC), date(2020, 6, 3)),
    ("2020-06-03T00:10:00+08:00", "America/Los_Angeles", datetime(2020, 6, 2, 16, 10, tzinfo=UTC), date(2020, 6, 3)),
    ("2020-06-02T23:50+08:00", "Asia/Shanghai", datetime(2020, 6, 2, 15, 50, tzinfo=UTC), date(2020, 6, 2)),
    # naive: local time in the source's zone when it has one, UTC otherwise; its own day either way
    ("2020-06-03T00:30:00", None, datetime(2020, 6, 3, 0, 30, tzinfo=UTC), date(2020, 6, 3)),
    ("2020-06-03T00:30:00", "Asia/Dubai", datetime(2020, 6, 2, 20, 30, tzinfo=UTC), date(2020, 6, 3)),
    ("2020-06-02T23:30:00", "America/New_York", datetime(2020, 6, 3, 3, 30, tzinfo=UTC), date(2020, 6, 2)),
    ("2020-06-03T00:30:00", "Asia/Shanghai", datetime(2020, 6, 2, 16, 30, tzinfo=UTC), date(2020, 6, 3)),
])
def test_offset_rule_from_json_ld_near_midnight(raw, tz, published_at, published_date):
    jsonld = json.dumps({"@type": "NewsArticle", "datePublished": raw})
    html = (f'<html><head><script type="application/ld+json">{jsonld}</script></head>'
            "<body><h1>Port reopens</h1><p>Text.</p></body></html>")
    result = choose_publication_date(gather_candidates(html, "https://x.example/a"), fetched_at=FETCHED_LATE, tz=tz)
    assert (result.published_at, result.published_date, result.date_source) == (published_at, published_date, "jsonld")
    assert result.published_at.utcoffset() == timedelta(0)


def test_fetch_time_is_never_the_publication_date():
    result = choose_publication_date([cand("warc", datetime(2020, 6, 3, 10, tzinfo=UTC))], fetched_at=FETCHED_LATE,
                                     tz="Europe/Berlin")
    assert result.published_date is None and result.date_source is None and result.reason == "missing_date"


def test_disagreement_reported_even_when_rejected():
    cands = [cand("meta", datetime(2030, 1, 1, tzinfo=UTC)), cand("dateline", datetime(2030, 2, 1, tzinfo=UTC))]
    result = choose_publication_date(cands, fetched_at=FETCHED)
    assert result.reason == "future_date" and result.disagreement is True


def test_candidates_are_returned_unchanged():
    cands = [cand("warc", naive(2018, 6, 1)), cand("url", naive(2018, 5, 21), False)]
    assert choose_publication_date(cands, fetched_at=FETCHED).candidates == tuple(cands)


def test_unknown_time_zone_is_an_error():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        choose_publication_date([cand("meta", naive(2018, 5, 21))], fetched_at=FETCHED, tz="Mars/Olympus")


def test_end_to_end_structured_page():
    html = page(JSONLD_GRAPH + '<meta property="article:published_time" content="2018-05-21T09:23:00Z">',
                '<h1>Oil prices rise on strong demand</h1><p class="byline">May 21, 2018 12:23 PM</p>')
    cands = gather_candidates(html, "https://example.com/2018/05/21/oil", warc_date="2018-06-01T03:00:00Z",
                              feed_date="Mon, 21 May 2018 09:23:00 GMT")
    result = choose_publication_date(cands, fetched_at=FETCHED, tz="Europe/Istanbul")
    assert result.date_source == "jsonld"
    assert result.published_at == datetime(2018, 5, 21, 9, 23, tzinfo=UTC)
    assert result.published_date == date(2018, 5, 21)
    assert result.disagreement is False and result.reason is None
    assert {c.source for c in result.candidates} == {"jsonld", "meta", "dateline", "url", "feed", "warc"}


# ---------------------------------------------------------------------------------------------------------
# Real pages: visible datelines should agree with the publisher's structured metadata.


@pytest.mark.corpus
@pytest.mark.skipif(not CORPUS.is_dir(), reason="needs ../shared/corpora/article-extraction-benchmark")
def test_corpus_datelines_agree_with_metadata():
    truth = json.loads((CORPUS / "ground-truth.json").read_text())
    compared = agreeing = 0
    for page_id, item in truth.items():
        html = gzip.open(CORPUS / "html" / f"{page_id}.html.gz").read().decode("utf-8", "replace")
        cands = gather_candidates(html, item.get("url", ""), use_htmldate=False)
        result = choose_publication_date(cands, fetched_at=datetime(2024, 1, 1, tzinfo=UTC))
        assert result.reason is None or not [c for c in cands if c.source != "warc"]
        structured = next((c for c in cands if c.source in ("jsonld", "meta")), None)
        line = next((c for c in cands if c.source == "dateline"), None)
        if structured and line:
            compared += 1
            days = choose_publication_date([structured, line], fetched_at=datetime(2024, 1, 1, tzinfo=UTC))
            agreeing += not days.disagreement
    assert compared >= 50
    assert agreeing / compared >= 0.95


# ---------------------------------------------------------------------------------------------------------
# Faster forms of the scanner's building blocks give the same answers as the plain ones


def test_month_groups_cannot_both_match_one_character():
    # _month_alternation relies on it: two first letters that some text character matches both of (case-insensitively)
    # would put a shorter name of one group before a longer name of the other
    import re

    from newsflow import dates

    firsts = sorted({name[0] for name in dates._MONTHS})
    every_char = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    matched = {c: set(re.findall(re.escape(c), every_char, re.I)) for c in firsts}
    for i, a in enumerate(firsts):
        for b in firsts[i + 1:]:
            assert not matched[a] & matched[b], (a, b)


def test_grouped_month_alternation_matches_like_the_flat_one():
    import random
    import re

    from newsflow import dates

    names = list(dates._MONTHS)
    flat = "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(names, key=len, reverse=True))
    pairs = [(re.compile(rx.pattern.replace(dates._MON, flat), re.I), rx) for rx in (dates._DMY_TEXT, dates._MDY_TEXT)]
    assert all(old.pattern != new.pattern for old, new in pairs)
    rnd = random.Random(11)
    bits = [" ", "  ", "\n", ".", ",", "/", "(", ")", "-", "de ", "of ", "1", "12", "21st", "2018", "1397", "I", "ı",
            "ſ", "K", "Σ", "ς"]
    texts = []
    for _ in range(3000):
        parts = []
        for _ in range(rnd.randint(1, 10)):
            name = rnd.choice(names)
            name = name.upper() if rnd.random() < .3 else name
            r = rnd.random()
            if r < .3:
                parts.append(rnd.choice([f"{name} {rnd.randint(1, 31)}, 2018", f"{rnd.randint(1, 31)} {name}. 1397",
                                         f"{rnd.randint(1, 31)} de {name} / {rnd.choice(names)} 2019"]))
            elif r < .5:
                parts.append(name[: rnd.randint(1, len(name))])
            else:
                parts.append(rnd.choice(bits))
        texts.append("".join(parts))
    matches = 0
    for text in texts:
        for old, new in pairs:
            found = [(m.span(), m.groupdict()) for m in new.finditer(text)]
            assert found == [(m.span(), m.groupdict()) for m in old.finditer(text)], text
            matches += len(found)
    assert matches > 1000


def test_year_pattern_matches_like_the_lookbehind_form():
    import random
    import re

    from newsflow import dates

    old = re.compile(r"(?<!\d)(?:19|20|21|13|14|25)\d\d(?!\d)")
    rnd = random.Random(5)
    for _ in range(20000):
        text = "".join(rnd.choice("0123456789 192021131425x٢٠١٩-/.") for _ in range(rnd.randint(0, 16)))
        lo = rnd.randint(0, len(text))
        hi = rnd.randint(lo, len(text))
        assert [m.span() for m in dates._YEAR.finditer(text, lo, hi)] == [m.span() for m in old.finditer(text, lo, hi)]


def test_window_around_the_mark_is_the_collapsed_text_around_it():
    import random

    from newsflow import dates

    def plain(text: str, mark: int) -> str:
        flat = dates._WS.sub(" ", text[max(0, mark - dates._TEXT_BEFORE):mark + dates._TEXT_AFTER])
        at = flat.find(dates._MARK)
        return flat[max(0, at - dates._BEFORE_H1 - 100):at + dates._AFTER_H1 + 200]

    rnd = random.Random(1)
    for _ in range(300):
        spacing = rnd.random()  # from word-heavy to all whitespace
        size = rnd.choice([0, 5, 300, 1000, 5000, 20000])
        text = "".join(rnd.choice(" \n\t\u00a0\u2003") if rnd.random() < spacing else rnd.choice(["a", "bc", "xyz"])
                       for _ in range(size))
        at = rnd.randint(0, len(text))
        text = text[:at] + dates._MARK + text[at:] + (dates._MARK if rnd.random() < .3 else "")
        mark = text.find(dates._MARK)
        assert dates._around_mark(text, mark) == plain(text, mark)


def test_collapse_is_the_whitespace_regex():
    import random
    import re

    from newsflow import dates

    # str.split() and \s agree on every code point (surrogates included)
    for code in range(0x110000):
        char = chr(code)
        assert (re.fullmatch(r"\s", char) is not None) == char.isspace() == (len(f"a{char}b".split()) == 2), hex(code)
    rnd = random.Random(4)
    pieces = ["", " ", "  ", "\n", "\t", "\u00a0", "\u2003", "\u3000", "\x1c", "\x85", "a", "bc", "\ue000", "\u200b"]
    for _ in range(20000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 12)))
        assert dates._collapse(text) == dates._WS.sub(" ", text), repr(text)


def test_page_parser_builds_the_tree_etree_html_builds():
    from lxml import etree

    from newsflow import dates

    pages = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.html"))]
    pages += [p.read_text(encoding="utf-8") for p in sorted((FIXTURES.parent / "pages").glob("*.html"))]
    pages += ['<p id="a">x</p><p id="a">duplicate id</p><!-- c --><?pi x?>', "<div>&amp; &nbsp; &#1604;</div>"]
    for html in pages:
        assert etree.tostring(dates._parse_html(html)) == etree.tostring(etree.HTML(html))
    declared = '<?xml version="1.0" encoding="utf-8"?><html><body><p>x</p></body></html>'
    assert dates._parse_html(declared).findtext(".//p") == "x"


# Noise blocks inside noise blocks, noise around and beside the headline's own containers, tails after each
NESTED_NOISE_BODIES = [
    """<div class="related"><aside><p>In aside 2 June 2018</p></aside><div id="comments">c</div>tail one</div>
      <article><header><h1>Oil prices rise on strong demand</h1><nav>n</nav></header><p class="by">21 May 2018</p>
      <footer class="sidebar"><div class="widget">w</div>fw</footer>article foot</article>after""",
    """<main class="has-sidebar"><div class="story"><h1>Oil prices rise on strong demand</h1>
      <span itemprop="dateModified">24 May 2018</span><div class="popular"><ul class="trending"><li><a>x</a>
      <time>1 June 2018</time></li></ul><div class="newsletter">n</div></div>21 May 2018 12:23</div></main>
      <footer><div class="latest">l</div><nav><aside>deep</aside></nav>f</footer>""",
    """<header class="site"><div class="ticker"><span class="updated">u</span></div></header><div id="tweet-1">
      <div class="caption"><div class="recommend">r</div></div>tt</div><h1>Oil prices rise on strong demand</h1>
      <p>Body 21 May 2018</p><div class="outbrain"><div class="taboola"><div class="read-more">x</div></div></div>""",
]


def _prepared(html: str):
    from newsflow import dates

    root = dates._parse_html(html)
    tags = dates._by_tag(root)
    title = dates._page_title(root, tags)
    heading, weak = dates._main_heading(root, title, tags)
    keep = {root, *tags["body"]}
    if heading is not None:
        keep.update((heading, *heading.iterancestors()))
    return root, heading, weak, title, keep


def _noise_dropped_everywhere(root, heading, keep):
    """The page as _page_dateline leaves it when every element of the body is tested, inside noise blocks too; and
    how many of the noise blocks were inside others."""
    from lxml import etree

    from newsflow import dates

    etree.strip_elements(root, etree.Comment, *dates._DROP_ALWAYS, with_tail=False)
    body = root.find("body")
    body = body if body is not None else root
    doomed = []
    for el in body.iter():
        tag = el.tag
        if tag in dates._NEVER_NOISE or el in keep:
            continue
        classes, ident, itemprop = el.get("class") or "", el.get("id") or "", el.get("itemprop") or ""
        if (tag in ("nav", "aside") or (tag in ("footer", "header") and not dates._has_ancestor(el, "article"))
                or dates._NOISE_RX.search(classes) or (dates._MODIFIED_RX.search(classes) and "publish" not in classes)
                or dates._NOISE_RX.search(ident) or dates._MODIFIED_RX.search(itemprop)):
            doomed.append(el)
    nested = sum(1 for el in doomed if not set(doomed).isdisjoint(el.iterancestors()))
    for el in doomed:
        dates._drop(el)
    if heading is not None:
        heading.text = dates._MARK + (heading.text or "")
    return body, nested


def test_noise_pass_tests_only_the_outermost_blocks_and_leaves_the_same_page():
    from lxml import etree

    from newsflow import dates

    pages = [page(body=body) for body in NESTED_NOISE_BODIES]
    pages += [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.html"))]
    pages += [p.read_text(encoding="utf-8") for p in sorted((FIXTURES.parent / "pages").glob("*.html"))]
    if CORPUS.is_dir():
        pages += [gzip.open(p).read().decode("utf-8", "replace") for p in sorted((CORPUS / "html").glob("*.gz"))[:60]]
    nested = 0
    for html in pages:
        ours, reference = _prepared(html), _prepared(html)
        body = ours[0].find("body")
        if body is not None and len(body):  # a processing instruction with a noisy pseudo-attribute goes too
            body[0].addnext(etree.PI("x-widget", 'class="related"'))
            reference[0].find("body")[0].addnext(etree.PI("x-widget", 'class="related"'))
        dates._page_dateline(*ours, lang=None)
        expected, inside = _noise_dropped_everywhere(reference[0], reference[1], reference[4])
        body = ours[0].find("body")
        assert etree.tostring(body if body is not None else ours[0]) == etree.tostring(expected)
        nested += inside
    assert nested >= 10, "no page has noise inside noise"


def test_microdata_gate_is_the_regex_over_the_whole_page():
    import random

    from newsflow import dates

    rnd = random.Random(7)
    pieces = ["itemprop", "itemprop=", "=", " ", "\n", '"', "'", ">", "<", "datePublished", "date", "Published", "x",
              'itemprop ="', "ished", "i"]
    texts = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 14))) for _ in range(100000)]
    texts += [p.read_text(encoding="utf-8") for p in sorted((FIXTURES.parent / "pages").glob("*.html"))]
    texts += ['<script type="application/ld+json">{"datePublished": "2018"}</script><span itemprop = '
              "'x datePublished'>21 May 2018</span>", '<p itemprop="a">datePublished</p><i itemprop=datePublished>']
    found = 0
    for text in texts:
        assert dates._has_microdata_date(text) is (dates._MICRODATA_RX.search(text) is not None), repr(text)
        found += dates._has_microdata_date(text)
    assert found > 1000


def test_sources_that_agree_outvote_the_first_in_priority():
    cands = [cand("jsonld", naive(2020, 3, 9, 8)), cand("dateline", naive(2020, 3, 2, 10)),
             cand("url", naive(2020, 3, 2), False), cand("htmldate", naive(2020, 3, 2), False)]
    result = choose_publication_date(cands, fetched_at=FETCHED_LATE)
    # three readings of the page agree on the 2nd; the first of them in PRIORITY order gives the time
    assert (result.published_date, result.date_source) == (date(2020, 3, 2), "dateline")
    assert result.published_at == datetime(2020, 3, 2, 10, tzinfo=UTC)
    assert result.disagreement is True


def test_a_tie_goes_to_the_pages_own_metadata():
    cands = [cand("dateline", naive(2020, 3, 2, 10)), cand("jsonld", naive(2020, 3, 9, 8))]
    result = choose_publication_date(cands, fetched_at=FETCHED_LATE)
    assert (result.published_date, result.date_source) == (date(2020, 3, 9), "jsonld")
    cands += [cand("meta", naive(2020, 3, 2, 10)), cand("htmldate", naive(2020, 3, 9), False)]
    assert choose_publication_date(cands, fetched_at=FETCHED_LATE).date_source == "jsonld"


@pytest.mark.parametrize(("stamp", "others", "day"), [
    # a Rome page: stamped in UTC at 23:01, its URL and visible date say the 2nd (00:01 in Rome)
    (datetime(2023, 11, 1, 23, 1, tzinfo=UTC), [cand("url", naive(2023, 11, 2), False)], date(2023, 11, 2)),
    # San Francisco, 23:03 on the 18th: the dateline is local, the stamp UTC
    (datetime(2019, 11, 19, 7, 3, tzinfo=UTC),
     [cand("dateline", naive(2019, 11, 18, 23, 3)), cand("url", naive(2019, 11, 18), False)], date(2019, 11, 18)),
    # New York: a naive meta time in local time beside the UTC one
    (datetime(2023, 11, 9, 3, 28, tzinfo=UTC), [cand("meta", naive(2023, 11, 8, 22, 28))], date(2023, 11, 8)),
    # Auckland (+13 in summer is beyond +12: the stamp keeps its UTC day); 10:36 UTC is the same day from
    # UTC-10 to UTC+12, so another day elsewhere is no local reading of it
    (datetime(2024, 1, 10, 11, 30, tzinfo=UTC), [cand("url", naive(2024, 1, 11), False)], date(2024, 1, 10)),
    (datetime(2019, 11, 19, 10, 36, tzinfo=UTC), [cand("htmldate", naive(2019, 11, 20), False)], date(2019, 11, 19)),
    # htmldate mostly reads the stamp itself: its day is no second source for the UTC day
    (datetime(2021, 11, 4, 23, 0, tzinfo=UTC),
     [cand("dateline", naive(2021, 11, 5), False), cand("htmldate", naive(2021, 11, 4), False)], date(2021, 11, 5)),
    # another source on the stamp's own UTC day: the stamp stays there
    (datetime(2021, 11, 4, 23, 0, tzinfo=UTC),
     [cand("dateline", naive(2021, 11, 5), False), cand("time", naive(2021, 11, 4), False)], date(2021, 11, 4)),
    # alone, a UTC stamp is its UTC day
    (datetime(2023, 11, 1, 23, 1, tzinfo=UTC), [], date(2023, 11, 1)),
])
def test_a_utc_stamp_takes_the_local_day_the_other_sources_name(stamp, others, day):
    result = choose_publication_date([cand("jsonld", stamp), *others], fetched_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert (result.published_date, result.date_source) == (day, "jsonld")
    assert result.published_at == stamp  # the instant itself never moves


def test_a_stamp_with_a_real_offset_keeps_its_own_day():
    # +04:00 is the publisher's statement of its local time: a URL naming the next UTC day does not move it
    stamp = datetime(2020, 6, 2, 23, 30, tzinfo=timezone(timedelta(hours=4)))
    result = choose_publication_date([cand("jsonld", stamp), cand("url", naive(2020, 6, 3), False)],
                                     fetched_at=FETCHED_LATE)
    assert (result.published_date, result.date_source) == (date(2020, 6, 2), "jsonld")


def test_a_future_candidate_does_not_vote():
    cands = [cand("jsonld", naive(2030, 1, 1, 8)), cand("meta", naive(2030, 1, 1, 8)),
             cand("dateline", naive(2020, 3, 2, 10))]
    result = choose_publication_date(cands, fetched_at=FETCHED_LATE)
    assert (result.published_date, result.date_source, result.reason) == (date(2020, 3, 2), "dateline", None)


def test_candidates_from_a_tree_parsed_by_the_caller_match_the_page_parsed_here():
    from newsflow.extract import _parse

    for name in sorted(p.name for p in (CORPUS / "html").glob("*.html.gz"))[:40]:
        html = gzip.decompress((CORPUS / "html" / name).read_bytes()).decode("utf-8", "replace")
        url = "https://example.com/2019/11/18/story.html"
        own = gather_candidates(html, url, use_htmldate=False)
        given = gather_candidates(html, url, use_htmldate=False, root=_parse(html))
        assert [(c.source, c.value, c.raw) for c in given] == [(c.source, c.value, c.raw) for c in own], name


# ---------------------------------------------------------------------------------------------------------
# Relative dates: only for a page with nothing else, only beside the headline, against the fetch time

READ_AT = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)  # 04:30 in Riyadh, 20:30 the day before in New York


def headline_page(under: str, *, lang: str = "en", extra: str = "") -> str:
    story = "<p>" + "The council approved the budget after a long debate on schools and roads. " * 12 + "</p>"
    return (f'<html lang="{lang}"><head><title>Council approves budget - Example News</title></head><body>'
            f"<nav><a href='/'>Home</a></nav><article><h1>Council approves budget</h1>{under}{story}</article>"
            f"{extra}</body></html>")


def relative(html: str, tz: str | None = None, fetched_at: datetime = READ_AT):
    cands = gather_candidates(html, URL, use_htmldate=False, fetched_at=fetched_at, tz=tz)
    assert [c.source for c in cands] in ([], ["relative"])
    return choose_publication_date(cands, fetched_at=fetched_at, tz=tz)


@pytest.mark.parametrize(("under", "tz", "published_at", "published_date"), [
    # minutes and hours are instants before the reading; their day is the publisher's
    ('<span class="time">3 hours ago</span>', None, datetime(2026, 12, 2, 22, 30, tzinfo=UTC), date(2026, 12, 2)),
    ('<span class="time">3 hours ago</span>', "Asia/Riyadh", datetime(2026, 12, 2, 22, 30, tzinfo=UTC),
     date(2026, 12, 3)),
    ("<time>منذ ساعتين</time>", "Asia/Riyadh", datetime(2026, 12, 2, 23, 30, tzinfo=UTC), date(2026, 12, 3)),
    ("<span>منذ ٤٥ دقيقة</span>", None, datetime(2026, 12, 3, 0, 45, tzinfo=UTC), date(2026, 12, 3)),
    ("<span>Опубликовано: 5 часов назад</span>", None, datetime(2026, 12, 2, 20, 30, tzinfo=UTC), date(2026, 12, 2)),
    ("<span>vor 20 Minuten</span>", "Europe/Berlin", datetime(2026, 12, 3, 1, 10, tzinfo=UTC), date(2026, 12, 3)),
    ("<span>il y a une heure</span>", None, datetime(2026, 12, 3, 0, 30, tzinfo=UTC), date(2026, 12, 3)),
    ("<span>2小时前</span>", "Asia/Shanghai", datetime(2026, 12, 2, 23, 30, tzinfo=UTC), date(2026, 12, 3)),
    ("<span>3時間前</span>", "Asia/Tokyo", datetime(2026, 12, 2, 22, 30, tzinfo=UTC), date(2026, 12, 3)),
    ("<span>5시간 전</span>", "Asia/Seoul", datetime(2026, 12, 2, 20, 30, tzinfo=UTC), date(2026, 12, 3)),
    ("<span>hace 2 horas</span>", "America/Mexico_City", datetime(2026, 12, 2, 23, 30, tzinfo=UTC),
     date(2026, 12, 2)),
    # days ago is a day: local midnight
    ("<span>2 days ago</span>", "America/New_York", datetime(2026, 11, 30, 5, 0, tzinfo=UTC), date(2026, 11, 30)),
    ("<span>منذ يومين</span>", "Asia/Riyadh", datetime(2026, 11, 30, 21, 0, tzinfo=UTC), date(2026, 12, 1)),
    # yesterday or today with a time: the publisher's calendar day
    ("<div>Yesterday at 2:05 pm</div>", None, datetime(2026, 12, 2, 14, 5, tzinfo=UTC), date(2026, 12, 2)),
    ("<div>أمس 12:23 مساءً</div>", "Asia/Riyadh", datetime(2026, 12, 2, 9, 23, tzinfo=UTC), date(2026, 12, 2)),
    ("<div>Сегодня, 03:10</div>", "Europe/Moscow", datetime(2026, 12, 3, 0, 10, tzinfo=UTC), date(2026, 12, 3)),
    ("<div>昨天 18:40</div>", "Asia/Shanghai", datetime(2026, 12, 2, 10, 40, tzinfo=UTC), date(2026, 12, 2)),
    # a day and month without the year: the latest such day not after the reading
    ("<p class=date>21 May, 12:23</p>", None, datetime(2026, 5, 21, 12, 23, tzinfo=UTC), date(2026, 5, 21)),
    ("<p class=date>Monday, December 21</p>", None, datetime(2025, 12, 21, tzinfo=UTC), date(2025, 12, 21)),
    ("<p>الاثنين 21 مايو 12:23 مساءً</p>", "Asia/Riyadh", datetime(2026, 5, 21, 9, 23, tzinfo=UTC),
     date(2026, 5, 21)),
    ("<p>12月2日 09:15</p>", "Asia/Tokyo", datetime(2026, 12, 2, 0, 15, tzinfo=UTC), date(2026, 12, 2)),
    ("<p>3 декабря, 04:00</p>", "Europe/Moscow", datetime(2026, 12, 3, 1, 0, tzinfo=UTC), date(2026, 12, 3)),
])
def test_a_relative_date_beside_the_headline_is_read_against_the_fetch(under, tz, published_at, published_date):
    result = relative(headline_page(under), tz)
    assert (result.date_source, result.published_at, result.published_date) == ("relative", published_at,
                                                                                 published_date)


@pytest.mark.parametrize("under", [
    "<p>Reading time: 5 min</p>",  # no "ago"
    "<p>The storm hit the coast 3 days ago and the roads are still closed.</p>",  # a sentence about an event
    "<span>3 weeks ago</span>",  # too coarse for a day
    "<span>10 days ago</span>",
    "<span>Updated 2 hours ago</span>",  # an update is not the publication
    "<span>Today</span>",  # no time: a section name as often as a date
    "<span>days ago</span>",  # no number
    "<span>Vol. 12 · 2 hours ago</span>",  # digits in the label: not a dateline
])
def test_what_is_not_a_relative_dateline(under):
    assert relative(headline_page(under)).reason == "missing_date"


def test_relative_dates_in_comments_and_teasers_are_not_the_pages():
    far = "".join(f"<div class='c'><p>{'A reader wrote a long comment about the budget. ' * 3}</p>"
                  f"<span>{i} hours ago</span></div>" for i in range(1, 90))
    assert relative(headline_page("", extra=far)).reason == "missing_date"


def test_a_relative_date_is_only_a_last_resort():
    html = headline_page('<span class="time">3 hours ago</span>',
                         extra='<script type="application/ld+json">{"@type": "NewsArticle", '
                               '"datePublished": "2026-11-20T10:00:00Z"}</script>')
    cands = gather_candidates(html, URL, use_htmldate=False, fetched_at=READ_AT)
    assert [c.source for c in cands] == ["jsonld"]
    # without the fetch time (an old caller) nothing is read
    assert gather_candidates(headline_page("<span>3 hours ago</span>"), URL, use_htmldate=False) == []


def test_an_archived_page_is_dated_against_its_capture_time():
    captured = datetime(2018, 5, 21, 15, 0, tzinfo=UTC)
    result = relative(headline_page("<span>منذ 3 ساعات</span>", lang="ar"), "Asia/Riyadh", fetched_at=captured)
    assert (result.published_at, result.published_date) == (datetime(2018, 5, 21, 12, 0, tzinfo=UTC),
                                                             date(2018, 5, 21))


@pytest.mark.parametrize("line", [
    # Umm al-Qura puts 5 Ramadan 1439 on 20 May 2018; a country that follows the moon sighting printed the 21st
    "الاثنين 5 رمضان 1439 هـ - 21 مايو 2018 م",
    "21 مايو 2018 م الموافق 5 رمضان 1439 هـ",
])
def test_a_gregorian_date_printed_beside_a_hijri_one_wins(line):
    html = headline_page(f'<div class="date">{line}</div>', lang="ar")
    (cand,) = by_source(gather_candidates(html, URL, lang="ar", use_htmldate=False), "dateline")
    assert cand.value == naive(2018, 5, 21)
    assert "مايو" in cand.raw


def test_a_hijri_date_alone_is_converted():
    html = headline_page('<div class="date">الاثنين 6 رمضان 1439 هـ</div>', lang="ar")
    (cand,) = by_source(gather_candidates(html, URL, lang="ar", use_htmldate=False), "dateline")
    assert cand.value == naive(2018, 5, 21)


def test_a_short_label_is_a_whole_word():
    # Icelandic "Birt" (published) must not be read inside "birth" or a name: a date of birth is no dateline label
    from newsflow.dates import _PUBLISHED_LABEL

    assert _PUBLISHED_LABEL.search("Birt: ")
    assert not _PUBLISHED_LABEL.search("Date of birth: ")
    assert not _PUBLISHED_LABEL.search("photo: Tetbirt ")


def test_a_day_only_choice_borrows_no_time_past_the_tolerance():
    """A day-only date takes the time of a same-day candidate only when that time is not in the future: a dateline
    in -14:00 late on the same day is past the fetch plus a day, and would give published_at in the future."""
    cands = [cand("meta", naive(2018, 6, 1), has_time=False),
             cand("dateline", datetime(2018, 6, 1, 23, 0, tzinfo=tzo(-14)))]
    result = choose_publication_date(cands, fetched_at=FETCHED)
    assert result.date_source == "meta"
    assert result.published_date == date(2018, 6, 1)
    assert result.published_at == datetime(2018, 6, 1, tzinfo=UTC)


def test_a_naive_fetch_time_is_utc_whatever_the_sources_zone():
    """fetched_at without an offset is UTC (as the archive records it), not the source's local time: read in
    Kiritimati (+14:00) it moved the future limit 14 hours earlier and rejected a date 22 hours after the fetch."""
    published = datetime(2018, 6, 2, 10, 0, tzinfo=UTC)
    result = choose_publication_date([cand("jsonld", published)], fetched_at=FETCHED.replace(tzinfo=None),
                                     tz="Pacific/Kiritimati")
    assert result.reason is None
    assert result.published_at == published


@pytest.mark.parametrize(("stated", "stamp", "day"), [
    # Kiritimati 00:10 on the 6th (+14:00) is 10:10 UTC on the 5th
    (datetime(2026, 12, 6, 0, 10, tzinfo=tzo(14)), datetime(2026, 12, 5, 10, 10, tzinfo=UTC), date(2026, 12, 6)),
    # Auckland in summer, 00:30 on the 6th (+13:00)
    (datetime(2026, 12, 6, 0, 30, tzinfo=tzo(13)), datetime(2026, 12, 5, 11, 30, tzinfo=UTC), date(2026, 12, 6)),
    # Pago Pago 23:30 on the 4th (-11:00) is 10:30 UTC on the 5th
    (datetime(2026, 12, 4, 23, 30, tzinfo=tzo(-11)), datetime(2026, 12, 5, 10, 30, tzinfo=UTC), date(2026, 12, 4)),
])
def test_a_utc_stamp_follows_the_offset_the_page_states_beyond_utc_plus_12(stated, stamp, day):
    """A page that states its own offset in JSON-LD beside the same instant stamped in UTC (its article:published_time,
    its feed's GMT pubDate) and read back by htmldate: the publisher's day is the one its offset names, as within
    UTC-10 to UTC+12. Beyond them the stamp and htmldate's echo of it outvoted the page's own +14:00."""
    cands = [cand("jsonld", stated), cand("meta", stamp), cand("htmldate", naive(stamp.year, stamp.month, stamp.day), False)]
    result = choose_publication_date(cands, fetched_at=datetime(2026, 12, 6, 12, tzinfo=UTC))
    assert (result.published_date, result.published_at) == (day, stamp)
