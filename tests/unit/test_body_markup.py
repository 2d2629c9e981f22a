"""The body's markup repairs (newsflow.body_markup) on small hand-made pages in several scripts: story text that
trafilatura's precision mode drops for the markup around it comes back, and what the repairs must leave alone stays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree
from trafilatura import load_html

from newsflow import body_markup
from newsflow.extract import extract_body, extract_html

FETCHED_AT = datetime(2026, 1, 1, tzinfo=UTC)

# filler paragraphs per script, so trafilatura sees an article around the markup under test
FILLER = {
    "en": "The council met on Monday evening and discussed the budget for the coming year in detail.",
    "ar": "اجتمع المجلس البلدي مساء الاثنين وناقش ميزانية العام المقبل بالتفصيل مع ممثلي الأحياء.",
    "ru": "Городской совет собрался в понедельник вечером и подробно обсудил бюджет на следующий год.",
    "zh": "市议会星期一晚上召开会议，详细讨论了明年的预算安排以及各个社区提出的具体意见和建议。",
}


def _page(lang: str, inner: str, title: str = "Council budget") -> str:
    # long enough that the precise pass stands (a shorter body gets newsflow's recall rescue pass)
    filler = "".join(f"<p>{FILLER[lang]} ({i})</p>" for i in range(10 if lang == "zh" else 4))
    return (f"<html lang='{lang}'><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"{filler}{inner}{filler}</article></body></html>")


def _body(html: str) -> str:
    return extract_body(html, url="https://news.example/2024/05/21/budget")


# text after an empty anchor target (WordPress' "more" span) or spacer block
ANCHORED = [
    ("ar", "<p><span id='more-5129'></span>وقال رئيس المجلس إن الميزانية الجديدة تضع المدارس في المقام الأول.</p>",
     "وقال رئيس المجلس إن الميزانية الجديدة تضع المدارس في المقام الأول."),
    ("ru", "<p><span id='more-881'></span>Председатель совета сказал, что новый бюджет ставит школы на первое место.</p>",
     "Председатель совета сказал, что новый бюджет ставит школы на первое место."),
    ("zh", "<p><span id='more-77'></span>市长表示，新的预算把学校放在首位，并增加了公共交通的投入。</p>",
     "市长表示，新的预算把学校放在首位，并增加了公共交通的投入。"),
    ("en", "<h2><strong><div class='height-spacer'></div>Meal plan for the week<div class='height-spacer'></div>"
           "</strong></h2>", "Meal plan for the week"),
]


@pytest.mark.parametrize(("lang", "inner", "expected"), ANCHORED)
def test_text_after_an_empty_anchor_or_spacer_stays_in_the_body(lang, inner, expected):
    assert expected in _body(_page(lang, inner))


def test_an_icon_label_is_not_carried():
    # an empty inline element without an id is an icon: the text after it is a control's label
    tree = load_html("<html><body><p>Text <a href='/print'><span class='icon-print'></span>Print</a></p>"
                     "<div><i class='fa fa-comment'></i>Comments (3)</div></body></html>")
    assert body_markup.carry_tails(tree) == 0


def test_a_block_spacer_keeps_the_line_break():
    tree = load_html("<html><body><div>First line<div class='spacer'></div>Second line</div></body></html>")
    assert body_markup.carry_tails(tree) == 1
    assert tree.find(".//body/div").text == "First line\nSecond line"


# a styled span inside a sentence ("link", "bottom", a border style: classes precision mode drops)
SENTENCES = [
    ("en", "<p>Reuters has reported that <span class='link'><a href='https://news.example/fine'>the league will "
           "fine the player</a></span> for his role in the fight.</p>",
     "has reported that the league will fine the player for his role in the fight."),
    ("ru", "<p>Как сообщил <span style='border-bottom:1px dotted'>глава района Иван Петров</span>, ремонт "
           "начнётся летом.</p>", "Как сообщил глава района Иван Петров, ремонт начнётся летом."),
]


@pytest.mark.parametrize(("lang", "inner", "expected"), SENTENCES)
def test_a_span_inside_a_sentence_keeps_the_sentence_whole(lang, inner, expected):
    assert expected in " ".join(_body(_page(lang, inner)).split())


def test_hidden_and_edge_spans_are_not_unwrapped():
    tree = load_html("<html><body><p>Read <span aria-hidden='true'>icon</span> this "
                     "<span style='display: none'>secret</span> now.</p>"
                     "<p><span class='caption'>A photo caption</span><span class='credit'>Reuters</span></p>"
                     "<p>Also: <span class='link'><a href='/x'>See our coverage</a></span></p></body></html>")
    assert body_markup.unwrap_spans_in_sentences(tree) == 0


HEADINGS = [
    "<h2>What the budget changes<a class='anchor' href='#what'></a></h2>",
    "<h2><span><a class='headline-anchor' href='#s2'><svg width='14'></svg></a>学校获得更多资金</span></h2>",
    "<h3><a id='schools'></a>المدارس أولا</h3>",
]


@pytest.mark.parametrize("heading", HEADINGS)
def test_an_empty_anchor_link_in_a_heading_is_unwrapped(heading):
    # trafilatura's link-density test drops a heading whose only link has no text (a deals page's product headings,
    # a licence's section headings with permalink icons on the corpora); the heading's text is kept whole
    tree = load_html(f"<html><body><article>{heading}<p>{FILLER['en']}</p></article></body></html>")
    text = tree.find(".//article/*").text_content()
    assert body_markup.unwrap_empty_heading_links(tree) == 1
    first = tree.find(".//article/*")
    assert first.find(".//a") is None and first.text_content() == text


def test_a_picture_link_in_a_heading_is_not_unwrapped():
    tree = load_html("<html><body><h2><div class='imgbox'><a href='/big.jpg'><img src='/small.jpg'></a></div>"
                     "Caption</h2></body></html>")
    assert body_markup.unwrap_empty_heading_links(tree) == 0


def test_repairs_work_on_a_copy_and_metadata_reads_the_page_as_published():
    # the byline's author span sits inside a sentence: the body's copy unwraps it, the metadata still finds it
    byline = "<p>Written by <span class='author'>Dana Whitfield</span> for the Herald.</p>"
    html = _page("en", byline)
    tree = load_html(html)
    before = etree.tostring(tree)
    copy = body_markup.repaired(tree)
    assert etree.tostring(tree) == before
    assert copy.find(".//span[@class='author']") is None
    record = extract_html(html, url="https://news.example/2024/05/21/budget", source="t", fetched_at=FETCHED_AT)
    assert record["author"] == "Dana Whitfield"
    assert "Written by Dana Whitfield for the Herald." in record["body"]


def test_a_page_with_nothing_to_repair_is_not_copied():
    tree = load_html(_page("en", "<p>Nothing unusual in this paragraph of the story.</p>"))
    assert body_markup.repaired(tree) is tree
