"""Agency and byline credits found in article text ("الحدث - وكالات", "(Reuters)", "AFP", "dpa", "ТАСС", "新华社"),
so analysts can tell wire copy from original reporting.
"""

from __future__ import annotations

import re

# canonical name -> spellings seen in datelines and credit lines
AGENCIES: dict[str, tuple[str, ...]] = {
    "Reuters": ("Reuters", "رويترز", "Рейтер", "Рейтерс", "路透社", "路透", "ロイター", "로이터"),
    "AFP": ("AFP", "Agence France-Presse", "فرانس برس", "أ ف ب", "أ.ف.б", "أ.ف.ب", "Франс Пресс", "法新社"),
    "AP": ("AP", "Associated Press", "أسوشيتد برس", "Ассошиэйтед Пресс", "美联社"),
    "dpa": ("dpa", "DPA", "د ب أ", "د.ب.أ"),
    "Xinhua": ("Xinhua", "新华社", "新华网", "شينخوا"),
    "TASS": ("ТАСС", "TASS", "تاس"),
    "RIA Novosti": ("РИА Новости", "RIA Novosti"),
    "Interfax": ("Интерфакс", "Interfax"),
    "Anadolu": ("Anadolu", "الأناضول", "AA"),
    "Bloomberg": ("Bloomberg",),
    "EFE": ("EFE",),
    "ANSA": ("ANSA",),
    "Kyodo": ("Kyodo", "共同社", "共同通信"),
    "Yonhap": ("Yonhap", "연합뉴스", "聯合ニュース"),
    "IRNA": ("IRNA", "ایرنا", "إرنا"),
    "agencies": ("وكالات", "Agencies", "агентства", "وكالات الأنباء"),
}

_NAME_TO_CANON = {spelling.casefold(): canon for canon, names in AGENCIES.items() for spelling in names}
_ALT = "|".join(sorted((re.escape(s) for names in AGENCIES.values() for s in names), key=len, reverse=True))
_DASH = r"\s*[-–—:：]\s*"
_PATTERNS = [
    # "(Reuters) -", "CAIRO (AP) —", "(أ ف ب) -"
    re.compile(rf"\(\s*({_ALT})\s*\)", re.I),
    # "الحدث - وكالات", "Бейрут - ТАСС" as a credit line
    re.compile(rf"^[^\n]{{0,40}}?{_DASH}({_ALT})\s*$", re.M | re.I),
    # "来源：新华社", "Source: AFP", "المصدر: رويترز", "Источник: ТАСС"
    re.compile(rf"(?:来源|來源|出典|출처|Source|Sources|Quelle|Fonte|Fuente|المصدر|Источник|منبع)\s*[:：]\s*({_ALT})", re.I),
    # "— dpa" or "/AFP" at the end of a line
    re.compile(rf"(?:^|[\s/])({_ALT})\s*$", re.M),
]


def find_credit(body: str | None, lead: str | None = None) -> str | None:
    """The agency credited at the top (or foot) of a story, by canonical name; None for original reporting."""
    texts = [t for t in (lead, body) if t]
    for text in texts:
        head = text[:400]
        tail = text[-200:]
        for pattern in _PATTERNS[:3]:
            match = pattern.search(head)
            if match:
                return _NAME_TO_CANON.get(match.group(1).casefold(), match.group(1))
        match = _PATTERNS[3].search(tail)
        if match and len(match.group(1)) > 2:
            return _NAME_TO_CANON.get(match.group(1).casefold(), match.group(1))
    return None
