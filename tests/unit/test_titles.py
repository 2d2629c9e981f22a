"""Site-name prefixes and suffixes are stripped from titles in every script; headlines themselves stay whole."""

from __future__ import annotations

import pytest

from newsflow.titles import clean_title, common_affixes


@pytest.mark.parametrize(
    ("title", "site_names", "expected"),
    [
        ("Headline about the port strike - Site", ["Site"], "Headline about the port strike"),
        ("Site | Headline about the port strike", ["Site"], "Headline about the port strike"),
        ("Council approves £4m plan | The Daily Herald", ["The Daily Herald"], "Council approves £4m plan"),
        ("The Daily Herald | Council approves £4m plan", ["dailyherald"], "Council approves £4m plan"),
        ("Council approves £4m plan – Daily Herald", ["The Daily Herald"], "Council approves £4m plan"),
        ("مرفأ طرابلس يطلق المرحلة الثانية - الحدث", ["الحدث"], "مرفأ طرابلس يطلق المرحلة الثانية"),
        ("الحدث | مرفأ طرابلس يطلق المرحلة الثانية", ["الحدث"], "مرفأ طرابلس يطلق المرحلة الثانية"),
        ("بازگشایی موزه‌ی آب یزد پس از مرمت | خبرنامه کویر", ["خبرنامه کویر"], "بازگشایی موزه‌ی آب یزد پس از مرمت"),
        ("成渝高铁提速改造工程启动-城市快报网", ["城市快报网"], "成渝高铁提速改造工程启动"),
        ("高考首日 多地推出便民举措护航考生_今日新闻网", ["今日新闻网"], "高考首日 多地推出便民举措护航考生"),
        ("桜まつり、今年は夜間ライトアップを拡大 ｜ みなと新聞", ["みなと新聞"], "桜まつり、今年は夜間ライトアップを拡大"),
        ("В Казани открыли мост через Казанку — Городские вести", ["Городские вести"],
         "В Казани открыли мост через Казанку"),
        ("Новости: В Казани открыли мост", ["Новости"], "В Казани открыли мост"),
        ("Brexit: what happens next | Politics | The Guardian", ["The Guardian"], "Brexit: what happens next"),
        ("市议会通过明年财政预算_新闻中心_城市快报网", ["城市快报网"], "市议会通过明年财政预算"),
        ("snake_case names explained | Dev Notes", ["Dev Notes"], "snake_case names explained"),
        # a site name with a tagline, itself split by a separator, goes whole
        ("LinkNaija | Nigeria's popular news platform: Actress stuns in new photos",
         ["LinkNaija | Nigeria's popular news platform"], "Actress stuns in new photos"),
        ("Stadtrat beschließt Haushalt 2025 - Kreisbote – Nachrichten aus dem Landkreis",
         ["Kreisbote – Nachrichten aus dem Landkreis"], "Stadtrat beschließt Haushalt 2025"),
        ("أخبار اليوم | صوت الشارع: افتتاح جسر جديد في المدينة", ["أخبار اليوم | صوت الشارع"],
         "افتتاح جسر جديد في المدينة"),
        # separators inside the headline are not site names
        ("US - China trade talks resume", ["Example News"], "US - China trade talks resume"),
        ("Trump - Kim summit ends early - Example News", ["Example News"], "Trump - Kim summit ends early"),
        ("Brexit: what happens next", ["Brexit Central"], "Brexit: what happens next"),
        ("Site", ["Site"], "Site"),
        # the site's name inside a short part is the site; inside a longer one it is the headline naming its site
        ("Harbour cranes replaced - Harbourtown Gazette Online", ["gazette"], "Harbour cranes replaced"),
        ("Open day - Acme at the Leipzig trade fair 2024", ["acme"], "Open day - Acme at the Leipzig trade fair 2024"),
        ("Ten years of acme-notes.example - an anniversary post", ["acme-notes"],
         "Ten years of acme-notes.example - an anniversary post"),
    ],
)
def test_site_names_stripped(title, site_names, expected):
    assert clean_title(title, site_names=site_names) == expected


def test_h1_preferred_when_title_contains_it():
    assert clean_title("Site | Headline long enough", h1="Headline long enough", site_names=[]) == "Headline long enough"
    assert clean_title(None, h1="Only a headline") == "Only a headline"
    assert clean_title("  spaced   title  ", site_names=[]) == "spaced title"


def test_common_affixes_find_an_undeclared_site_name():
    titles = ["One headline | Kavir", "Another headline | Kavir", "Third | Kavir", "Odd one out"]
    assert common_affixes(titles) == ["Kavir"]


def test_the_h1_the_metadata_confirms_is_the_headline():
    from newsflow.titles import choose_title

    # the SEO title differs from the displayed headline; the JSON-LD headline confirms the <h1>
    assert choose_title(["Major WeWork layoffs to begin today"],
                        ["WeWork employees to be laid off this week", "Major WeWork layoffs to begin today"]) \
        == "Major WeWork layoffs to begin today"
    # a logo <h1> first, the headline second
    assert choose_title(["The Valley Courier", "Rail timetable: what changes for commuters"],
                        ["Rail timetable: what changes for commuters | The Valley Courier"],
                        site_names=["The Valley Courier"]) == "Rail timetable: what changes for commuters"
    # most of the same words: the og:title shortens the displayed headline
    assert choose_title(["'We Got Her!': Video Shows Dramatic Rescue of Kidnapped Fort Worth Girl"],
                        ["'We Got Her!': Video Shows Dramatic Rescue of Kidnapped Girl"]) \
        == "'We Got Her!': Video Shows Dramatic Rescue of Kidnapped Fort Worth Girl"


def test_a_section_or_logo_h1_is_not_the_headline():
    from newsflow.titles import choose_title, confirms

    assert not confirms("Politik", "Koalition einigt sich auf Haushalt - Politik - Tagesblatt")
    assert not confirms("Home", "Home of the week: a cottage by the sea")
    assert choose_title(["Politik"], ["Koalition einigt sich auf Haushalt - Tagesblatt"], site_names=["Tagesblatt"]) \
        == "Koalition einigt sich auf Haushalt"
    assert choose_title(["Nur die Überschrift"], []) == "Nur die Überschrift"
    assert choose_title([], [None, ""]) is None


def test_a_title_that_is_only_the_site_name_gives_way_to_the_h1():
    from newsflow.titles import choose_title

    assert choose_title(["18 Kindersitze im Test: Vier Modelle fallen durch"], ["ADAC"], site_names=["ADAC"]) \
        == "18 Kindersitze im Test: Vier Modelle fallen durch"
    assert choose_title(["Menü"], ["ADAC"], site_names=["ADAC"]) == "ADAC"


@pytest.mark.parametrize(("title", "site_names", "expected"), [
    # the domain spells the site's name without accents or umlauts
    ("Libre cours : Raoult, les nazis et moi | Dalloz Actualité", ["dalloz-actualite"],
     "Libre cours : Raoult, les nazis et moi"),
    ("Totenmonat November: Niemand geht allein | Erzbistum Köln", ["erzbistum-koeln"],
     "Totenmonat November: Niemand geht allein"),
    # a domain label that starts with the site name's first word
    ("Royal Self-Indicting Arrogance - Sputnik International", ["sputniknews"], "Royal Self-Indicting Arrogance"),
    ("Musk-Firma mit erstem KI-Modell, auch für Tesla > teslamag.de", ["teslamag"],
     "Musk-Firma mit erstem KI-Modell, auch für Tesla"),
    # a long last part that merely starts like the domain stays
    ("Tesla recalls 2 million cars - Tesla owners react across the country", ["teslamag"],
     "Tesla recalls 2 million cars - Tesla owners react across the country"),
])
def test_site_names_as_domains_write_them(title, site_names, expected):
    assert clean_title(title, site_names=site_names) == expected


@pytest.mark.parametrize(
    ("h1", "statements", "expected"),
    [
        # a section link inside the <h1> element, as a chain of US dailies prints it
        ("Local News | Council votes to reopen the harbour bridge", ["Council votes to reopen the harbour bridge"],
         "Council votes to reopen the harbour bridge"),
        # a visually hidden site name inside the <h1>; the <title> says the same, the metadata only the headline
        ("Дорожная карта реформы | Вестник Края",
         ["Дорожная карта реформы | Вестник Края", "Дорожная карта реформы"], "Дорожная карта реформы"),
        ("خطة جديدة للنقل العام | صحيفة المدينة", ["خطة جديدة للنقل العام"], "خطة جديدة للنقل العام"),
        # a headline whose own words hold a pipe-free separator stays whole: only pipes divide an <h1>
        ("Brexit: what the deal means for fishing", ["what the deal means for fishing"],
         "Brexit: what the deal means for fishing"),
        # a part that is the site's name is no headline, though a <title> of the site's name alone states it
        ("Rates rise again | The Harbour Times Weekend Edition",
         ["The Harbour Times Weekend Edition", "Rates rise again"], "Rates rise again"),
        ("Bridge reopens after repairs | The Harbour Times Weekend Edition",
         ["The Harbour Times Weekend Edition"], "Bridge reopens after repairs | The Harbour Times Weekend Edition"),
        # no statement gives a part alone: the <h1> as shown
        ("Markets | Stocks rally as inflation cools", ["Markets | Stocks rally as inflation cools"],
         "Markets | Stocks rally as inflation cools"),
    ],
)
def test_a_section_or_site_name_inside_the_h1_is_left_out_when_the_metadata_leaves_it_out(h1, statements, expected):
    from newsflow.titles import choose_title

    assert choose_title([h1], statements, site_names=["The Harbour Times Weekend Edition", "harbourtimes"]) == expected
