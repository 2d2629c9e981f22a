"""Real article patterns that newsflow's validation used to reject, each as a small page written for the project:
navigation_page (Russian, Swedish, English), bad_language_code, missing_date (Bengali; a German blog whose date is
in the post footer; an Italian notice dated in its title; Czech, Hungarian, Romanian and Thai datelines; a Saudi
page dated only in the Hijri calendar; Arabic,
Japanese and English live pages dated only "3 hours ago", "June 28" or "yesterday at 4:15 pm"),
body_too_short (a Chinese news brief of 112 characters). Extraction then Great Expectations validation, as the
pipeline runs them; every page must pass, with the stated date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from newsflow.extract import MIN_LINK_LINES, extract_html, link_density
from newsflow.quality import body_size

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "rejections"
FETCHED_AT = datetime(2024, 7, 1, tzinfo=UTC)
# (file, url, language, published_date, the reason the old code rejected the page for)
CASES = [
    ("ru_short_news_read_also.html", "https://tomsk-vesti.example/city/2024/03/14/most-ushaika/", "ru",
     date(2024, 3, 14), "navigation_page"),
    ("sv_short_news_self_links.html", "https://www.ostkusten.example/nyheter/2024/01/09/farjetrafiken-installd/", "sv",
     date(2024, 1, 9), "navigation_page"),
    ("en_explainer_table_of_contents.html", "https://valleycourier.example/news/2024/05/30/rail-timetable-explained",
     "en", date(2024, 5, 30), "navigation_page"),
    ("bn_news_bengali_dateline.html", "https://nodirkhobor.example/economy/article/88213", "bn", date(2024, 4, 11),
     "missing_date"),
    ("de_blog_post_footer_date.html", "http://notizen.example/news/2011/12/kein-cyberterrorismus-diesmal/", "de",
     date(2011, 12, 3), "missing_date"),
    ("it_notice_date_in_title.html", "http://parco-majella.example/dettaglio.php?id=58354", "it", date(2020, 1, 14),
     "missing_date"),
    # datelines in languages the date scanner did not read (no metadata on these pages): missing_date
    ("cs_tram_line_genitive_month.html", "https://moravsky-denik.example/zpravy/brno-tramvaj-kampus", "cs",
     date(2024, 3, 14), "missing_date"),
    ("hu_bridge_year_first_date.html", "https://delvideki-hirek.example/belfold/uj-gyalogoshid-szeged", "hu",
     date(2024, 3, 14), "missing_date"),
    ("ro_bike_lanes_romanian_month.html", "https://stiri-ardeal.example/actualitate/piste-biciclete-cluj", "ro",
     date(2024, 3, 14), "missing_date"),
    ("th_rail_buddhist_era_date.html", "https://khao-phumipak.example/region/news/88213", "th", date(2024, 3, 14),
     "missing_date"),
    # the Buddhist era written before the year ("14 มีนาคม พ.ศ. 2567"), as Thai news and press releases print it
    ("th_weather_era_marker_dateline.html", "https://khaosod-south.example/news/4932211", "th", date(2024, 3, 14),
     "missing_date"),
    # a two-paragraph brief: 112 Chinese characters say what ~250 English ones do (newsflow.quality.body_size)
    ("zh_flash_brief.html", "https://www.binjiang-daily.example/news/flash/2024-06-24/88150.html", "zh",
     date(2024, 6, 24), "body_too_short"),
    # a Saudi page dated only in the lunar Hijri calendar ("الأحد 25 ذو القعدة 1445 هـ")
    ("ar_saudi_news_hijri_dateline.html", "https://alwadi-news.example/local/mashaer-train-trial", "ar",
     date(2024, 6, 2), "missing_date"),
    # an Arabic WordPress dateline with the Arabic comma ("1 يونيو، 2024"); bare trafilatura dates this page
    ("ar_wordpress_arabic_comma_dateline.html", "https://alwadi-news.example/local/aqaba-desalination-plant", "ar",
     date(2024, 6, 1), "missing_date"),
    # live pages that state their date relative to the reading, and nothing else (read against the fetch time)
    ("ar_live_news_hours_ago.html", "https://alhadath-jo.example/local/aqaba-desalination", "ar", date(2024, 6, 30),
     "missing_date"),
    ("ja_live_news_date_without_year.html", "https://kitahama-shimbun.example/local/bus-night-service", "ja",
     date(2024, 6, 28), "missing_date"),
    ("en_local_news_yesterday_time.html", "https://riverside-courier.example/news/library-summer-hours", "en",
     date(2024, 6, 30), "missing_date"),
    # a Persian dateline with the word "month" after the month's name ("۱۵ خردادماه ۱۴۰۳"): no date, or the date of
    # the "today" line above the headline (the fetch day)
    ("fa_metro_month_word_dateline.html", "https://shahr-news.example/fa/news/84691234/metro-mashhad", "fa",
     date(2024, 6, 4), "missing_date"),
    ("ko_news_br_separated_body.html", "https://www.badailbo.example/news/articleView.html?idxno=20240520001", "ko",
     date(2024, 5, 20), None),
]


def _record(name: str, url: str) -> dict:
    record = extract_html((PAGES / name).read_text(encoding="utf-8"), url=url, source="fixture", fetched_at=FETCHED_AT)
    return {**record, "fetched_at": FETCHED_AT}


@pytest.mark.parametrize(("name", "url", "language", "published", "old_reason"), CASES, ids=[c[0] for c in CASES])
def test_the_article_is_extracted_whole(name, url, language, published, old_reason):
    record = _record(name, url)
    assert record["language"] == language
    assert record["published_date"] == published
    assert body_size(record["body"]) >= 200
    assert record["link_density"] <= 0.5


def test_no_real_article_is_rejected():
    from newsflow.quality import ArticleValidator

    validator = ArticleValidator(source="fixture", known_sources=["fixture"])
    outcome = validator.validate([_record(name, url) for name, url, *_ in CASES])
    assert [(r["url"], r["reasons"]) for r in outcome.rejected] == []
    assert len(outcome.valid) == len(CASES)


def test_a_list_of_links_is_still_a_navigation_page():
    anchors = frozenset(f"Headline number {i} about the council budget" for i in range(6))
    body = "\n".join(["Politics", *sorted(anchors), "More stories"])
    assert link_density(body, anchors) > 0.8
    # fewer than MIN_LINK_LINES such lines are a short article with a few links, not a list
    few = "\n".join(["Politics", *sorted(anchors)[: MIN_LINK_LINES - 1]])
    assert link_density(few, anchors) == 0.0


def test_links_to_the_page_itself_do_not_count():
    html = ("<html><body><article><h1>Bridge reopens</h1>"
            + "".join(f'<p><a href="{href}">Paragraph {i} of the story about the bridge reopening on Monday.</a></p>'
                      for i, href in enumerate(["#a", "/news/bridge?ref=home", "https://www.site.example/news/bridge/",
                                                "/news/bridge#comments"]))
            + "</article></body></html>")
    record = extract_html(html, url="https://site.example/news/bridge", source="t", fetched_at=FETCHED_AT)
    assert record["link_density"] == 0.0
    elsewhere = html.replace("/news/bridge", "/news/other").replace("#a", "/news/other-a")
    assert extract_html(elsewhere, url="https://site.example/news/bridge", source="t",
                        fetched_at=FETCHED_AT)["link_density"] > 0.5
