"""Agency and byline credits ("الحدث - وكالات", "(Reuters)", "AFP", "dpa", "ТАСС", "新华社"), so analysts can tell wire
copy from original reporting.

A credit counts only in a credit position: the page's source slot near the headline ("Source: Interfax",
"منبع: ایسنا", "الحدث - رويترز"), the story's dateline or first line ("ЕКАТЕРИНБУРГ, 21 мая. /ТАСС/.",
"ТВЕРЬ, 25 мая — РИА Новости.", "新华社贵阳5月21日电", "به گزارش ایرنا،", "LONDON (Reuters) -", "الحدث - وكالات - …"), or
a sign-off line at the foot ("— dpa", "jpl/AFP"). An agency merely mentioned in the text ("Reuters reported",
"AP style") is not a credit.
"""

from __future__ import annotations

import re

from newsflow.language import CJK_LETTERS

# canonical name -> spellings seen in datelines and credit lines
AGENCIES: dict[str, tuple[str, ...]] = {
    "Reuters": ("Reuters", "رويترز", "Рейтер", "Рейтерс", "路透社", "路透", "ロイター", "로이터", "رویترز"),
    "AFP": ("AFP", "Agence France-Presse", "فرانس برس", "فرانس پرس", "أ ف ب", "أ.ف.ب", "Франс Пресс", "法新社"),
    "AP": ("AP", "Associated Press", "أسوشيتد برس", "Ассошиэйтед Пресс", "美联社"),
    "dpa": ("dpa", "DPA", "د ب أ", "د.ب.أ"),
    "Xinhua": ("Xinhua", "新华社", "新华网", "شينخوا"),
    "China News Service": ("中国新闻网", "中国新闻社", "中新网", "中新社", "China News Service"),
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
    "ISNA": ("ISNA", "ایسنا"),
    "NNA": ("الوكالة الوطنية للإعلام", "National News Agency"),
    "agencies": ("وكالات", "Agencies", "агентства", "وكالات الأنباء"),
}

_NAME_TO_CANON = {spelling.casefold(): canon for canon, names in AGENCIES.items() for spelling in names}


def _alternation() -> str:
    # short all-capital abbreviations ("AP", "AA", "EFE") only in capitals: "ap"/"aa" are ordinary letters
    parts = []
    for spelling in sorted({s for names in AGENCIES.values() for s in names}, key=len, reverse=True):
        escaped = re.escape(spelling).replace(r"\ ", r"\s+")
        parts.append(escaped if len(spelling) <= 4 and spelling.isupper() else f"(?i:{escaped})")
    return "|".join(parts)


_ALT = _alternation()
# an agency name is a whole word (no "APPLE" for "AP", no "وكالاتها"); scripts written without spaces have no
# word boundary to require ("新华社贵阳5月21日电")
_END = rf"(?![^\W{CJK_LETTERS}])"
_AG = rf"({_ALT}){_END}"
_DASH = r"\s*[-–—:：]\s*"
_LABEL = (r"(?i:来源|來源|出典|출처|Source|Sources|Quelle|Fonte|Fuente|Credit|المصدر|Источник|منبع|Джерело|Kaynak)"
          r"\s*[:：]\s*")
_SEG = re.compile(r"\s+[|•·]\s+")

# In the source slot near the headline: a whole line (or "|"-separated segment) that is only a credit
_SLOT = re.compile(
    rf"(?:{_LABEL}|(?i:by|от|von|par|por|di)\s+)?(?:(?:خبرگزاری|وكالة)\s+)?(?:[^\n]{{1,40}}?{_DASH})?{_AG}\s*[.,،]?"
)

# In the story's first line
_FIRST_LINE = [
    # "CAIRO (AP) —", "LONDON, May 22 (Reuters) -", "(أ ف ب) -"
    re.compile(rf"^[^\n]{{0,80}}?\(\s*{_AG}\s*\)"),
    # "ЕКАТЕРИНБУРГ, 21 мая. /ТАСС/."
    re.compile(rf"^[^\n]{{0,80}}?/\s*{_AG}\s*/"),
    # "الحدث - وكالات" as its own line, or running into the story: "الحدث - وكالات - انطلقت…"
    re.compile(rf"^(?:[^\n]{{1,40}}?{_DASH})?{_AG}\s*(?:$|[-–—]\s)", re.M),
    # "ТВЕРЬ, 25 мая — РИА Новости." / "BERLIN, 3. Mai (dpa) -" handled above; a dash-dateline then the agency
    re.compile(rf"^[^\n]{{3,60}}?\d[^\n]{{0,20}}?\s[-–—]\s*{_AG}\s*[.:,]"),
    # "新华社贵阳5月21日电", "中新网郑州6月4日电 (记者 张华)"
    re.compile(rf"^\s*{_AG}[^\n]{{0,12}}?\d{{1,2}}\s*月\s*\d{{1,2}}\s*日\s*(?:电|電|讯|訊)"),
    # "به گزارش ایرنا،", "به گزارش خبرگزاری ایسنا،", "وبحسب وكالة رويترز"
    re.compile(rf"^\s*(?:به\s+گزارش|بە\s+گزارش)\s+(?:خبرگزاری\s+)?{_AG}\s*[،,]?"),
    # "Source: AFP", "المصدر: رويترز" as the first line
    re.compile(rf"^\s*{_LABEL}{_AG}\s*$", re.M),
]
# A sign-off line at the foot: "— dpa", "/AFP", "jpl/AFP", "(Reuters)", "Source: Interfax"
_FOOT = re.compile(
    rf"^\s*(?:{_LABEL}|[-–—/]\s*|\(\s*|[a-z]{{1,4}}(?:/[a-z]{{1,4}})*\s*/\s*)?{_AG}\s*\)?\s*\.?\s*$", re.M
)


def canonical(name: str | None) -> str | None:
    """The canonical agency for one spelling ("وكالات" -> "agencies"), or None if it is not a known agency."""
    if not name:
        return None
    return _NAME_TO_CANON.get(" ".join(name.split()).casefold())


def _canon(match: re.Match) -> str:
    name = next(g for g in match.groups() if g)
    return canonical(name) or name


# picture credits sit near the headline too ("Photo: AFP", "صورة: رويترز"); they credit the image, not the story
_PICTURE = re.compile(
    r"(?i:photo|foto|image|picture|pictures|getty|caption|video|illustration|صورة|الصورة|فيديو|عکس|تصویر|фото|"
    r"видео|图|圖|照片|写真|사진)"
)


def _lead_credit(lead: str) -> str | None:
    for line in lead.splitlines():
        for segment in _SEG.split(line.strip()):
            if _PICTURE.search(segment):
                continue
            match = _SLOT.fullmatch(segment.strip())
            if match:
                return _canon(match)
    return None


def find_credit(body: str | None, lead: str | None = None, title: str | None = None) -> str | None:
    """The agency credited in the page's source slot (`lead`: the short lines around the headline), the story's
    first line or its sign-off line, by canonical name; None for original reporting. A body that repeats the
    headline (`title`) first is read from the line after it."""
    if lead:
        found = _lead_credit(lead)
        if found:
            return found
    if not body:
        return None
    lines = [line.strip() for line in body.strip().splitlines() if line.strip()]
    headline = " ".join(title.split()).casefold() if title else None
    if headline and lines and " ".join(lines[0].split()).casefold() == headline:
        lines = lines[1:]
    if not lines:
        return None
    # the first line, or the first two when the first is a lone credit line or a short dateline
    head = "\n".join(lines[:2])[:400]
    for pattern in _FIRST_LINE:
        match = pattern.search(head)
        if match and (match.start() == 0 or head[: match.start()].count("\n") == 0 or len(lines[0]) <= 60):
            return _canon(match)
    for line in lines[-2:]:
        if len(line) <= 60:
            match = _FOOT.match(line)
            if match:
                return _canon(match)
    return None
