"""The live sample newsroom: deterministic per time slot, dated now in each outlet's zone, feeds and sitemap that
grow on the clock, a silent outlet, and real HTTP through the sample site server."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from newsflow.config import load_sources, project_root
from newsflow.sample_site.live import SILENT_OUTLET, LiveNewsroom
from newsflow.sample_site.server import SampleSite

OPENED = 1_800_000_000  # a fixed instant, a multiple of 60


def newsroom(now: float, **kwargs) -> LiveNewsroom:
    return LiveNewsroom(opened_at=OPENED, clock=lambda: now, **{"slot_s": 60, **kwargs})


def test_same_slot_same_articles_and_pages():
    first, again = newsroom(OPENED + 130), newsroom(OPENED + 170)
    assert [a.path for a in first.articles("alhadath")] == [a.path for a in again.articles("alhadath")]
    path = first.articles("alhadath")[0].path
    assert first.render(path, "http://h") == again.render(path, "http://h")


def test_a_new_article_every_slot_dated_now_in_the_outlets_zone():
    room = newsroom(OPENED + 185)
    live = [a for a in room.articles("alhadath") if "/story-" in a.path]
    assert len(live) == 4  # slots opened+0 .. opened+3
    newest = live[0]
    assert newest.published == datetime.fromtimestamp(OPENED + 180, UTC)
    assert newest.published.tzinfo == ZoneInfo("Asia/Beirut")
    later = newsroom(OPENED + 245)
    assert len([a for a in later.articles("alhadath") if "/story-" in a.path]) == 5


def test_bodies_are_long_enough_and_in_the_outlets_language():
    room = newsroom(OPENED + 60)
    for outlet, pattern in (("alhadath", "[\u0600-\u06ff]"), ("novosti", "[а-я]"), ("dailyherald", "[a-z]")):
        for article in room.articles(outlet)[:10]:
            text = " ".join(article.paragraphs)
            assert len(text) >= 400
            assert len(re.findall(pattern, text)) > len(text) / 2


def test_one_outlet_is_silent_for_a_while_then_publishes():
    room = newsroom(OPENED + 60 * 5, silent_s=600, silent_days=4)
    quiet = room.articles(SILENT_OUTLET)
    assert not [a for a in quiet if "/story-" in a.path]
    opened_day = datetime.fromtimestamp(OPENED, UTC).astimezone(ZoneInfo("Asia/Tehran")).date()
    assert (opened_day - max(a.published.date() for a in quiet)).days == 5  # nothing in the last four days
    back = newsroom(OPENED + 60 * 12, silent_s=600).articles(SILENT_OUTLET)
    assert len([a for a in back if "/story-" in a.path]) == 3


def test_future_and_unknown_pages_are_404():
    room = newsroom(OPENED + 60)
    current = room.articles("novosti")[0].path
    future = current.replace(str(OPENED // 60 + 1), str(OPENED // 60 + 5))
    assert room.render(current, "http://h") is not None
    assert room.render(future, "http://h") is None
    assert room.render("/live/nowhere/rss.xml", "http://h") is None


def test_served_over_http_with_validators():
    with SampleSite(live=LiveNewsroom()) as site:
        feed = urllib.request.urlopen(f"{site.base_url}/live/alhadath/rss.xml", timeout=5)
        body = feed.read().decode()
        assert feed.headers["Content-Type"] == "application/rss+xml"
        # the Arabic outlet's links end in words of the headline, in Arabic: an IRI, which urllib sends only encoded
        link = re.search(r"<link>(http[^<]+/story-\d+-[^<]+\.html)</link>", body).group(1)
        assert not link.isascii()
        link = urllib.parse.quote(link, safe=":/")
        page = urllib.request.urlopen(link, timeout=5)
        assert 'lang="ar"' in page.read().decode()
        again = urllib.request.Request(link, headers={"If-None-Match": page.headers["ETag"]})
        with pytest.raises(urllib.error.HTTPError) as not_modified:
            urllib.request.urlopen(again, timeout=5)
        assert not_modified.value.code == 304
        # the fixed 2018 site is still there
        assert urllib.request.urlopen(f"{site.base_url}/alhadath/rss.xml", timeout=5).status == 200


def test_live_sources_file_schedules_every_outlet_every_minute():
    config = load_sources(project_root() / "config" / "sources.live.yaml")
    assert config.schedule_groups() == {"* * * * *": ["alhadath", "dailyherald", "novosti", "khabar"]}
    assert all("127.0.0.1:8766/live/" in s.url for s in config.sources)
