"""The live sample newsroom: four outlets (Arabic first, then English, Russian and Persian) that keep publishing on a
clock, served under /live/ by the sample site server for `newsflow up --demo` and the service tests.

Every article is a pure function of (outlet, time slot): the same slot gives the same page on every request and
every server, dated in the outlet's own time zone. Before the newsroom opened there is a back catalogue (a few
articles a day); one outlet (khabar) was silent for the last days before opening and stays silent for a while
after, so coverage_gaps, source_freshness and the freshness checks show a real gap, then it comes back.
"""

from __future__ import annotations

import hashlib
import html
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Outlet:
    name: str
    title: str
    language: str
    timezone: str
    kind: str  # rss, atom or sitemap
    rtl: bool = False

    @property
    def listing(self) -> str:
        return {"rss": "rss.xml", "atom": "atom.xml", "sitemap": "news-sitemap.xml"}[self.kind]


OUTLETS = (
    Outlet("alhadath", "الحدث", "ar", "Asia/Beirut", "rss", rtl=True),
    Outlet("dailyherald", "The Daily Herald", "en", "Europe/London", "sitemap"),
    Outlet("novosti", "Новости", "ru", "Europe/Moscow", "atom"),
    Outlet("khabar", "خبر", "fa", "Asia/Tehran", "rss", rtl=True),
)
SILENT_OUTLET = "khabar"

# per language: title templates, sentence templates and the words they are filled with
TEXT = {
    "ar": {
        "titles": ["{place}: {topic} على طاولة {official} هذا الأسبوع", "{official} يعلن خطة جديدة بشأن {topic} في {place}",
                   "ارتفاع ملحوظ في {topic} في {place} بنسبة {n} في المئة", "سكان {place} يطالبون بحلول عاجلة لأزمة {topic}"],
        "sentences": [
            "أعلن {official} اليوم أن ملف {topic} في {place} سيكون أولوية خلال الأشهر المقبلة، مشيراً إلى أن فرق العمل بدأت مسحاً ميدانياً شاملاً.",
            "وقال مصدر مطلع إن كلفة المشروع تقدر بنحو {n} مليون دولار، وإن التمويل سيأتي من موازنة العام المقبل ومن قروض ميسرة.",
            "ويشكو أهالي {place} منذ سنوات من تراجع الخدمات، ويرون أن الوعود المتكررة لم تترجم حتى الآن إلى خطوات ملموسة على الأرض.",
            "وبحسب أرقام رسمية، ارتفع عدد المستفيدين من البرنامج إلى {n} ألف شخص، في حين لا تزال لوائح الانتظار طويلة في المناطق الريفية.",
            "من جهتها، دعت جمعيات أهلية إلى إشراك البلديات في التخطيط، معتبرة أن الحلول المركزية لا تراعي حاجات القرى الصغيرة.",
            "وأكد خبراء اقتصاديون أن معالجة {topic} تتطلب إصلاحات هيكلية، لا مجرد إجراءات مؤقتة تنتهي بانتهاء الموسم.",
            "وفي جولة على الأسواق، لاحظ مراسلنا أن الحركة بقيت خجولة رغم العروض، وأن التجار يتخوفون من أسابيع صعبة مقبلة.",
            "ومن المتوقع أن تعقد اللجنة المختصة اجتماعاً موسعاً الأسبوع المقبل لمناقشة التوصيات النهائية ورفعها إلى مجلس الوزراء.",
        ],
        "place": ["بيروت", "طرابلس", "صيدا", "زحلة", "جبيل", "صور", "بعلبك", "النبطية"],
        "topic": ["الكهرباء", "المياه", "النقل العام", "أسعار الخبز", "الإيجارات", "النفايات", "المدارس الرسمية", "الطرقات"],
        "official": ["وزير الطاقة", "محافظ المدينة", "رئيس البلدية", "وزير الأشغال", "وزيرة التربية", "وزير الاقتصاد"],
    },
    "en": {
        "titles": ["{place} council backs new plan for {topic}", "{official} promises action on {topic} in {place}",
                   "{topic} costs in {place} up {n} per cent, figures show", "Residents of {place} demand answers over {topic}"],
        "sentences": [
            "The {official} said on Tuesday that {topic} in {place} would be the priority for the coming months, and that a survey of every ward had already begun.",
            "A source close to the project put its cost at around {n} million pounds, to be met from next year's budget and from low-interest loans.",
            "People in {place} have complained for years that services were getting worse, and say repeated promises have yet to turn into anything they can see.",
            "According to official figures, {n} thousand households now use the scheme, while waiting lists remain long in the villages outside the town.",
            "Community groups called for parish councils to be involved in the planning, arguing that decisions taken centrally ignore the needs of small places.",
            "Economists said that fixing {topic} would need lasting reform rather than stopgap measures that end with the season.",
            "On a walk around the market our reporter found trade slow despite the offers, with stallholders worried about the weeks ahead.",
            "A committee is expected to meet next week to discuss its final recommendations before they go to the full council.",
        ],
        "place": ["Eastbrook", "Northgate", "Harbour Road", "Millfield", "Westcliffe", "Oldbridge", "Kingsmoor", "Ashby"],
        "topic": ["bus services", "water supply", "school places", "bread prices", "rents", "bin collections", "potholes",
                  "library hours"],
        "official": ["council leader", "mayor", "transport secretary", "health minister", "schools minister", "housing chief"],
    },
    "ru": {
        "titles": ["{place}: {topic} обсудят на заседании", "{official} пообещал решить проблему: {topic} в {place}",
                   "{topic}: рост на {n} процентов в {place}", "Жители {place} требуют ответа: {topic}"],
        "sentences": [
            "Как заявил во вторник {official}, тема «{topic}» в городе {place} станет главным приоритетом на ближайшие месяцы, обследование уже началось.",
            "По словам источника, знакомого с проектом, его стоимость оценивается примерно в {n} миллионов рублей, деньги выделят из бюджета следующего года.",
            "Жители города {place} уже много лет жалуются на ухудшение услуг и говорят, что многочисленные обещания так и не были выполнены.",
            "По официальным данным, программой уже воспользовались {n} тысяч семей, однако в сельских районах очереди остаются длинными.",
            "Общественные организации призвали привлечь к планированию муниципалитеты, считая, что решения из центра не учитывают нужды малых поселков.",
            "Экономисты отмечают, что для решения проблемы нужны глубокие реформы, а не временные меры, которые заканчиваются вместе с сезоном.",
            "Наш корреспондент прошел по рынку и увидел, что торговля идет вяло, несмотря на скидки, а продавцы опасаются трудных недель.",
            "Ожидается, что профильная комиссия соберется на следующей неделе, чтобы обсудить итоговые рекомендации и передать их правительству.",
        ],
        "place": ["Самара", "Казань", "Тверь", "Пермь", "Омск", "Тула", "Ярославль", "Воронеж"],
        "topic": ["общественный транспорт", "водоснабжение", "места в школах", "цены на хлеб", "аренда жилья",
                  "вывоз мусора", "ремонт дорог", "работа библиотек"],
        "official": ["губернатор", "мэр", "министр транспорта", "министр здравоохранения", "глава района", "министр образования"],
    },
    "fa": {
        "titles": ["{place}: بررسی {topic} در نشست این هفته", "{official} برای حل مشکل {topic} در {place} وعده داد",
                   "افزایش {n} درصدی {topic} در {place}", "ساکنان {place} خواستار رسیدگی به {topic} شدند"],
        "sentences": [
            "{official} روز سه‌شنبه اعلام کرد که موضوع {topic} در {place} در ماه‌های آینده در اولویت قرار دارد و بررسی میدانی آغاز شده است.",
            "یک منبع آگاه هزینه این طرح را حدود {n} میلیارد تومان برآورد کرد و گفت بودجه آن از محل اعتبارات سال آینده تامین می‌شود.",
            "مردم {place} سال‌هاست از کاهش کیفیت خدمات گلایه دارند و می‌گویند وعده‌های پیاپی هنوز به اقدام ملموسی تبدیل نشده است.",
            "بر اساس آمار رسمی، {n} هزار خانوار از این برنامه بهره‌مند شده‌اند اما صف انتظار در روستاها همچنان طولانی است.",
            "تشکل‌های مردمی خواستار مشارکت شوراهای شهر در برنامه‌ریزی شدند و گفتند تصمیم‌های متمرکز نیاز شهرهای کوچک را نادیده می‌گیرد.",
            "کارشناسان اقتصادی معتقدند حل این مشکل به اصلاحات ساختاری نیاز دارد و اقدامات موقت با پایان فصل بی‌اثر می‌شود.",
            "خبرنگار ما در بازار مشاهده کرد که با وجود تخفیف‌ها، رونق چندانی دیده نمی‌شود و فروشندگان نگران هفته‌های آینده هستند.",
            "انتظار می‌رود کمیسیون تخصصی هفته آینده برای بررسی پیشنهادهای نهایی و ارائه آن به دولت تشکیل جلسه دهد.",
        ],
        "place": ["تهران", "اصفهان", "شیراز", "تبریز", "مشهد", "رشت", "کرمان", "یزد"],
        "topic": ["حمل و نقل عمومی", "آب شرب", "مدارس", "قیمت نان", "اجاره‌بها", "جمع‌آوری زباله", "راه‌ها", "کتابخانه‌ها"],
        "official": ["استاندار", "شهردار", "وزیر راه", "وزیر بهداشت", "فرماندار", "وزیر آموزش و پرورش"],
    },
}


@dataclass(frozen=True)
class Article:
    outlet: Outlet
    number: int  # slot number for live articles, negative for the back catalogue
    published: datetime  # aware, in the outlet's zone
    title: str
    paragraphs: tuple[str, ...]

    @property
    def path(self) -> str:
        day = self.published.strftime("%Y/%m/%d")
        kind = "story" if self.number >= 0 else "archive"
        # the Arabic and Persian outlets name a page by words of its headline in their own script, as many sites in
        # those languages do: a feed link is then an IRI, which a run must fetch, archive and account for
        slug = "-" + "-".join(re.findall(r"\w+", self.title)[:4]) if self.outlet.rtl else ""
        return f"/live/{self.outlet.name}/{day}/{kind}-{abs(self.number)}{slug}.html"


def _article(outlet: Outlet, number: int, published_utc: datetime) -> Article:
    seed = int.from_bytes(hashlib.sha256(f"{outlet.name}:{number}".encode()).digest()[:8], "big")
    rng = random.Random(seed)
    words = TEXT[outlet.language]
    fills = {key: rng.choice(words[key]) for key in ("place", "topic", "official")}

    def fill(template: str) -> str:
        return template.format(n=rng.randint(3, 95), **fills)

    title = fill(rng.choice(words["titles"]))
    paragraphs = tuple(fill(s) for s in rng.sample(words["sentences"], k=6))
    return Article(outlet, number, published_utc.astimezone(ZoneInfo(outlet.timezone)), title, paragraphs)


class LiveNewsroom:
    """Articles per outlet as a function of time. Live article n of an outlet is published at the start of slot n
    (slots of `slot_s` seconds since the epoch), from the slot the newsroom opened in; the back catalogue holds
    `per_day` articles a day for `history_days` days before that.

    Slots are shorter than the one-minute schedule on purpose: a run that starts late, right after the previous
    one read the feeds, still finds articles published since (a real newsroom publishes at its own pace)."""

    def __init__(self, *, slot_s: int = 20, history_days: int = 12, per_day: int = 3, silent_days: int = 4,
                 silent_s: int = 600, feed_size: int = 60, outlets: tuple[str, ...] | None = None,
                 opened_at: float | None = None, clock=time.time) -> None:
        self.slot_s, self.history_days, self.per_day = slot_s, history_days, per_day
        self.silent_days, self.feed_size = silent_days, feed_size
        self.silent_slots = -(-silent_s // slot_s)
        self.outlets = {o.name: o for o in OUTLETS if outlets is None or o.name in outlets}
        self.clock = clock
        self.opened_slot = int((clock() if opened_at is None else opened_at) // slot_s)

    def slot_start(self, slot: int) -> datetime:
        return datetime.fromtimestamp(slot * self.slot_s, UTC)

    def publishes_live(self, outlet: str, slot: int) -> bool:
        # the silent outlet says nothing for its first `silent_slots` slots, then publishes like the others
        return not (outlet == SILENT_OUTLET and slot < self.opened_slot + self.silent_slots)

    def back_catalogue(self, outlet: Outlet) -> list[Article]:
        opened = self.slot_start(self.opened_slot)
        zone = ZoneInfo(outlet.timezone)
        local_today = opened.astimezone(zone).date()
        out = []
        for days_ago in range(self.history_days, 0, -1):
            if outlet.name == SILENT_OUTLET and days_ago <= self.silent_days:
                continue
            day = local_today - timedelta(days=days_ago)
            for i in range(self.per_day):
                local = datetime(day.year, day.month, day.day, 8 + 4 * i, 15, tzinfo=zone)
                number = -(days_ago * 100 + i + 1)
                out.append(_article(outlet, number, local.astimezone(UTC)))
        return out

    def articles(self, outlet_name: str, now: float | None = None) -> list[Article]:
        """What the outlet has published by `now`, newest first."""
        outlet = self.outlets[outlet_name]
        current = int((self.clock() if now is None else now) // self.slot_s)
        live = [_article(outlet, slot, self.slot_start(slot))
                for slot in range(current, max(self.opened_slot, current - self.feed_size) - 1, -1)
                if slot >= self.opened_slot and self.publishes_live(outlet.name, slot)]
        return (live + sorted(self.back_catalogue(outlet), key=lambda a: a.published, reverse=True))[: self.feed_size]

    def find(self, path: str, now: float | None = None) -> Article | None:
        """The article at `path`, if it has been published by now (a future slot is a 404, as on a real site)."""
        parts = path.strip("/").split("/")
        if len(parts) != 6 or parts[0] != "live" or parts[1] not in self.outlets:
            return None
        kind, _, rest = parts[5].removesuffix(".html").partition("-")
        number = rest.partition("-")[0]
        if not number.isdigit() or kind not in ("story", "archive"):
            return None
        outlet = self.outlets[parts[1]]
        current = int((self.clock() if now is None else now) // self.slot_s)
        if kind == "story":
            slot = int(number)
            if not (self.opened_slot <= slot <= current and self.publishes_live(outlet.name, slot)):
                return None
            article = _article(outlet, slot, self.slot_start(slot))
        else:
            article = next((a for a in self.back_catalogue(outlet) if a.number == -int(number)), None)
        return article if article is not None and article.path == "/" + path.strip("/") else None

    # ---- rendering -------------------------------------------------------------------------------------------

    def render(self, path: str, base: str, now: float | None = None) -> tuple[str, bytes] | None:
        """(content type, body) for a /live/ path, or None for a 404."""
        parts = path.strip("/").split("/")
        if parts == ["live"] or parts == ["live", ""]:
            return "text/html; charset=utf-8", self._index(base).encode("utf-8")
        if len(parts) == 3 and parts[1] in self.outlets and parts[2] == self.outlets[parts[1]].listing:
            outlet = self.outlets[parts[1]]
            body = {"rss": self._rss, "atom": self._atom, "sitemap": self._sitemap}[outlet.kind](outlet, base, now)
            ctype = {"rss": "application/rss+xml", "atom": "application/atom+xml", "sitemap": "application/xml"}
            return ctype[outlet.kind], body.encode("utf-8")
        article = self.find(path, now)
        if article is None:
            return None
        return "text/html; charset=utf-8", self._page(article, base).encode("utf-8")

    def _index(self, base: str) -> str:
        links = "".join(f'<li><a href="{base}/live/{o.name}/{o.listing}">{html.escape(o.title)}</a></li>'
                        for o in self.outlets.values())
        return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>live newsroom</title></head><body><ul>{links}</ul></body></html>"

    def _rss(self, outlet: Outlet, base: str, now: float | None) -> str:
        items = "".join(
            f"<item><title>{html.escape(a.title)}</title><link>{base}{a.path}</link>"
            f'<guid isPermaLink="true">{base}{a.path}</guid><pubDate>{format_datetime(a.published)}</pubDate>'
            f"<description>{html.escape(a.paragraphs[0])}</description></item>"
            for a in self.articles(outlet.name, now))
        return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{html.escape(outlet.title)}'
                f"</title><link>{base}/live/{outlet.name}/</link><language>{outlet.language}</language>"
                f"<ttl>1</ttl>{items}</channel></rss>")

    def _atom(self, outlet: Outlet, base: str, now: float | None) -> str:
        articles = self.articles(outlet.name, now)
        updated = (articles[0].published if articles else self.slot_start(self.opened_slot)).isoformat()
        entries = "".join(
            f'<entry><title>{html.escape(a.title)}</title><link href="{base}{a.path}"/><id>{base}{a.path}</id>'
            f"<published>{a.published.isoformat()}</published><updated>{a.published.isoformat()}</updated>"
            f"<summary>{html.escape(a.paragraphs[0])}</summary></entry>"
            for a in articles)
        return (f'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.language}">'
                f"<title>{html.escape(outlet.title)}</title><id>{base}/live/{outlet.name}/</id><updated>{updated}</updated>"
                f"{entries}</feed>")

    def _sitemap(self, outlet: Outlet, base: str, now: float | None) -> str:
        urls = "".join(
            f"<url><loc>{base}{a.path}</loc><news:news><news:publication><news:name>{html.escape(outlet.title)}"
            f"</news:name><news:language>{outlet.language}</news:language></news:publication>"
            f"<news:publication_date>{a.published.isoformat()}</news:publication_date>"
            f"<news:title>{html.escape(a.title)}</news:title></news:news></url>"
            for a in self.articles(outlet.name, now))
        return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>')

    def _page(self, article: Article, base: str) -> str:
        outlet = article.outlet
        direction = ' dir="rtl"' if outlet.rtl else ""
        title = html.escape(article.title)
        body = "".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
        stamp = article.published.isoformat()
        return (
            f'<!DOCTYPE html><html lang="{outlet.language}"{direction}><head><meta charset="utf-8">'
            f"<title>{title} | {html.escape(outlet.title)}</title>"
            f'<meta property="og:type" content="article"><meta property="og:title" content="{title}">'
            f'<meta property="og:site_name" content="{html.escape(outlet.title)}">'
            f'<meta property="article:published_time" content="{stamp}">'
            f'<link rel="canonical" href="{base}{article.path}"></head><body>'
            f'<header><a href="{base}/live/{outlet.name}/">{html.escape(outlet.title)}</a></header>'
            f'<main><article><h1>{title}</h1><p class="date"><time datetime="{stamp}">'
            f"{article.published.strftime('%Y-%m-%d %H:%M')}</time></p>{body}</article></main>"
            f"<footer><p>&copy; {html.escape(outlet.title)}</p></footer></body></html>"
        )
