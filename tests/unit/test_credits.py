"""Wire credits in credit positions only: source slots near the headline, datelines and first lines, sign-offs."""

from __future__ import annotations

import pytest

from newsflow.credits import AGENCIES, canonical, find_credit


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # credit running into the first sentence
        ("الحدث - وكالات - انطلقت صباح اليوم الثلاثاء امتحانات شهادة الثانوية العامة.", "agencies"),
        ("ЕКАТЕРИНБУРГ, 21 мая. /ТАСС/. Трамвайная линия протяжённостью 6,5 км свяжет центр.", "TASS"),
        ("ТВЕРЬ, 25 мая — РИА Новости. Главный дом старинной усадьбы открылся для посетителей.", "RIA Novosti"),
        ("新华社贵阳5月21日电（记者李明）记者从贵州省教育厅获悉，今年春季学期以来。", "Xinhua"),
        ("　　中新网郑州6月4日电 (记者 张华)眼下，河南省各地小麦自南向北进入集中收获期。", "China News Service"),
        ("به گزارش ایرنا، مدیرکل غله و خدمات بازرگانی خوزستان از خرید بیش از یک میلیون تن گندم خبر داد.", "IRNA"),
        ("به گزارش خبرگزاری ایسنا، نخستین کتابخانه عمومی شبانه‌روزی شیراز افتتاح شد.", "ISNA"),
        ("LONDON, May 22 (Reuters) - Dockworkers at the Port of Eastbrook have voted to strike.", "Reuters"),
        ("CAIRO (AP) — Egypt's parliament approved the budget on Monday.", "AP"),
        # credit line of its own
        ("الحدث - الوكالة الوطنية للإعلام\nشارك أكثر من ثلاثمئة متطوع في زرع الشتول.", "NNA"),
        ("الحدث - أ ف ب\nبدأ مزارعو الكرز في قرى البقاع الغربي قطاف المحصول.", "AFP"),
        ("Source: AFP\nThe summit ended without a joint statement.", "AFP"),
        # sign-off at the foot
        ("Die Brücke ist 400 Meter lang.\nDie Arbeiten sollen im Herbst enden.\ndpa", "dpa"),
        ("The talks resume next week.\njpl/AFP", "AFP"),
    ],
)
def test_credit_in_body(body, expected):
    assert find_credit(body) == expected


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        ("الاثنين 21 أيار 2018 09:05 صباحاً\nالحدث - رويترز", "Reuters"),
        ("7 июня 2018, 15:32\nПросмотров: 2 417\nИсточник: Интерфакс", "Interfax"),
        ("کد خبر: ۲۳۵۱۰۲\nسه‌شنبه ۸ خرداد ۱۳۹۷ - ۱۸:۴۰\nمنبع: ایسنا", "ISNA"),
        ("2018年06月04日 16:40\n来源：中国新闻网\n字号：大 中 小", "China News Service"),
        ("By Reuters | Tuesday 22 May 2018 07:40 BST", "Reuters"),
        ("Thursday 14 March 2019\nعمّان - أ ف ب", "AFP"),
    ],
)
def test_credit_in_source_slot_near_headline(lead, expected):
    assert find_credit("Ordinary first sentence of the story, written by staff.", lead=lead) == expected


@pytest.mark.parametrize(
    "body",
    [
        # an agency mentioned in the story is not a credit
        "Officials met on Monday.\nThe plan was delayed.\nTalks continued.\nNo date was set.\n"
        "Reuters reported that the deal was off, citing two sources.",
        "The first workshop covered AP style, the rules most newsrooms follow.\nInterns learned fast.",
        "Happy apps are here, says the AP Stylebook editor, and aa batteries too.",
        "Як раніше повідомляло агентство Reuters, подібні програми діють і в інших столицях.",
        "He works for Reuters and lives in Paris with his family since 2010.",
        "وكالاتها المحلية أعلنت عن الخبر في وقت متأخر من مساء أمس.",
        "It was, according to AP",
    ],
)
def test_mentions_are_not_credits(body):
    assert find_credit(body) is None


@pytest.mark.parametrize("lead", ["Photo: Reuters", "صورة: أ ف ب", "Фото: ТАСС", "Getty Images - AFP", "图：新华社"])
def test_picture_credits_near_the_headline_are_not_story_credits(lead):
    assert find_credit("Ordinary first sentence of the story, written by staff.", lead=lead) is None


def test_lead_without_credit_slot_is_ignored():
    lead = "18 березня 2019, 14:05\nТеги: Культура\nReuters: ринки зростають після рішення ФРС"
    assert find_credit("Звичайний текст статті без кредиту агентства.", lead=lead) is None


def test_headline_repeated_at_top_of_body_is_skipped():
    body = "В Екатеринбурге запустят трамвайную линию\nЕКАТЕРИНБУРГ, 21 мая. /ТАСС/. Трамвайная линия…"
    assert find_credit(body, title="В Екатеринбурге запустят трамвайную линию") == "TASS"


def test_canonical_names():
    assert canonical("وكالات") == "agencies"
    assert canonical("中国新闻网") == "China News Service"
    assert canonical("ایسنا") == "ISNA"
    assert canonical("الوكالة الوطنية للإعلام") == "NNA"
    assert canonical("Daily Herald") is None
    assert all(canonical(name) == canon for canon, names in AGENCIES.items() for name in names)
