"""Publication dates for news pages, with the evidence each date came from.

Gathers candidates (page metadata, feeds, URL, visible datelines in many languages and scripts) and picks one.
"""

import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jdatetime
import nepali_datetime
from hijridate import Hijri
from lxml import etree

from newsflow.language import CJK_LETTERS


@dataclass(frozen=True)
class DateCandidate:
    source: str  # jsonld, meta, time, dateline, url, feed, sitemap, htmldate, relative, warc
    value: datetime  # tz-aware if the text carried an offset, else naive (publisher local time)
    has_time: bool  # False when only a day was known
    raw: str  # the text it came from (trimmed to 200 chars)


@dataclass(frozen=True)
class DateResult:
    published_at: datetime | None  # UTC, tz-aware
    published_date: date | None  # the publisher's local calendar day
    date_source: str | None  # the chosen candidate's source
    disagreement: bool  # see DISAGREEMENT_SOURCES
    candidates: tuple[DateCandidate, ...]
    reason: str | None  # None when a date was chosen, else "missing_date" or "future_date"


# Tie-break order, and the order within a day (the first candidate on the chosen day gives the time): the page's
# own machine-readable metadata first, then the feed or sitemap entry, markup around visible dates, a visible
# dateline, the URL, htmldate. "warc" (the fetch time) is deliberately absent: using a crawl time as a publication
# date invents a spike of articles on crawl days.
PRIORITY: tuple[str, ...] = ("jsonld", "meta", "feed", "sitemap", "time", "dateline", "url", "htmldate", "relative")

# When candidates disagree, each source's first candidate votes for its publisher day and the day with the most
# votes wins; a tie goes to the day PRIORITY reaches first. Measured on the 799 labelled pages of htmldate-eval-default
# (bench/extraction.py --date-sources; table in docs/dates.md): no source is clearly more right than another when
# they disagree (each is right on 56-61 % of the pages where it disagrees with another, and head to head they split
# about evenly), so none gets more weight, and the page's own metadata breaks ties, as before. Agreement between
# independent readings of a page is what the measurements support: date exact 0.900 -> 0.919.


# disagreement is True when the representative candidates (the first candidate of each source, in list
# order) of two different sources in this set have publisher-local days more than one day apart. One day
# of slack absorbs honest timezone differences (e.g. a UTC feed date vs a local dateline near midnight).
# url and htmldate are left out because they are day-only guesses that disagree too often to be a signal.
DISAGREEMENT_SOURCES = frozenset({"jsonld", "meta", "feed", "sitemap", "time", "dateline"})

# Clock skew and time zones can put an honest date a few hours ahead of our fetch clock; more than a day
# ahead means an embargo placeholder, a misparsed day/month or a CMS default.
FUTURE_TOLERANCE = timedelta(days=1)

MIN_YEAR = 1990
MAX_YEAR = 2100
_RAW_MAX = 200

# ---------------------------------------------------------------------------------------------------------
# Text normalisation. Every substitution is one character for one character, so positions in the
# normalised text map straight back to the original; only the invisible or vowel marks are deleted, and
# their positions are kept so raw snippets can still be cut from the original text.

_TRANS: dict[int, str | None] = {}
for _block in ("٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९", "০১২৩৪৫৬৭৮৯", "０１２３４５６７８９", "੦੧੨੩੪੫੬੭੮੯", "૦૧૨૩૪૫૬૭૮૯",
               "୦୧୨୩୪୫୬୭୮୯", "௦௧௨௩௪௫௬௭௮௯", "౦౧౨౩౪౫౬౭౮౯", "೦೧೨೩೪೫೬೭೮೯", "൦൧൨൩൪൫൬൭൮൯", "๐๑๒๓๔๕๖๗๘๙", "໐໑໒໓໔໕໖໗໘໙",
               "၀၁၂၃၄၅၆၇၈၉", "០១២៣៤៥៦៧៨៩"):
    for _i, _ch in enumerate(_block):
        _TRANS[ord(_ch)] = str(_i)
# Arabic-script spelling varies freely between hamza forms, taa marbuta/haa and Persian/Arabic yeh/kaf;
# folding them lets one month spelling match all of them. Full-width punctuation, the Arabic comma (،: "1 يونيو، 2024",
# WordPress's Arabic date format) and Burmese's comma (၊) are commas and colons like any other.
for _src, _dst in (("أ", "ا"), ("إ", "ا"), ("آ", "ا"), ("ٱ", "ا"), ("ة", "ه"), ("ى", "ي"), ("ی", "ي"),
                   ("ک", "ك"), ("ۀ", "ه"), ("：", ":"), ("，", ","), ("／", "/"), ("－", "-"), ("၊", ","), ("،", ",")):
    _TRANS[ord(_src)] = _dst
for _cp in (0x00A0, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000):
    _TRANS[_cp] = " "
_DELETED = "".join(chr(c) for c in (*range(0x064B, 0x0653), 0x0670, 0x0640, *range(0x200B, 0x2010),
                                    *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x061C, 0x00AD, 0xFEFF))
for _ch in _DELETED:
    _TRANS[ord(_ch)] = None
_DELETED_RX = re.compile("[" + re.escape(_DELETED) + "]")
_NEEDS_TRANS = re.compile("[" + re.escape("".join(map(chr, _TRANS))) + "]")
_WS = re.compile(r"\s+")
# Characters Persian uses and Arabic does not: a 13xx/14xx year beside them is Solar Hijri, while on an
# Arabic page it would be a lunar Hijri year, which we do not convert.
_PERSIAN_HINT = re.compile("[۰-۹پچژگکی]")


def _normalize(text: str) -> tuple[str, list[int]]:
    if _NEEDS_TRANS.search(text) is None:
        return text, []
    if _DELETED_RX.search(text) is None:
        return text.translate(_TRANS), []
    return text.translate(_TRANS), [m.start() for m in _DELETED_RX.finditer(text)]


def _orig_pos(pos: int, deleted: list[int]) -> int:
    for d in deleted:
        if d <= pos:
            pos += 1
        else:
            break
    return pos


def _n(word: str) -> str:
    return _WS.sub(" ", word.strip().translate(_TRANS)).lower()


# ---------------------------------------------------------------------------------------------------------
# Month names. Abbreviations are listed without their dot; the patterns accept an optional one.

_GREGORIAN_MONTHS = {
    1: "january,jan,janv,janvier,januar,jänner,enero,ene,gennaio,gen,janeiro,ocak,januari,stycznia,styczeń,"
       "январь,января,янв,січень,січня,ιανουαρίου,ιανουάριος,ιαν,يناير,جانفي,كانون الثاني,ژانویه,जनवरी",
    2: "february,feb,févr,fevr,fév,février,fevrier,februar,febrero,febbraio,fevereiro,fev,şubat,subat,"
       "februari,lutego,luty,февраль,февраля,фев,февр,лютий,лютого,φεβρουαρίου,φεβρουάριος,φεβ,فبراير,"
       "فيفري,شباط,فوریه,फ़रवरी,फ़रवरी,फरवरी",
    3: "march,mar,mars,märz,maerz,marzo,março,marco,mart,maret,maart,marca,marzec,март,марта,мар,березень,"
       "березня,μαρτίου,μάρτιος,μαρ,مارس,آذار,मार्च",
    4: "april,apr,avril,avr,abril,abr,aprile,nisan,kwietnia,kwiecień,апрель,апреля,апр,квітень,квітня,"
       "απριλίου,απρίλιος,απρ,أبريل,إبريل,نيسان,أفريل,آوریل,अप्रैल",
    5: "may,mai,mayo,maggio,mag,maio,mayıs,mayis,mei,maja,maj,май,мая,травень,травня,μαΐου,μαίου,μάιος,"
       "μαΐ,مايو,أيار,ماي,مه,मई",
    6: "june,jun,juin,juni,junio,giugno,giu,junho,haziran,czerwca,czerwiec,июнь,июня,июн,червень,червня,"
       "ιουνίου,ιούνιος,ιουν,يونيو,يونيه,يونية,حزيران,جوان,ژوئن,जून",
    7: "july,jul,juil,juillet,juli,julio,luglio,lug,julho,temmuz,lipca,lipiec,июль,июля,июл,липень,липня,"
       "ιουλίου,ιούλιος,ιουλ,يوليو,يوليه,يولية,تموز,جويلية,يوليوز,ژوئیه,जुलाई",
    8: "august,aug,août,aout,agosto,ago,ağustos,agustos,agustus,agt,augustus,sierpnia,sierpień,август,"
       "августа,авг,серпень,серпня,αυγούστου,αύγουστος,αυγ,أغسطس,آب,أوت,غشت,अगस्त",
    9: "september,sep,sept,septembre,settembre,set,septiembre,setiembre,setembro,eylül,eylul,września,"
       "wrzesień,сентябрь,сентября,сен,сент,вересень,вересня,σεπτεμβρίου,σεπτέμβριος,σεπ,سبتمبر,أيلول,"
       "شتنبر,سپتامبر,सितंबर,सितम्बर",
    10: "october,oct,octobre,oktober,okt,octubre,ottobre,ott,outubro,out,ekim,października,październik,"
        "октябрь,октября,окт,жовтень,жовтня,οκτωβρίου,οκτώβριος,οκτ,أكتوبر,تشرين الأول,اکتبر,अक्टूबर,"
        "अक्तूबर",
    11: "november,nov,novembre,noviembre,novembro,kasım,kasim,listopada,listopad,ноябрь,ноября,ноя,нояб,"
        "листопада,листопад,νοεμβρίου,νοέμβριος,νοε,نوفمبر,تشرين الثاني,نونبر,نوامبر,नवंबर,नवम्बर",
    12: "december,dec,déc,décembre,decembre,dezember,dez,diciembre,dic,dicembre,dezembro,aralık,aralik,"
        "desember,des,grudnia,grudzień,декабрь,декабря,дек,грудень,грудня,δεκεμβρίου,δεκέμβριος,δεκ,"
        "ديسمبر,كانون الأول,دجنبر,دسامبر,दिसंबर,दिसम्बर",
}
_SOLAR_MONTHS = "فروردین,اردیبهشت,خرداد,تیر,مرداد,شهریور,مهر,آبان,آذر,دی,بهمن,اسفند"
# Persian often writes the word "month" after the name, joined, spaced or with a ZWNJ (deleted by normalisation):
# "۱۵ آذرماه ۱۴۰۳", "۱۵ آذر ماه ۱۴۰۳", "۱۵ آذر‌ماه ۱۴۰۳"
_SOLAR_MONTH_WORD = "ماه"
# The Islamic (lunar Hijri) months: Saudi and other Gulf news often print "الاثنين 6 رمضان 1439 هـ" alone. Converted
# with the Umm al-Qura calendar (hijridate); where a country follows the moon sighting the day can differ by one, so a
# Gregorian date printed beside it wins (_scan). Persian and Urdu spellings write some names joined by a ZWNJ, which
# normalisation deletes ("ربیع‌الاول" -> "ربیعالاول").
_HIJRI_MONTHS = {
    1: "محرم", 2: "صفر", 3: "ربيع الأول,ربيع الاول,ربيع أول,ربيعالاول", 4: "ربيع الآخر,ربيع الثاني,ربيع ثاني,ربيعالثاني",
    5: "جمادى الأولى,جمادى الاولى,جمادى الأول,جمادىالاول,جمادیالاول",
    6: "جمادى الآخرة,جمادى الاخرة,جمادى الثانية,جمادى الآخر,جمادىالثاني,جمادیالثانی", 7: "رجب", 8: "شعبان",
    9: "رمضان", 10: "شوال", 11: "ذو القعدة,ذي القعدة,ذیالقعده,ذی القعده", 12: "ذو الحجة,ذي الحجة,ذیالحجه,ذی الحجه",
}
# Bengali news (Bangladesh, West Bengal) writes Gregorian months in Bengali; য় is written both as one code point
# (U+09DF) and as য + nukta, so both spellings are listed.
_BENGALI_MONTHS = {
    1: "জানুয়ারি,জানুয়ারী", 2: "ফেব্রুয়ারি,ফেব্রুয়ারী", 3: "মার্চ", 4: "এপ্রিল", 5: "মে", 6: "জুন", 7: "জুলাই",
    8: "আগস্ট,আগষ্ট", 9: "সেপ্টেম্বর", 10: "অক্টোবর", 11: "নভেম্বর", 12: "ডিসেম্বর",
}
# Central and Eastern European, Nordic, Baltic, Balkan, Catalan, Hebrew (bare and with the "in" prefix ב, which
# is written joined to the month), Urdu, Malay, Tagalog and Swahili month names, nominative and the genitive forms
# dates use. Croatian "listopad" (October) is left out: Polish, Czech and Slovak "listopad(a)" is November.
_MORE_MONTHS = {
    1: "leden,ledna,január,januára,januarja,ianuarie,tammikuuta,tammikuu,jaanuar,sausio,januári,siječnja,siječanj,"
       "gener,janvāris,janvārī,януари,јануар,ינואר,בינואר,جنوری",
    2: "únor,února,február,februára,februarja,februarie,helmikuuta,helmikuu,veebruar,vasario,febr,veljače,veljača,"
       "febrer,februāris,februārī,февруари,фебруар,pebrero,פברואר,בפברואר,فروری",
    3: "březen,března,marec,marca,martie,maaliskuuta,maaliskuu,märts,kovo,március,márc,ožujka,ožujak,març,"
       "marts,martā,marso,mac,machi,מרץ,במרץ,מרס,במרס,مارچ",
    4: "duben,dubna,apríl,apríla,aprila,aprilie,huhtikuuta,huhtikuu,aprill,balandžio,április,ápr,travnja,travanj,"
       "aprīlis,aprīlī,aprili,אפריל,באפריל,اپریل",
    5: "květen,května,máj,mája,maja,toukokuuta,toukokuu,gegužės,május,svibnja,svibanj,maig,maijs,maijā,מאי,במאי,مئی",
    6: "červen,června,jún,júna,junij,junija,iunie,kesäkuuta,kesäkuu,birželio,június,lipnja,lipanj,juny,jūnijs,jūnijā,"
       "юни,hunyo,יוני,ביוני",
    7: "červenec,července,júl,júla,julij,julija,iulie,heinäkuuta,heinäkuu,liepos,július,srpnja,srpanj,juliol,"
       "jūlijs,jūlijā,юли,hulyo,julai,יולי,ביולי,جولائی",
    8: "srpen,srpna,augusti,augusta,avgust,avgusta,elokuuta,elokuu,rugpjūčio,augusztus,kolovoza,kolovoz,agost,"
       "augusts,augustā,ogos,agosti,אוגוסט,באוגוסט,اگست",
    9: "září,septembra,septembrie,syyskuuta,syyskuu,rugsėjo,szeptember,szept,rujna,rujan,setembre,septembar,septembris,septembrī,"
       "септември,септембар,setyembre,septemba,ספטמבר,בספטמבר,ستمبر",
    10: "říjen,října,október,októbra,oktobra,octombrie,lokakuuta,lokakuu,oktoober,spalio,octubre,oktobar,oktobris,oktobrī,"
        "октомври,октобар,oktubre,oktoba,אוקטובר,באוקטובר,اکتوبر",
    11: "listopadu,novembra,noiembrie,marraskuuta,marraskuu,lapkričio,studenoga,studenog,studeni,novembar,novembris,novembrī,"
        "ноември,новембар,nobyembre,novemba,נובמבר,בנובמבר,نومبر",
    12: "prosinec,prosince,decembra,decembrie,joulukuuta,joulukuu,detsember,gruodžio,prosinca,prosinac,desembre,"
        "decembar,decembris,decembrī,декември,децембар,disyembre,disember,desemba,דצמבר,בדצמבר,دسمبر",
}
# Gregorian months as South Asian news writes them: Marathi, Nepali, Gujarati, Punjabi, Tamil, Telugu, Kannada,
# Malayalam, Sinhala; and Georgian, Armenian (the genitive dates use), Kazakh, Azerbaijani and Uzbek.
_SOUTH_ASIAN_AND_CAUCASIAN_MONTHS = {
    1: "जानेवारी,जनवरी,જાન્યુઆરી,ਜਨਵਰੀ,ஜனவரி,జనవరి,ಜನವರಿ,ജനുവരി,ජනවාරි,იანვარი,იანვრის,հունվարի,հունվար,қаңтар,"
       "yanvar",
    2: "फेब्रुवारी,फेब्रुअरी,ફેબ્રુઆરી,ਫ਼ਰਵਰੀ,ਫਰਵਰੀ,பிப்ரவரி,ఫిబ్రవరి,ಫೆಬ್ರವರಿ,ഫെബ്രുവരി,පෙබරවාරි,თებერვალი,"
       "თებერვლის,փետրվարի,փետրվար,ақпан,fevral",
    3: "मार्च,માર્ચ,ਮਾਰਚ,மார்ச்,మార్చి,ಮಾರ್ಚ್,മാർച്ച്,මාර්තු,მარტი,მარტის,մարտի,մարտ,наурыз",
    4: "एप्रिल,अप्रिल,એપ્રિલ,ਅਪ੍ਰੈਲ,ਅਪਰੈਲ,ஏப்ரல்,ఏప్రిల్,ಏಪ್ರಿಲ್,ഏപ്രിൽ,අප්රේල්,აპრილი,აპრილის,ապրիլի,ապրիլ,"
       "сәуір,aprel",
    5: "मे,મે,ਮਈ,மே,మే,ಮೇ,മേയ്,මැයි,მაისი,მაისის,մայիսի,մայիս,мамыр",
    6: "जुन,જૂન,ਜੂਨ,ஜூன்,జూన్,ಜೂನ್,ജൂൺ,ජූනි,ივნისი,ივნისის,հունիսի,հունիս,маусым,iyun",
    7: "जुलै,જુલાઈ,ਜੁਲਾਈ,ஜூலை,జూలై,ಜುಲೈ,ജൂലൈ,ජූලි,ივლისი,ივლისის,հուլիսի,հուլիս,шілде,iyul",
    8: "ऑगस्ट,अगस्ट,ઓગસ્ટ,ਅਗਸਤ,ஆகஸ்ட்,ఆగస్టు,ಆಗಸ್ಟ್,ഓഗസ്റ്റ്,අගෝස්තු,აგვისტო,აგვისტოს,օգոստոսի,օգոստոս,тамыз,"
       "avqust",
    9: "सप्टेंबर,सेप्टेम्बर,સપ્ટેમ્બર,ਸਤੰਬਰ,செப்டம்பர்,సెప్టెంబర్,ಸೆಪ್ಟೆಂಬರ್,സെപ്റ്റംബർ,සැප්තැම්බර්,სექტემბერი,"
       "სექტემბრის,սեպտեմբերի,սեպտեմբեր,қыркүйек,sentyabr,sentabr",
    10: "ऑक्टोबर,अक्टोबर,ઓક્ટોબર,ਅਕਤੂਬਰ,அக்டோபர்,అక్టోబర్,ಅಕ್ಟೋಬರ್,ഒക്ടോബർ,ඔක්තෝබර්,ოქტომბერი,ოქტომბრის,"
        "հոկտեմբերի,հոկտեմբեր,қазан,oktyabr,oktabr",
    11: "नोव्हेंबर,नोभेम्बर,નવેમ્બર,ਨਵੰਬਰ,நவம்பர்,నవంబర్,ನವೆಂಬರ್,നവംബർ,නොවැම්බර්,ნოემბერი,ნოემბრის,նոյեմբերի,"
        "նոյեմբեր,қараша,noyabr",
    12: "डिसेंबर,डिसेम्बर,ડિસેમ્બર,ਦਸੰਬਰ,டிசம்பர்,డిసెంబర్,ಡಿಸೆಂಬರ್,ഡിസംബർ,දෙසැම්බර්,დეკემბერი,დეკემბრის,"
        "դեկտեմբերի,դեկտեմբեր,желтоқсан,dekabr",
}
# Serbian (Cyrillic and Latin, nominative and the genitive dates use), Macedonian, Bulgarian, Belarusian, Icelandic,
# Estonian, Uzbek Cyrillic, Albanian, Galician, Afrikaans, Irish, Welsh, Basque (the genitive "maiatzaren" its
# year-first dates use), Hausa, Somali, Zulu, Pashto, Lao and Khmer: the month names the tables above lack.
_BALKAN_AND_OTHER_MONTHS = {
    1: "јануара,januara,јануари,студзеня,студзень,janúar,январ,janar,xaneiro,januarie,eanáir,ionawr,urtarrilaren,"
       "janairu,janaayo,januwari,جنوري,ມັງກອນ,មករា",
    2: "фебруара,februara,лютага,люты,febrúar,феврал,shkurt,febreiro,februarie,feabhra,chwefror,otsailaren,faburairu,"
       "febraayo,februwari,فبروري,ກຸມພາ,កុម្ភៈ",
    3: "марта,marta,сакавіка,сакавік,márta,mawrth,martxoaren,maris,maarso,mashi,ມີນາ,មីនា",
    4: "април,априла,красавіка,красавік,апрел,prill,aibreán,ebrill,apirilaren,afirilu,abriil,ephreli,ເມສາ,មេសា",
    5: "мај,маја,maí,bealtaine,maiatzaren,mayu,meyi,مۍ,ພຶດສະພາ,ឧសភា",
    6: "јун,јуна,juna,јуни,чэрвеня,чэрвень,júní,juuni,июн,qershor,xuño,junie,meitheamh,mehefin,ekainaren,yuni,juun,جون,"
       "ມິຖຸນາ,មិថុនា",
    7: "јул,јула,jula,јули,ліпеня,ліпень,júlí,juuli,июл,korrik,xullo,julie,iúil,gorffennaf,uztailaren,yuli,luuliyo,julayi,"
       "جولای,ກໍລະກົດ,កក្កដា",
    8: "августа,жніўня,жнівень,ágúst,gusht,lúnasa,awst,abuztuaren,agusta,ogost,agasti,ສິງຫາ,សីហា",
    9: "септембра,верасня,верасень,сентябр,shtator,meán fómhair,medi,irailaren,satumba,sebtembar,septhemba,سپتمبر,"
       "ກັນຍາ,កញ្ញា",
    10: "октобра,кастрычніка,кастрычнік,октябр,tetor,deireadh fómhair,hydref,urriaren,oktoobar,okthoba,ຕຸລາ,តុលា",
    11: "новембра,лістапада,лістапад,nóvember,ноябр,nëntor,samhain,tachwedd,azaroaren,nuwamba,nofembar,ພະຈິກ,វិច្ឆិកា",
    12: "децембра,снежня,снежань,декабр,dhjetor,decembro,nollaig,rhagfyr,abenduaren,disamba,desembar,disemba,ທັນວາ,ធ្នូ",
}
# Burmese and Amharic write the Gregorian months in their own scripts ("၁၃ ဇန်နဝါရီ ၂၀၂၄", "ጃንዩወሪ 13, 2024"; the
# Ethiopian calendar's own months are _ETHIOPIAN_MONTHS). Sorani Kurdish names take the ezafe "ی" ("١٣ی کانوونی دووەمی
# ٢٠٢٤"): each name is also listed with it (the day's is in the patterns' suffixes).
_SORANI_MONTHS = {
    1: "کانوونی دووەم,کانونی دووەم", 2: "شوبات", 3: "ئازار", 4: "نیسان", 5: "ئایار", 6: "حوزەیران",
    7: "تەممووز,تەمموز", 8: "ئاب", 9: "ئەیلوول,ئەیلول", 10: "تشرینی یەکەم", 11: "تشرینی دووەم",
    12: "کانوونی یەکەم,کانونی یەکەم",
}
_BURMESE_AND_AMHARIC_MONTHS = {
    1: "ဇန်နဝါရီ,ጃንዩወሪ,ጃንዋሪ", 2: "ဖေဖော်ဝါရီ,ፌብሩወሪ,ፌብሩዋሪ", 3: "မတ်,ማርች", 4: "ဧပြီ,ኤፕሪል", 5: "မေ,ሜይ",
    6: "ဇွန်,ጁን", 7: "ဇူလိုင်,ጁላይ", 8: "ဩဂုတ်,သြဂုတ်,ኦገስት", 9: "စက်တင်ဘာ,ሴፕቴምበር", 10: "အောက်တိုဘာ,ኦክቶበር",
    11: "နိုဝင်ဘာ,ኖቬምበር", 12: "ဒီဇင်ဘာ,ዲሴምበር",
}
# Afghanistan's Solar Hijri months, named after the zodiac in Dari and in Pashto ("۳۱ ثور ۱۳۹۷"); Iran's names are
# _SOLAR_MONTHS. A Gregorian year beside one converts outside the accepted years and is dropped (_to_date).
_AFGHAN_SOLAR_MONTHS = {
    1: "حمل,وری", 2: "ثور,غویی", 3: "جوزا,غبرگولی,غبرګولی", 4: "سرطان,چنگاښ,چنګاښ", 5: "اسد,زمری", 6: "سنبله,وږی",
    7: "میزان,تله", 8: "عقرب,لړم", 9: "قوس,لیندۍ", 10: "جدی,مرغومی", 11: "دلو,سلواغه", 12: "حوت,کب",
}
# Nepal's Bikram Sambat months ("असार ५, २०८१" = 19 June 2024), in the spellings Nepali news uses; read on Nepali
# pages only: Hindi pages name the lunar Vikram Samvat months alike, whose days do not match the solar table.
_BIKRAM_SAMBAT_MONTHS = {
    1: "बैशाख,वैशाख", 2: "जेठ,जेष्ठ", 3: "असार,आषाढ", 4: "साउन,श्रावण", 5: "भदौ,भाद्र", 6: "असोज,आश्विन",
    7: "कात्तिक,कार्तिक", 8: "मंसिर,मङ्सिर", 9: "पुस,पौष", 10: "माघ", 11: "फागुन,फाल्गुन", 12: "चैत,चैत्र",
}
# The Ethiopian calendar's months, as Amharic and Tigrinya pages date by it ("ሰኔ 12 ቀን 2016 ዓ.ም" = 19 June 2024): twelve
# of 30 days and Pagume of 5 or 6, the year starting on 11 or 12 September. Read on those pages only.
_ETHIOPIAN_MONTHS = {
    1: "መስከረም", 2: "ጥቅምት", 3: "ኅዳር,ህዳር", 4: "ታኅሣሥ,ታህሳስ,ታሕሣሥ", 5: "ጥር", 6: "የካቲት", 7: "መጋቢት",
    8: "ሚያዝያ", 9: "ግንቦት", 10: "ሰኔ", 11: "ሐምሌ,ሀምሌ", 12: "ነሐሴ,ነሀሴ", 13: "ጳጉሜ,ጳጉሜን",
}
# Meskerem 1 of year 1 (29 August 8 CE, Julian) as a proleptic Gregorian ordinal, Python's date.toordinal() count
_ETHIOPIAN_EPOCH = 2796
# Croatian "listopad" is October, where Polish, Czech and Slovak "listopad(a)" is November (the table's meaning):
# on a page detected as Croatian the name takes its Croatian month.
_CROATIAN_OCTOBER = frozenset({"listopad", "listopada"})
# Thai news writes the Buddhist-era year (2567 = 2024) after Thai month names, full or abbreviated (มี.ค.).
_THAI_MONTHS = {
    1: "มกราคม,ม.ค", 2: "กุมภาพันธ์,ก.พ", 3: "มีนาคม,มี.ค", 4: "เมษายน,เม.ย", 5: "พฤษภาคม,พ.ค", 6: "มิถุนายน,มิ.ย",
    7: "กรกฎาคม,ก.ค", 8: "สิงหาคม,ส.ค", 9: "กันยายน,ก.ย", 10: "ตุลาคม,ต.ค", 11: "พฤศจิกายน,พ.ย", 12: "ธันวาคม,ธ.ค",
}
_BUDDHIST_ERA_OFFSET = 543
# Thai writes its era before the year, Buddhist (พ.ศ.) or Common (ค.ศ.): "14 มีนาคม พ.ศ. 2567", "14 มี.ค. ค.ศ. 2024"
_THAI_ERA = r"(?:พ|ค)\.\s?ศ\."
_SORANI_WITH_EZAFE = {m: ",".join(f"{n},{n}ی" for n in names.split(",")) for m, names in _SORANI_MONTHS.items()}
for _month, _names in (*_MORE_MONTHS.items(), *_SOUTH_ASIAN_AND_CAUCASIAN_MONTHS.items(), *_THAI_MONTHS.items(),
                       *_BALKAN_AND_OTHER_MONTHS.items(), *_SORANI_WITH_EZAFE.items(),
                       *_BURMESE_AND_AMHARIC_MONTHS.items()):
    _known = set(_GREGORIAN_MONTHS[_month].split(","))
    _GREGORIAN_MONTHS[_month] += "".join("," + n for n in dict.fromkeys(_names.split(",")) if n not in _known)
for _month, _names in _BENGALI_MONTHS.items():
    _spellings = {n for name in _names.split(",") for n in (name, name.replace("\u09df", "\u09af\u09bc"),
                                                            name.replace("\u09af\u09bc", "\u09df"))}
    _GREGORIAN_MONTHS[_month] += "," + ",".join(sorted(_spellings))


# The calendar a month name belongs to.
GREGORIAN, SOLAR_HIJRI, LUNAR_HIJRI = "gregorian", "solar_hijri", "lunar_hijri"
BIKRAM_SAMBAT, ETHIOPIAN = "bikram_sambat", "ethiopian"
# The calendars read only on pages in these languages (their month names are another calendar's elsewhere)
_CALENDAR_LANGS = {BIKRAM_SAMBAT: frozenset({"ne"}), ETHIOPIAN: frozenset({"am", "ti"})}


def _build_month_table() -> dict[str, tuple[int, str]]:
    table: dict[str, tuple[int, str]] = {}
    entries = [(m, n, GREGORIAN) for m, names in _GREGORIAN_MONTHS.items() for n in names.split(",")]
    entries += [(i + 1, n + word, SOLAR_HIJRI) for i, n in enumerate(_SOLAR_MONTHS.split(","))
                for word in ("", _SOLAR_MONTH_WORD, " " + _SOLAR_MONTH_WORD)]
    entries += [(m, n, SOLAR_HIJRI) for m, names in _AFGHAN_SOLAR_MONTHS.items() for n in names.split(",")]
    entries += [(m, n, LUNAR_HIJRI) for m, names in _HIJRI_MONTHS.items() for n in names.split(",")]
    entries += [(m, n, BIKRAM_SAMBAT) for m, names in _BIKRAM_SAMBAT_MONTHS.items() for n in names.split(",")]
    entries += [(m, n, ETHIOPIAN) for m, names in _ETHIOPIAN_MONTHS.items() for n in names.split(",")]
    for month, name, calendar in entries:
        key = _n(name)
        # A name meaning two different months would silently misdate articles; fail at import instead.
        if table.get(key, (month, calendar)) != (month, calendar):
            raise ValueError(f"month name {name!r} is ambiguous")
        table[key] = (month, calendar)
    return table


_MONTHS = _build_month_table()
_BUDDHIST_ERA_NAMES = frozenset(_n(n) for names in _THAI_MONTHS.values() for n in names.split(","))


def _month_alternation(names: list[str]) -> str:
    """The names as one regex alternation, longest first so that "كانون الثاني" is tried before any shorter name and
    "mayıs" before "may".

    Grouped by first letter, "m(?:ayıs|ayis|...|ay)": the flat alternation of ~450 names made the regex engine try
    every name at every word start. Same matches: within a group the names keep their longest-first order, and no
    text character matches the first letters of two groups, even case-insensitively (tests check it), so wherever a
    name matches only its own group can, and it tries its names in the old order."""
    groups: dict[str, list[str]] = {}
    for name in sorted(names, key=len, reverse=True):
        groups.setdefault(name[0], []).append(re.escape(name[1:]).replace(r"\ ", r"\s+"))
    return "|".join(re.escape(first) + "(?:" + "|".join(rests) + ")" for first, rests in groups.items())


_MON = _month_alternation(list(_MONTHS))
_D = r"(?P<d>3[01]|[12]\d|0?[1-9])(?!\d)"
_NOT_LETTER_AFTER = r"(?![^\W\d_])"

# A 4-digit year in the range we accept (Gregorian 1990-2100, Solar Hijri 1369-1479, Buddhist era 2533-2643). Every supported
# date expression contains one, so the expensive patterns only run in small windows around these hits.
# (?<!\d)(?:19|20|21|13|14|25)\d\d(?!\d), written to start with the digits and look back past them for the digit
# before: a pattern starting with a lookbehind makes the regex engine run it at every position of the text.
_YEAR = re.compile(r"(?:19|20|21|13|14|25)(?<!\d\d\d)\d\d(?!\d)")
_WIN_BEFORE, _WIN_AFTER = 48, 28
# A Hijri and a Gregorian date this close (characters between their starts) are one dateline in two calendars.
_HIJRI_PAIR = 60

_DMY_TEXT = re.compile(
    r"(?<![\w:])(?<!\d[.,])" + _D + r"(?:st|nd|rd|th|er|º|°|\.|ي)?"  # ي: Sorani's ezafe, ی normalised
    r"(?:\s*(?:de|of)\s+|\s*d['’]|[\s\-/.]*)"
    r"(?P<mon>" + _MON + r")\.?" + _NOT_LETTER_AFTER
    + r"(?:\s*[/(]\s*(?:" + _MON + r")\.?\s*\)?)?"
    r"(?:\s*,?\s*(?:de|del|of)\s+|\s*" + _THAI_ERA + r"\s*|[\s\-/.,]*)"
    r"(?P<y>\d{4})(?!\d)",
    re.I,
)
_MDY_TEXT = re.compile(
    r"(?<![^\W\d_])(?P<mon>" + _MON + r")\.?" + _NOT_LETTER_AFTER + r"\s*" + _D
    + r"(?:st|nd|rd|th|\s*ቀን)?\s*,?\s*(?P<y>\d{4})(?!\d)",  # ቀን: Amharic's "day" ("ሰኔ 12 ቀን 2016")
    re.I,
)
# Year first, then the month's name and the day: Hungarian "2024. március 14.", Lithuanian "2024 m. kovo 14 d.",
# Nepali "२०८१ असार ५ गते". Only for those languages (_date_from): elsewhere a year ending a sentence can stand before
# a month and a number.
_YMD_TEXT = re.compile(
    r"(?<![\d.:/\-])(?P<y>\d{4})(?:\.|\s+m\.|(?=\s))\s*(?P<mon>" + _MON + r")\.?" + _NOT_LETTER_AFTER + r"\s*" + _D
    + r"(?:\s*d\.|\.(?!\d))?",
    re.I,
)
_YEAR_FIRST_LANGS = frozenset({"hu", "lt", "ne"})
# A colon may stand right before a numeric date when a label ends with it, as Chinese and Japanese pages write their
# full-width colon without a space ("发布时间：2024-12-01 15:20"); after a digit it is part of a time or a number.
_YMD_NUM = re.compile(
    r"(?<![\d./\-])(?<!\d:)(?P<y>\d{4})(?P<sep>[-/.])\s?(?P<m>1[0-2]|0?[1-9])(?!\d)(?P=sep)\s?" + _D
    + r"(?!(?P=sep)\d)"
)
# Czech, Slovak, Slovene and Croatian news space their numbers: "21. 5. 2018 12:23", "21. 05. 2018."
_DMY_NUM = re.compile(
    r"(?<![\d./\-])(?<!\d:)(?P<a>[0-3]?\d)(?P<sep>[-/.])(?P<sp> ?)(?P<b>[0-3]?\d)(?P=sep)(?P=sp)(?P<y>\d{4})(?!\d)"
    r"(?!(?P=sep)\d)"
)
_CJK = re.compile(
    r"(?<!\d)(?P<y>\d{4})\s*[年년]\s*(?P<m>1[0-2]|0?[1-9])\s*[月월]\s*" + _D + r"\s*[日일号號]?"
)
_VI = re.compile(
    r"(?<![\w:])" + _D + r"\s*(?:tháng|thg)\s*(?P<m>1[0-2]|0?[1-9])(?!\d)\s*(?:,?\s*năm\s*|[\s,/]+)"
    r"(?P<y>\d{4})(?!\d)",
    re.I,
)
# Latvian puts the year first with "gada" (of the year): "2024. gada 14. martā".
_LV_TEXT = re.compile(
    r"(?<![\d.:/\-])(?P<y>\d{4})\.\s*gada\s+" + _D + r"\.\s*(?P<mon>" + _MON + r")\.?" + _NOT_LETTER_AFTER, re.I
)
# Basque: "2018ko maiatzaren 21a" (the year's "-ko", the month's genitive, the day's article); Mongolian numbers its
# months: "2018 оны 5-р сарын 21"; Khmer writes "ថ្ងៃទី២១ ខែឧសភា ឆ្នាំ២០១៨" (day, month and year words joined to their
# values, no space to start a word on).
_EU_TEXT = re.compile(
    r"(?<![\d.:/\-])(?P<y>\d{4})\s*-?\s*ko\s+(?P<mon>" + _MON + r")" + _NOT_LETTER_AFTER + r"\s*" + _D, re.I
)
_MN_NUM = re.compile(r"(?<![\d.:/\-])(?P<y>\d{4})\s*оны\s+(?P<m>1[0-2]|0?[1-9])(?:\s*-?\s*р)?\s+сар(?:ын|ы)?\s+" + _D)
_KM_TEXT = re.compile("ទី\\s*" + _D + "\\s*ខែ\\s*(?P<mon>" + _MON + ")\\s*ឆ្នាំ\\s*(?P<y>\\d{4})(?!\\d)")
# Japanese era years (Reiwa, Heisei: government and local news) and Taiwan's Minguo years: "令和6年3月14日",
# "令和元年" for the first year, "民國113年3月14日". Their years have 1-3 digits, so they have their own anchor (_ERA_MARK).
_ERA_START = {"令和": 2018, "平成": 1988, "民國": 1911, "民国": 1911}
_ERA_MARK = re.compile("|".join(_ERA_START))
_ERA = re.compile(
    r"(?P<era>" + "|".join(_ERA_START) + r")\s*(?P<ey>[1-9]\d{0,2}|元)\s*年\s*(?P<m>1[0-2]|0?[1-9])\s*月\s*" + _D
    + r"\s*日?"
)
_DATE_PATTERNS = (("ymd", _YMD_NUM), ("ymd", _CJK), ("text", _DMY_TEXT), ("text", _MDY_TEXT),
                  ("ytext", _YMD_TEXT), ("text", _LV_TEXT), ("dmy", _DMY_NUM), ("vi", _VI), ("era", _ERA),
                  ("text", _EU_TEXT), ("ymd", _MN_NUM), ("text", _KM_TEXT))

# ---------------------------------------------------------------------------------------------------------
# Times attached to a date. Fixed offsets only for abbreviations that name one zone unambiguously in
# US/European news (CST is taken as US Central; IST/AST are left out because they name several zones).

_TZ_ABBR = {
    "UTC": 0, "GMT": 0, "UT": 0, "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120, "MEZ": 60,
    "MESZ": 120, "EET": 120, "EEST": 180, "MSK": 180, "МСК": 180, "мск": 180, "EST": -300, "EDT": -240,
    "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540,
    "AKDT": -480, "HST": -600, "JST": 540, "KST": 540, "WIB": 420, "WITA": 480, "WIT": 540,
}
_TZ = (
    r"(?:(?-i:(?P<z>Z))(?!\w)"
    r"|\s?(?P<off>[+-](?:0\d|1[0-4]):?[0-5]\d)(?!\d)"
    r"|\s*\(?(?-i:(?P<abbr>" + "|".join(sorted(_TZ_ABBR, key=len, reverse=True)) + r"))"
    # (?!\d): `GMT+10` is ten hours, not one hour and a stray 0
    r"(?:\s*(?P<aoff>[+-](?:0?\d|1[0-4])(?::?[0-5]\d)?(?!\d)))?\)?" + _NOT_LETTER_AFTER + ")"
)
# Hindi's formal pair, after or before the time: "3:20 अपराह्न" (p.m.), "पूर्वाह्न 11:05" (a.m.)
_AM_PM = _n("صباحا|صباح|مساءا|مساء|ص|م|ق\\.?\\s?ظ|ب\\.?\\s?ظ") + "|अपराह्न|पूर्वाह्न"
_AMPM = r"(?P<ampm>[ap]\.?\s?m\.?|" + _AM_PM + r")" + _NOT_LETTER_AFTER
_PRE = r"(?:(?P<pre>오전|오후|上午|下午|午前|午後|早上|晚上|中午|凌晨|अपराह्न|पूर्वाह्न)\s*)?"
# A weekday word may sit between a date and its time, but an AM/PM prefix word must stay with the time.
_NOT_AMPM_WORD = r"(?!오전|오후|上午|下午|午前|午後|早上|晚上|中午|凌晨|अपराह्न|पूर्वाह्न)"
_PM_WORDS = frozenset({"오후", "下午", "午後", "晚上", "中午", "अपराह्न"})


def _time_core(seps: str) -> str:
    return (
        _PRE + r"(?P<H>2[0-3]|[01]?\d)\s*(?:" + seps + r")\s*(?P<M>[0-5]\d)(?!\d)"
        r"(?:\s*(?::|分|분)\s*(?P<S>[0-5]\d)(?!\d)(?:[.,]\d{1,9})?)?(?:\s*(?:分|분|秒|초))?"
        r"(?:\s*" + _AMPM + r")?(?:" + _TZ + r")?"
    )


# Era and "year" words that sit between a date and its time ("2018م", "2018 г.", "(月)").
_LEAD = (
    r"(?:\s*(?:" + _n("م|ه") + r"|года|год|г\.?|року|р\.?|yılı|năm)" + _NOT_LETTER_AFTER + r")?"
    r"(?:\s*\([^()\d]{1,12}\)|\s*（[^（）\d]{1,12}）)?"
)
_PUNCT = r"(?:\s*[,،|\-–—/•·@.]\s*)?"
_TIME_WORDS = _n("at|à|a las|a la|às|as|um|om|alle|ore|saat|pukul|jam|klo|kl|o godz|godz|o|в|о|u|у|v|ob|ساعت|الساعة|ساعة")
_COLON_SEPS = r"[:h]|時|时|시|点|點"
# A dot is a time separator only after an explicit time word ("pukul 12.23"); elsewhere "2018 10.5" is
# a number, not a time.
_TIME_AFTER_WORD = re.compile(
    _LEAD + _PUNCT + r"\s*(?:" + _TIME_WORDS + r")\.?\s*:?\s*" + _time_core(r"[:h.]|時|时|시|点|點"), re.I
)
_TIME_AFTER = re.compile(
    _LEAD + r"(?:T|" + _PUNCT + r"\s*(?:" + _NOT_AMPM_WORD + r"[^\W\d_]{2,12}\s*[,،]?\s*)?)" + _time_core(_COLON_SEPS),
    re.I,
)
# A dot between hour and minute only with a zone after it: "Thu 14 Mar 2024 10.32 GMT" (the Guardian's style).
_TIME_AFTER_DOT = re.compile(
    _LEAD + _PUNCT + r"\s*(?:" + _NOT_AMPM_WORD + r"[^\W\d_]{2,12}\s*[,،]?\s*)?" + _time_core(r"\."), re.I
)
_TIME_BEFORE = re.compile(
    r"(?<![\d:.])" + _time_core(_COLON_SEPS) + _PUNCT + r"\s*(?:[^\W\d_]{2,15}\.?\s*[,،]?\s*)?" + _PUNCT
    + r"\s*$",
    re.I,
)

# Labels right before a date. "Updated" dates are later than publication and would move the story, so
# they are dropped; "published" labels mark the article's own dateline among teaser dates.
_UPDATED_WORDS = (
    r"(?:updated?|last\s+modified|modified|edited|aktualisiert|geändert|mis\s+à\s+jour|modifié|"
    r"actualizado|actualización|atualizado|atualização|aggiornato|aggiornamento|güncelleme|güncellendi|"
    r"diperbarui|dikemaskini|обновлено|обновлён|обновлен|изменено|оновлено|змінено|"
    # the languages of the month table that have no labelled corpus (session 13): "Aktualizacja: 15 marca"
    # before "Opublikowano: 14 marca" gave the 15th
    r"aktualizacja|aktualizacji|zaktualizowano|bijgewerkt|gewijzigd|aangepast|aktualizováno|aktualizované|"
    r"uppdaterad|uppdaterat|opdateret|oppdatert|päivitetty|actualizat|actualizare|actualitzat|actualització|"
    r"frissítve|frissítés|módosítva|ažurirano|ажурирано|posodobljeno|актуализирано|актуализация|обновено|"
    r"atnaujinta|atjaunināts|uuendatud|ενημερώθηκε|cập\s+nhật|"
    # the languages session 16 added months for
    r"абноўлена|uppfært|përditësuar|përditësimi|eguneratua|diweddarwyd|nuashonraithe|განახლდა|թարմացվել|"
    r"yeniləndi|yenilənib|жаңартылды|yangilandi|шинэчлэгдсэн|imesasishwa|"
    + _n("تحديث|محدث|عدل|بروزرسانی|به\\s?روزرسانی|ویرایش|עודכן|अपडेट|อัปเดต")
    + r"|更新|修改|수정|업데이트)"
)
_UPDATED_LABEL = re.compile(_UPDATED_WORDS + r"[^\d]{0,25}$", re.I)
_UPDATED_FIRST = re.compile(r"^\W*" + _UPDATED_WORDS, re.I)
_PUBLISHED_LABEL = re.compile(
    r"(?:published|posted|publish\s+date|publié|publiée|veröffentlicht|publicado|publicada|pubblicato|"
    r"yayınlanma|yayın\s+tarihi|diterbitkan|dipublikasikan|опубликовано|опубликован|опубліковано|"
    r"opublikowano|data\s+publikacji|gepubliceerd|publikováno|zveřejněno|publikované|zverejnené|publicerad|"
    r"publicerat|publiceret|publisert|julkaistu|publicat|publicată|közzétéve|objavljeno|објављено|публикувано|"
    r"paskelbta|avaldatud|publicēts|δημοσιεύθηκε|δημοσίευση|ngày\s+đăng|đăng\s+lúc|đăng\s+ngày|"
    r"апублікавана|(?<![^\W\d_])birt(?![^\W\d_])|publikuar|објавено|argitaratua|cyhoeddwyd|foilsithe|გამოქვეყნდა|հրապարակվել|"
    r"dərc\s+edilib|жарияланды|e['’]lon\s+qilindi|нийтэлсэн|imechapishwa|"
    + _n("نشر|تاريخ النشر|منتشر\\s?شده|تاریخ انتشار|פורסם|प्रकाशित|เผยแพร่")
    + r"|发布|發布|发表|發表|公開|掲載|입력|প্রকাশিত|প্রকাশ)[^\d]{0,25}$",
    re.I,
)


class _Hit(NamedTuple):
    start: int
    end: int
    value: datetime
    has_time: bool


def _to_date(y: int, m: int, d: int, calendar: str = GREGORIAN) -> date | None:
    try:
        if calendar == SOLAR_HIJRI:
            out = jdatetime.date(y, m, d).togregorian()
        elif calendar == LUNAR_HIJRI:
            out = Hijri(y, m, d).to_gregorian()
        elif calendar == BIKRAM_SAMBAT:
            out = nepali_datetime.date(y, m, d).to_datetime_date()
        elif calendar == ETHIOPIAN:
            out = _ethiopian_to_gregorian(y, m, d)
        else:
            out = date(y, m, d)
    except (ValueError, OverflowError):  # a day the month lacks; a year outside the Umm al-Qura or Bikram Sambat table
        return None
    return out if MIN_YEAR <= out.year <= MAX_YEAR else None


def _ethiopian_to_gregorian(y: int, m: int, d: int) -> date:
    """Dershowitz and Reingold's day count (Calendrical Calculations): every fourth year, the one before a Gregorian
    leap year, has a sixth day of Pagume."""
    if not 1 <= d <= (30 if m < 13 else 5 + (y % 4 == 3)):
        raise ValueError(f"the Ethiopian month {m} has no day {d} in {y}")
    return date.fromordinal(_ETHIOPIAN_EPOCH - 1 + 365 * (y - 1) + y // 4 + 30 * (m - 1) + d)


def _us_order(lang: str | None) -> bool:
    return lang is not None and lang.lower().replace("_", "-") in ("en", "en-us")


def _date_from(kind: str, m: re.Match, lang: str | None, persian: bool) -> date | None:
    if kind == "era":
        year = _ERA_START[m["era"]] + (1 if m["ey"] == "元" else int(m["ey"]))
        return _to_date(year, int(m["m"]), int(m["d"]))
    y = int(m["y"])
    if kind == "ytext" and (lang or "")[:2].lower() not in _YEAR_FIRST_LANGS:
        return None
    if kind in ("text", "ytext"):
        name = _WS.sub(" ", m["mon"].lower())
        month, calendar = _MONTHS[name]
        code = (lang or "")[:2].lower()
        if name in _CROATIAN_OCTOBER and code == "hr":
            month = 10
        if code not in _CALENDAR_LANGS.get(calendar, (code,)):
            return None
        if y >= 2400 and name in _BUDDHIST_ERA_NAMES:
            y -= _BUDDHIST_ERA_OFFSET
        return _to_date(y, month, int(m["d"]), calendar)
    if kind == "dmy":
        a, b = int(m["a"]), int(m["b"])
        # Day-first is the world default. Month-first (US style; Wired even writes 11.14.2019) when the
        # second number cannot be a month, or for an ambiguous slashed pair in US English.
        if b > 12 or (a <= 12 and m["sep"] == "/" and _us_order(lang)):
            a, b = b, a
        day, month = a, b
    else:
        day, month = int(m["d"]), int(m["m"])
    solar = kind == "ymd" and y < 1500 and persian
    if y < 1500 and not solar:
        return None
    return _to_date(y, month, day, SOLAR_HIJRI if solar else GREGORIAN)


def _tz_from(m: re.Match) -> tzinfo | None:
    if m["z"]:
        return UTC
    minutes = None
    if m["off"]:
        digits = m["off"][1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        minutes = -minutes if m["off"][0] == "-" else minutes
    elif m["abbr"]:
        minutes = _TZ_ABBR[m["abbr"]]
        if m["aoff"]:
            sign, body = m["aoff"][0], m["aoff"][1:].replace(":", "")
            hours, mins = (body, "0") if len(body) <= 2 else (body[:-2], body[-2:])
            extra = int(hours) * 60 + int(mins)
            minutes += -extra if sign == "-" else extra
    if minutes is None:
        return None
    if abs(minutes) > 14 * 60:
        return None
    return UTC if minutes == 0 else timezone(timedelta(minutes=minutes))


def _time_from(m: re.Match) -> tuple[int, int, int, tzinfo | None] | None:
    hour, minute, second = int(m["H"]), int(m["M"]), int(m["S"] or 0)
    marker = (m["ampm"] or m["pre"] or "").lower()
    if marker:
        pm = marker[0] in "pمب" or marker in _PM_WORDS
        if pm and hour < 12:
            hour += 12
        elif not pm and hour == 12:
            hour = 0
    if hour > 23:
        return None
    return hour, minute, second, _tz_from(m)


def _scan(norm: str, lang: str | None, persian: bool, lo: int = 0, hi: int | None = None) -> list[_Hit]:
    hi = len(norm) if hi is None else hi
    spans: list[list[int]] = []
    anchors = list(_YEAR.finditer(norm, lo, hi))
    if _ERA_MARK.search(norm, lo, hi):
        anchors = sorted((*anchors, *_ERA_MARK.finditer(norm, lo, hi)), key=lambda a: a.start())
    for y in anchors:
        s, e = max(lo, y.start() - _WIN_BEFORE), y.end() + _WIN_AFTER
        if spans and s <= spans[-1][1]:
            spans[-1][1] = e
        else:
            spans.append([s, e])
    found: list[tuple[int, int, date]] = []
    lunar: list[tuple[int, int, date]] = []
    for s, e in spans:
        for kind, rx in _DATE_PATTERNS:
            for m in rx.finditer(norm, s, e):
                d = _date_from(kind, m, lang, persian)
                if d is not None:
                    is_lunar = kind == "text" and _MONTHS[_WS.sub(" ", m["mon"].lower())][1] == LUNAR_HIJRI
                    (lunar if is_lunar else found).append((m.start(), m.end(), d))
    # "6 رمضان 1439 هـ - 21 مايو 2018 م": the Gregorian date printed beside a Hijri one is the publisher's own
    # conversion, which the Umm al-Qura table can miss by a day
    found += [hit for hit in lunar if not any(abs(hit[0] - other[0]) <= _HIJRI_PAIR for other in found)]
    found.sort(key=lambda t: (t[0], -t[1]))
    hits: list[_Hit] = []
    last_end = lo
    for start, end, d in found:
        if start < last_end:
            continue
        tm = _TIME_AFTER_WORD.match(norm, end) or _TIME_AFTER.match(norm, end)
        if tm is None:
            tm = _TIME_AFTER_DOT.match(norm, end)
            tm = tm if tm and (tm["abbr"] or tm["off"]) else None
        parsed = _time_from(tm) if tm else None
        if parsed is None:
            tm = _TIME_BEFORE.search(norm, max(last_end, start - 45), start)
            parsed = _time_from(tm) if tm else None
        if parsed is None:
            hits.append(_Hit(start, end, datetime(d.year, d.month, d.day), False))
            last_end = end
            continue
        hour, minute, second, tz = parsed
        value = datetime(d.year, d.month, d.day, hour, minute, second, tzinfo=tz)
        hits.append(_Hit(min(start, tm.start()), max(end, tm.end()), value, True))
        last_end = max(end, tm.end())
    return hits


def _is_persian(text: str, lang: str | None) -> bool:
    if lang is not None:
        return lang.lower().startswith("fa")
    return _PERSIAN_HINT.search(text) is not None


_ISO_FAST = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)
_RFC822_SHORT_YEAR = re.compile(r"\s*(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2}\s+\d{1,2}:\d{2}")
_ISO_BASIC = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(Z)?)?")


def parse_date_text(text: str, lang: str | None = None) -> tuple[datetime, bool] | None:
    """Parse ONE date expression (ISO 8601, RFC 822 from feeds, or a human dateline in any supported language)."""
    if not text:
        return None
    s = text.strip()[:400]
    if _ISO_FAST.fullmatch(s):
        try:
            value = datetime.fromisoformat(s)
        except ValueError:
            value = None
        if value is not None:
            return (value, len(s) > 10) if MIN_YEAR <= value.year <= MAX_YEAR else None
    norm, _ = _normalize(s)
    hits = _scan(norm, lang, _is_persian(s, lang))
    return (hits[0].value, hits[0].has_time) if hits else None


def _parse_structured(text: str, lang: str | None) -> tuple[datetime, bool] | None:
    # Metadata fields sometimes hold ISO basic format ("20180521", "20180521T122300Z"), which would be
    # a meaningless bare number in prose and so is accepted only here.
    if not text:
        return None
    m = _ISO_BASIC.fullmatch(text.strip())
    if m is None:
        parsed = parse_date_text(text, lang)
        if parsed is None and _RFC822_SHORT_YEAR.match(text):
            # Old feeds still use RFC 822's two-digit years ("21 May 18"); the stdlib knows the rule.
            try:
                value = parsedate_to_datetime(text.strip())
            except (TypeError, ValueError, IndexError):
                return None
            return (value, True) if MIN_YEAR <= value.year <= MAX_YEAR else None
        return parsed
    d = _to_date(int(m[1]), int(m[2]), int(m[3]))
    if d is None:
        return None
    if m[4] is None:
        return datetime(d.year, d.month, d.day), False
    try:
        value = datetime(d.year, d.month, d.day, int(m[4]), int(m[5]), int(m[6] or 0),
                         tzinfo=UTC if m[7] else None)
    except ValueError:
        return None
    return value, True


def _label(norm: str, start: int, floor: int) -> str | None:
    lo = max(floor, start - 40)
    if _UPDATED_LABEL.search(norm, lo, start):
        return "updated"
    if _PUBLISHED_LABEL.search(norm, lo, start):
        return "published"
    return None


def _datelines(text: str, lang: str | None) -> tuple[list[tuple[int, DateCandidate, str | None]], str]:
    norm, deleted = _normalize(text)
    out = []
    prev_end = 0
    for hit in _scan(norm, lang, _is_persian(text, lang)):
        end = _orig_pos(hit.end - 1, deleted) + 1
        while end < len(text) and text[end] in _DELETED:
            end += 1  # keep the trailing tanween of "مساءً" in the raw text
        raw = text[_orig_pos(hit.start, deleted):end]
        cand = DateCandidate("dateline", hit.value, hit.has_time, _WS.sub(" ", raw).strip()[:_RAW_MAX])
        out.append((hit.start, cand, _label(norm, hit.start, prev_end)))
        prev_end = hit.end
    return out, norm


def find_datelines(text: str, lang: str | None = None, max_chars: int = 4000) -> list[DateCandidate]:
    """Dateline candidates found in visible text (page text or the article body's first part)."""
    if not text:
        return []
    items, _ = _datelines(text[:max_chars], lang)
    # Dates labelled "updated"/"modified" are not publication dates.
    return [cand for _, cand, label in items if label != "updated"]


# ---------------------------------------------------------------------------------------------------------
# HTML candidates.

_ARTICLE_TYPES = frozenset({
    "newsarticle", "article", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "backgroundnewsarticle", "reviewnewsarticle", "askpublicnewsarticle", "blogposting", "liveblogposting",
    "socialmediaposting", "report", "techarticle", "scholarlyarticle", "satiricalarticle",
})
# Nested objects that describe other things (related stories, comments, the embedded video) carry their
# own dates, which are not this article's.
_JSONLD_SKIP_KEYS = frozenset({
    "itemlistelement", "relatedlink", "significantlink", "comment", "review", "citation", "mentions",
    "about", "subjectof", "isbasedon", "haspart", "video", "image", "associatedmedia", "recipeinstructions",
    "workexample", "exampleofwork", "publisher", "author", "creator", "sourceorganization",
})
_JSONLD_KEYS = {"datepublished": 0, "datecreated": 1}
_JSONLD_FALLBACK = re.compile(r'"(datePublished|dateCreated)"\s*:\s*"([^"]{4,80})"')
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_CONCATENATED = re.compile(r"}\s*{")

# Spec'd order first; the extra names are common CMS variants of the same "published" field.
_META_NAMES = {name: rank for rank, name in enumerate((
    "article:published_time", "og:published_time", "og:article:published_time", "article:published",
    "pubdate", "publishdate", "publish-date", "publish_date", "date", "dc.date.issued", "dcterms.issued",
    "dcterms.created", "dc.date.created", "dc.date", "sailthru.date", "parsely-pub-date",
    "article.published", "cxenseparse:recs:publishtime", "datepublished", "datecreated",
))}
_META_ATTRS = ("property", "name", "itemprop", "http-equiv")

_NOISE_TOKENS = ("comment", "related", "sidebar", "recommend", "mostread", "most-read", "most_read",
                 "popular", "trending", "ticker", "widget", "newsletter", "breadcrumb", "latest", "outbrain",
                 "taboola", "read-more", "also-read", "caption", "twitter", "tweet", "instagram")
# Case-sensitive on purpose: class names are lower-case by convention, and an IGNORECASE alternation is
# several times slower on the hundreds of class attributes of a page.
_NOISE_RX = re.compile("|".join(re.escape(t) for t in _NOISE_TOKENS))
_MODIFIED_RX = re.compile(r"updat|modif|Modif")
_LOGO_RX = re.compile(r"logo|brand|site", re.I)
_TITLE_SPLIT = re.compile(r"\s+[|\-–—:·»]\s+")
# Captions and embedded posts (tweets are blockquotes) carry the dates of other events and posts.
_DROP_ALWAYS = ("script", "style", "noscript", "template", "svg", "iframe", "select", "button", "textarea",
                "figure", "figcaption", "blockquote")
_MARK = "\ue000"
# Leaf and inline tags never wrap a block of other stories' dates; skipping them halves the noise pass.
_NEVER_NOISE = frozenset({"a", "img", "i", "b", "strong", "em", "br", "hr", "input", "label", "source",
                          "picture", "path", "use", "g", "link", "meta", "option", "small", "sup", "sub",
                          "u", "s", "wbr"})
# The noise pass's verdict on each class and id value seen: pages repeat their class names (and a source's pages
# share them), so each distinct value goes through the regexes once per worker, up to _NOISY_MAX values.
_NOISY_CLASS: dict[str, bool] = {}
_NOISY_ID: dict[str, bool] = {}
_NOISY_MAX = 20000
_MICRODATA_RX = re.compile(r"""itemprop\s*=\s*["']?[^"'>]*datePublished""")
_MICRODATA_WORD = "datePublished"
# Where the article's own dateline sits relative to its headline: just above it (kicker line) or below it
# (byline). A far-away date without a time is more likely prose or a teaser than a dateline.
_BEFORE_H1, _AFTER_H1, _NEAR_AFTER_H1 = 300, 3000, 600
# Raw (not yet whitespace-collapsed) text taken around the headline; collapsing shrinks it to roughly the
# span above, and scanning less text is most of the cost.
_TEXT_BEFORE, _TEXT_AFTER = 2500, 12000
_BODY_HEAD = 300

_tls = threading.local()


def _has_microdata_date(html: str) -> bool:
    """_MICRODATA_RX.search(html) is not None, with the regex run only just before each "datePublished" instead of
    over the whole page (~0.1 ms; most pages have the word in their JSON-LD). A match ends with the word and holds no
    ">", so it starts after the last ">" before the word; and after the word's previous occurrence, or a match ending
    at that one would have been found first (the word cannot be in a match's "itemprop=" part)."""
    start = 0
    at = html.find(_MICRODATA_WORD)
    while at >= 0:
        end = at + len(_MICRODATA_WORD)
        if _MICRODATA_RX.search(html, html.rfind(">", start, at) + 1 or start, end):
            return True
        start = end
        at = html.find(_MICRODATA_WORD, end)
    return False


def _parse_html(html: str) -> etree._Element | None:
    # Plain etree rather than lxml.html: lxml.html resolves a Python element class for every node
    # touched, which costs more than everything else done here. The parser is etree.HTML's default but for
    # collect_ids: nothing here looks elements up by id, and indexing every id attribute is ~5% of the parse.
    text_parser = getattr(_tls, "text_parser", None)
    if text_parser is None:
        text_parser = _tls.text_parser = etree.HTMLParser(collect_ids=False)
    try:
        root = etree.HTML(html, text_parser)
    except (etree.XMLSyntaxError, ValueError):
        # Strings with an XML encoding declaration are refused; bytes with an explicit parser work.
        parser = getattr(_tls, "parser", None)
        if parser is None:
            parser = _tls.parser = etree.HTMLParser(encoding="utf-8")
        try:
            root = etree.HTML(html.encode("utf-8", "replace"), parser)
        except (etree.XMLSyntaxError, ValueError):
            return None
    return root


def _text(el: etree._Element) -> str:
    return "".join(el.itertext()) if isinstance(el.tag, str) else ""


def _drop(el: etree._Element) -> None:
    """Remove an element but keep the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _fold(text: str) -> str:
    return _WS.sub(" ", text).strip()


# The elements the readers below look up by tag, from one walk of the tree: each root.iter(tag) is a walk of the
# whole tree (~0.1 ms on a news page), and they took six.
_READ_TAGS = ("meta", "title", "h1", "article", "body", "script", "time")


def _by_tag(root: etree._Element) -> dict[str, list[etree._Element]]:
    """{tag: root.iter(tag) as a list} for each of _READ_TAGS."""
    found: dict[str, list[etree._Element]] = {tag: [] for tag in _READ_TAGS}
    for el in root.iter(*_READ_TAGS):
        found[el.tag].append(el)
    return found


def _page_title(root: etree._Element, tags: dict[str, list[etree._Element]]) -> str:
    for el in tags["meta"]:
        if (el.get("property") or el.get("name") or "").lower() in ("og:title", "twitter:title"):
            title = _fold(el.get("content") or "")
            if title:
                return title
    el = next((t for t in tags["title"] if t is not root), None)  # root.find(".//title")
    return _fold(_text(el)) if el is not None else ""


def _headline_part(title: str) -> str:
    # "Headline | Section | Site" -> "Headline"
    return max(_TITLE_SPLIT.split(title), key=len) if title else ""


def _main_heading(root: etree._Element, title: str,
                  tags: dict[str, list[etree._Element]]) -> tuple[etree._Element | None, bool]:
    """The headline element and whether it is only a weak guess.

    The first <h1> is often the site logo or name; the headline is the <h1> that repeats the page title,
    preferably inside the article.
    """
    parts = _TITLE_SPLIT.split(title.lower()) if title else []
    t = max(parts, key=len) if parts else ""
    best, best_score = None, 9
    for h1 in tags["h1"]:
        text = _fold(_text(h1)).lower()
        attrs = (h1.get("class") or "") + " " + (h1.get("id") or "")
        if not text or _LOGO_RX.search(attrs) or (text != t and text in parts):
            continue
        tags = {a.tag for a in h1.iterancestors()}
        matches = bool(t) and (text[:40] == t[:40] or (len(text) >= 15 and text in t)
                               or (len(t) >= 15 and t in text))
        if matches:
            score = 0 if tags & {"article", "main"} else 1
        elif tags & {"article", "main"}:
            score = 2
        else:
            score = 4 if tags & {"header", "nav", "a"} else 3
        if score < best_score:
            best, best_score = h1, score
    if best is None:
        return next(iter(tags["article"]), None), True
    # An <h1> that does not repeat the title may be another story's (a "read next" block inside <main>).
    return best, best_score >= 2


def _in_noise(el: etree._Element, keep: set) -> bool:
    """Inside navigation, an aside, a page footer, comments or a list of other stories.

    The walk stops at the headline's own containers: a wrapper around the whole article may carry any
    class ("has-sidebar", "comments-open") without its content being noise.
    """
    in_footer = False
    for anc in el.iterancestors():
        if anc in keep:
            break
        tag = anc.tag
        if tag in ("nav", "aside"):
            return True
        if tag == "footer":
            in_footer = True
        elif tag == "article":
            in_footer = False
        attrs = (anc.get("class") or "") + " " + (anc.get("id") or "")
        if len(attrs) > 1 and _NOISE_RX.search(attrs):
            return True
    return in_footer


def _trim(value: str) -> str:
    return _WS.sub(" ", value).strip()[:_RAW_MAX]


def _load_json(text: str):
    t = text.strip()
    if t.startswith("<!--"):
        t = t[4:]
    if t.endswith("-->"):
        t = t[:-3]
    t = t.replace("<![CDATA[", "").replace("]]>", "").strip().rstrip(";")
    for attempt in (t, _TRAILING_COMMA.sub(r"\1", t), "[" + _CONCATENATED.sub("},{", t) + "]"):
        try:
            return json.loads(attempt, strict=False)
        except (ValueError, RecursionError):  # a nesting bomb ("[[[[...") raises the latter
            continue
    return None


def _jsonld_types(obj: dict) -> set[str]:
    types = obj.get("@type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list):
        return set()
    return {t.rsplit("/", 1)[-1].lower() for t in types if isinstance(t, str)}


def _walk_jsonld(node, depth: int, order: list[int], found: list[tuple[int, int, int, str]]) -> None:
    if depth > 8:
        return
    if isinstance(node, list):
        for item in node:
            _walk_jsonld(item, depth + 1, order, found)
        return
    if not isinstance(node, dict):
        return
    types = _jsonld_types(node)
    rank = 0 if types & _ARTICLE_TYPES else 1 if (not types or any("page" in t for t in types)) else 2
    for key, value in node.items():
        lk = key.lower() if isinstance(key, str) else ""
        if lk in _JSONLD_KEYS:
            if isinstance(value, list) and value:
                value = value[0]
            if isinstance(value, dict):
                value = value.get("@value")
            if isinstance(value, str):
                order[0] += 1
                found.append((rank, _JSONLD_KEYS[lk], order[0], value))
        elif lk not in _JSONLD_SKIP_KEYS and isinstance(value, dict | list):
            _walk_jsonld(value, depth + 1, order, found)


def _jsonld_candidates(scripts: list[etree._Element], lang: str | None) -> list[DateCandidate]:
    found: list[tuple[int, int, int, str]] = []
    order = [0]
    for script in scripts:
        if "ld+json" not in (script.get("type") or "").lower() or not script.text:
            continue
        data = _load_json(script.text)
        if data is not None:
            _walk_jsonld(data, 0, order, found)
            continue
        # Broken JSON is common (unescaped quotes in headlines); the date fields themselves rarely are.
        for m in _JSONLD_FALLBACK.finditer(script.text):
            order[0] += 1
            found.append((1, _JSONLD_KEYS[m[1].lower()], order[0], m[2]))
    # Dates of other things (an ImageObject, an Event) count only when nothing article-like has one.
    if any(f[0] < 2 for f in found):
        found = [f for f in found if f[0] < 2]
    out = []
    for _, _, _, value in sorted(found):
        parsed = _parse_structured(value, lang)
        if parsed:
            out.append(DateCandidate("jsonld", parsed[0], parsed[1], _trim(value)))
    return out


def _main_scope(el: etree._Element, keep: set) -> bool:
    # Teaser lists often carry their own schema.org microdata; the article's own itemscope is the one
    # that contains the headline.
    for anc in el.iterancestors():
        if anc.get("itemscope") is not None:
            return anc in keep
    return True


def _meta_candidates(root: etree._Element, metas: list[etree._Element], lang: str | None, keep: set,
                     has_microdata: bool = True) -> list[DateCandidate]:
    found: list[tuple[int, int, str]] = []
    last = len(_META_NAMES)
    for i, el in enumerate(metas):
        content = el.get("content")
        if not content:
            continue
        ranks = [_META_NAMES.get((el.get(a) or "").strip().lower()) for a in _META_ATTRS]
        ranks = [r for r in ranks if r is not None]
        if not ranks:
            continue
        if el.get("itemprop") is not None:
            if _in_noise(el, keep):
                continue
            if not _main_scope(el, keep):
                ranks = [last + 1]
        found.append((min(ranks), i, content))
    # Microdata on visible elements: <span itemprop="datePublished" content=...>, <time itemprop=...>.
    visible = root.xpath("//body//*[@itemprop][not(self::meta)]") if has_microdata else ()
    for i, el in enumerate(visible):
        if "datepublished" not in el.get("itemprop", "").lower().split() or _in_noise(el, keep):
            continue
        value = el.get("content") or el.get("datetime") or _text(el)
        if value and value.strip():
            found.append((last if _main_scope(el, keep) else last + 1, i, value))
    out = []
    for _, _, value in sorted(found):
        parsed = _parse_structured(value, lang)
        if parsed:
            out.append(DateCandidate("meta", parsed[0], parsed[1], _trim(value)))
    return out


def _is_updated_marker(el: etree._Element) -> bool:
    # WordPress marks an unmodified post "published updated"; only "updated" without "published" is a
    # modification date.
    attrs = ((el.get("class") or "") + " " + (el.get("itemprop") or "")).lower()
    return bool(_MODIFIED_RX.search(attrs)) and "publish" not in attrs


def _label_before(el: etree._Element) -> str:
    prev = el.getprevious()
    if prev is not None:
        text = _text(prev) + (prev.tail or "")
    else:
        parent = el.getparent()
        text = (parent.text or "") if parent is not None else ""
    return _n(text[-60:])


def _heading_distance(el: etree._Element, depths: dict) -> int | None:
    """Levels from the headline up to the nearest ancestor it shares with `el`; None if that is <body>."""
    for anc in el.iterancestors():
        if anc in depths:
            return None if anc.tag in ("body", "html") else depths[anc]
    return None


def _time_candidates(times: list[etree._Element], lang: str | None, keep: set, heading) -> list[DateCandidate]:
    # Article pages list other stories' <time>s too; the article's own sits close to its headline, so
    # rank by how far up the tree the time and the headline meet, and drop times that only meet it at
    # <body> (page furniture).
    depths = {anc: i for i, anc in enumerate(heading.iterancestors(), 1)} if heading is not None else {}
    found: list[tuple[int, int, int, str]] = []
    for i, el in enumerate(times):
        itemprop = (el.get("itemprop") or "").lower()
        if "datepublished" in itemprop:
            continue  # already a "meta" candidate
        if _is_updated_marker(el) or _in_noise(el, keep):
            continue
        value = el.get("datetime") or _text(el)
        if not value or not value.strip() or _UPDATED_LABEL.search(_label_before(el)):
            continue
        if _UPDATED_FIRST.search(_n(_text(el)[:40])):
            continue  # <time>Updated 21 May</time>
        distance = _heading_distance(el, depths) if depths else 0
        if distance is None:
            continue
        found.append((0 if el.get("pubdate") is not None else 1, distance, i, value))
    out = []
    for *_, value in sorted(found)[:5]:
        parsed = _parse_structured(value, lang)
        if parsed:
            out.append(DateCandidate("time", parsed[0], parsed[1], _trim(value)))
    return out


def _find_title(flat: str, headline: str) -> int:
    return flat.find(headline[:50]) if len(headline) >= 12 else -1


def _collapse(text: str) -> str:
    """_WS.sub(" ", text), several times faster on long texts: str.split() splits on exactly the characters \\s
    matches (tests check every code point), and a leading or trailing run is one space, as the regex leaves it."""
    words = " ".join(text.split())
    if not words:
        return " " if text else ""
    return (" " if text[0].isspace() else "") + words + (" " if text[-1].isspace() else "")


def _around_mark(text: str, mark: int) -> str:
    flat = _collapse(text[max(0, mark - _TEXT_BEFORE):mark + _TEXT_AFTER])
    mark = flat.find(_MARK)
    return flat[max(0, mark - _BEFORE_H1 - 100):mark + _AFTER_H1 + 200]


def _is_noise_block(el: etree._Element) -> bool:
    tag = el.tag
    if tag in ("nav", "aside"):
        return True
    if tag in ("footer", "header") and not _has_ancestor(el, "article"):
        return True
    attrs = el.get("class")
    if attrs:
        noisy = _NOISY_CLASS.get(attrs)
        if noisy is None:
            noisy = _NOISY_CLASS[attrs] = bool(
                _NOISE_RX.search(attrs) or (_MODIFIED_RX.search(attrs) and "publish" not in attrs))
        if noisy:
            return True
    attrs = el.get("id")
    if attrs:
        noisy = _NOISY_ID.get(attrs)
        if noisy is None:
            noisy = _NOISY_ID[attrs] = _NOISE_RX.search(attrs) is not None
        if noisy:
            return True
    attrs = el.get("itemprop")
    return bool(attrs and _MODIFIED_RX.search(attrs))


def _page_dateline(root: etree._Element, heading, weak: bool, title: str, keep: set,
                   lang: str | None) -> DateCandidate | None:
    # This mutates the tree, so it runs after every other reader of it.
    etree.strip_elements(root, etree.Comment, *_DROP_ALWAYS, with_tail=False)
    body = root.find("body")
    body = body if body is not None else root
    for seen in (_NOISY_CLASS, _NOISY_ID):
        if len(seen) > _NOISY_MAX:
            seen.clear()
    # Only the outermost noise blocks: whatever is inside one leaves with it, so it needs no test (about half of a
    # news page's body sits in such blocks). With these events iterwalk visits the nodes body.iter() does.
    doomed = []
    walker = etree.iterwalk(body, events=("start", "comment", "pi"))
    for _event, el in walker:
        if el.tag in _NEVER_NOISE or el in keep:
            continue
        if _is_noise_block(el):
            doomed.append(el)
            walker.skip_subtree()
    for el in doomed:
        _drop(el)
    if heading is not None:
        heading.text = _MARK + (heading.text or "")
    text = " ".join(body.itertext())
    mark = text.find(_MARK)
    if mark >= 0 and not weak:
        window = _around_mark(text, mark)
    else:
        # No trustworthy <h1>: the headline is where the page title's text first appears.
        flat = _collapse(text[:60000].replace(_MARK, ""))
        pos = _find_title(flat, _headline_part(title))
        if pos >= 0:
            window = flat[max(0, pos - _BEFORE_H1 - 100):pos] + _MARK + flat[pos:pos + _AFTER_H1 + 200]
        elif mark >= 0:
            window = _around_mark(text, mark)
        else:
            window = flat[:4000]
    items, norm = _datelines(window, lang)
    mark = norm.find(_MARK)
    if mark < 0:
        usable = [it for it in items if it[2] != "updated"]
        chosen = next((it for it in usable if it[2] == "published"), usable[0] if usable else None)
        return chosen[1] if chosen else None
    near = [it for it in items if mark - _BEFORE_H1 <= it[0] <= mark + _AFTER_H1]
    for _, cand, label in near:
        if label == "published":
            return cand
    # Past an "Updated ..." line the byline is over; an unlabelled day further down is prose or a caption.
    seen_updated = False
    for pos, cand, label in near:
        if pos < mark:
            continue
        if label == "updated":
            seen_updated = True
        elif cand.has_time or (pos - mark <= _NEAR_AFTER_H1 and not seen_updated):
            return cand
    before = [it for it in near if it[0] < mark and it[2] != "updated"]
    return before[-1][1] if before else None


def _body_dateline(body: str, lang: str | None) -> DateCandidate | None:
    # Dates in the article text are usually about events ("As of 29 November ..."), not the article.
    # Only a labelled date, a date with a time near the start, or an agency-style dateline at the very
    # start ("CAIRO, 21 May 2018 -", nothing lower-case before it) counts.
    items, norm = _datelines(body[:4000], lang)
    for pos, cand, label in items:
        if label == "updated":
            continue
        if label == "published" or (cand.has_time and pos <= _BODY_HEAD):
            return cand
        if pos <= 60 and not any(ch.islower() for ch in norm[:pos]):
            return cand
    return None


def _has_ancestor(el: etree._Element, tag: str) -> bool:
    return any(a.tag == tag for a in el.iterancestors())


_URL_DATES = (
    re.compile(r"/((?:19|20)\d{2})/(1[0-2]|0?[1-9])/(3[01]|[12]\d|0?[1-9])(?=/|$|[-_.])"),
    re.compile(r"(?<!\d)((?:19|20)\d{2})[-_](1[0-2]|0[1-9])[-_](3[01]|[12]\d|0[1-9])(?!\d)"),
    re.compile(r"(?<!\d)((?:19|20)\d{2})(1[0-2]|0[1-9])(3[01]|[12]\d|0[1-9])(?!\d)"),
)


def _url_candidate(url: str) -> DateCandidate | None:
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    for rx in _URL_DATES:
        for m in rx.finditer(path):
            d = _to_date(int(m[1]), int(m[2]), int(m[3]))
            if d is not None:
                return DateCandidate("url", datetime(d.year, d.month, d.day), False, m[0].strip("/")[:_RAW_MAX])
    return None


def _htmldate_candidate(html: str, found: str | None = None) -> DateCandidate | None:
    """htmldate's date for the page (`found`: its answer already, else htmldate.find_date runs here)."""
    if found is None:
        try:
            from htmldate import find_date
        except ImportError:
            return None
        try:
            # Bytes, never str: htmldate downloads a str that looks like a URL.
            found = find_date(html.encode("utf-8", "replace"), original_date=True, outputformat="%Y-%m-%d")
        except Exception:  # noqa: BLE001 - third-party heuristics on arbitrary HTML must not fail the page
            return None
    if not found:
        return None
    try:
        d = date.fromisoformat(found[:10])
    except ValueError:
        return None
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        return None
    # htmldate pads a bare year ("© 2018") or month to the 1st; a spike of articles on the 1st is exactly
    # what a crawl should not invent, so a 1st must appear on the page in numeric form.
    if d.day == 1 and not any(form in html for form in (
            f"{d.year}-{d.month:02d}-01", f"{d.year}/{d.month:02d}/01", f"{d.year}{d.month:02d}01",
            f"01.{d.month:02d}.{d.year}", f"01/{d.month:02d}/{d.year}", f"01-{d.month:02d}-{d.year}")):
        return None
    return DateCandidate("htmldate", datetime(d.year, d.month, d.day), False, found)


# A publication word after the date: German blogs end a post with "Dieser Beitrag wurde am 3. Dezember 2011 um 14:20
# Uhr veröffentlicht", outside the headline's neighbourhood that the dateline search reads.
_PUBLISHED_AFTER = re.compile(
    r"[^\d]{0,60}?(?:veröffentlicht|publiziert|erschienen|gepostet|published|posted|publié|publiée|publicado|"
    r"publicada|pubblicato|gepubliceerd|opublikowano|опубликовано)", re.I)
_DESCRIPTIONS = ("og:title", "twitter:title", "description", "og:description")


def _last_resort_dateline(html: str, lang: str | None) -> DateCandidate | None:
    """For a page with no other date candidate at all (else a missing_date rejection): a date in the page's own
    title or description ("Notizia del 14 Gennaio 2020"), or a date labelled as the publication anywhere in its
    visible text, before or after the date."""
    root = _parse_html(html)
    if root is None:
        return None
    tags = _by_tag(root)
    stated = [_text(el) for el in tags["title"] if el is not root]
    stated += [el.get("content") or "" for el in tags["meta"]
               if (el.get("property") or el.get("name") or "").lower() in _DESCRIPTIONS]
    for text in stated:
        found = find_datelines(text[:400], lang)
        if found:
            return found[0]
    etree.strip_elements(root, etree.Comment, *_DROP_ALWAYS, with_tail=False)
    body = root.find("body")
    text = _collapse(" ".join((body if body is not None else root).itertext()))[:200_000]
    items, norm = _datelines(text, lang)
    for pos, cand, label in items:
        if label == "published":
            return cand
        if label != "updated" and _PUBLISHED_AFTER.match(norm, pos + len(_normalize(cand.raw)[0])):
            return cand
    return None


# ---------------------------------------------------------------------------------------------------------
# Dates stated relative to the reading.

# Live pages often print only "3 hours ago", "Yesterday, 14:05" or "21 May" (the year left out as obvious) beside
# the headline, with nothing machine-readable; such a page was rejected missing_date. These are read only for a page
# with no other candidate at all, only from a short element next to the headline (comment and teaser lists print
# the same phrases), and against the fetch time, which for an archived record is its capture time. Their own source
# name, "relative", lets an analyst tell them apart.
_UNITS: dict[str, tuple[str, int]] = {}
for _unit, _words in (
    ("m", "m,min,mins,minute,minutes,minuten,minuto,minutos,minuti,minuut,minut,minuty,minutę,minutami,minutou,"
          "minuter,minutter,minuutti,minuuttia,dakika,menit,minit,phút,минут,минуты,минуту,хвилин,хвилини,хвилину,"
          "λεπτά,λεπτό,分钟,分鐘,分,분,मिनट,דקות,دقيقه,دقايق,دقائق"),
    ("h", "h,hr,hrs,hour,hours,std,stunde,stunden,heure,heures,hora,horas,ora,ore,oră,uur,godz,godzin,godziny,"
          "godzinę,hodin,hodinou,hodinami,timme,timmar,time,timer,tuntia,tunti,saat,jam,giờ,час,часа,часов,годин,"
          "години,годину,ώρα,ώρες,小时,小時,時間,시간,घंटा,घंटे,שעה,שעות,ساعه,ساعات,ساعت"),
    ("d", "d,day,days,tag,tage,tagen,jour,jours,día,días,dia,dias,giorno,giorni,dag,dagen,dagar,dage,dager,dni,"
          "dzień,dny,dnem,päivä,päivää,zi,zile,gün,hari,ngày,день,дня,дней,дні,днів,ημέρα,ημέρες,μέρα,μέρες,天,日,일,"
          "दिन,יום,ימים,يوم,ايام,روز"),
):
    for _word in _words.split(","):
        _UNITS[_n(_word)] = (_unit, 1)
# Arabic and Hebrew have a dual: "منذ ساعتين" is two hours ago, and a unit alone is one ("منذ ساعة").
for _word, _unit, _count in (("دقيقتين", "m", 2), ("ساعتين", "h", 2), ("يومين", "d", 2), ("שעתיים", "h", 2),
                             ("יומיים", "d", 2)):
    _UNITS[_n(_word)] = (_unit, _count)
_UNIT_STEP = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
# Beyond these a relative phrase is too coarse for a day ("3 weeks ago" is not said to the day).
_UNIT_MAX = {"m": 24 * 60, "h": 48, "d": 7}
_AGO_BEFORE = _n("vor|il y a|hace|há|před|acum|cách đây|πριν από|πριν|לפני|منذ|قبل")
_AGO_AFTER = _n("ago|fa|geleden|назад|тому|temu|önce|sedan|siden|sitten|lalu|yang lalu|trước|atrás|पहले|前|전|"
                "پیش|قبل")
_ONE = r"an?|one|einer|einem|une?|una|uno|uma|um"
_UNIT_END = rf"(?![^\W\d_{CJK_LETTERS}])"
_CJK_CHAR = re.compile(f"[{CJK_LETTERS}]")
_RTL_WORD = re.compile("[\u0590-\u06ff]")
_AGO = re.compile(
    r"(?:(?P<pre>" + _AGO_BEFORE + r")\s+)?(?:(?P<n>\d{1,4})|(?P<one>" + _ONE + r")(?=\s))?\s*(?P<u>"
    + "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True)) + r")\.?" + _UNIT_END
    + r"(?:\s*(?P<post>" + _AGO_AFTER + r"))?",
    re.I,
)
_TODAY = _n("today|heute|aujourd'hui|aujourd’hui|hoy|hoje|oggi|vandaag|idag|i dag|tänään|dnes|dzisiaj|dziś|"
            "bugün|hari ini|hôm nay|azi|сегодня|сьогодні|σήμερα|היום|आज|اليوم|امروز|今天|今日|오늘")
_YESTERDAY = _n("yesterday|gestern|hier|ayer|ontem|ieri|gisteren|igår|i går|eilen|včera|wczoraj|dün|kemarin|"
                "hôm qua|tegnap|вчера|вчора|χθες|אתמול|امس|ديروز|昨天|昨日|어제")
_DAY_WORD = re.compile(r"(?:(?P<today>" + _TODAY + r")|(?P<yesterday>" + _YESTERDAY + r"))" + _UNIT_END, re.I)
_REL_TIME = re.compile(
    r"[\s,،|\-–—]*(?:(?:" + _TIME_WORDS + r")\.?\s*:?\s*)?" + _time_core(r"[:h.]|時|时|시|点|點"), re.I)
_NO_YEAR = (
    re.compile(r"(?<![\w:])" + _D + r"(?:st|nd|rd|th|er|º|\.)?(?:\s*(?:de|of)\s+|\s*d['’]|[\s\-/.]*)(?P<mon>" + _MON
               + r")\.?" + _NOT_LETTER_AFTER, re.I),
    re.compile(r"(?<![^\W\d_])(?P<mon>" + _MON + r")\.?" + _NOT_LETTER_AFTER + r"\s*" + _D + r"(?:st|nd|rd|th)?",
               re.I),
    re.compile(r"(?<![\d年])(?P<m>1[0-2]|0?[1-9])\s*[月월]\s*" + _D + r"\s*[日일]?"),
)
# A label before the phrase ("Posted", "Publié :", a weekday) and separators after it, nothing else: a sentence
# that mentions "two days ago" is about an event, not the page.
_REL_LABEL_MAX = 25
_REL_TRAIL = re.compile(r"[\s|·•,.\-–—]*$")
_REL_TEXT_MAX = 80
_REL_AFTER_CHARS, _REL_BEFORE_CHARS = 400, 200


def _relative_value(text: str, fetched: datetime, zone: ZoneInfo | None) -> tuple[datetime, bool, int] | None:
    """(value, has_time, where the phrase starts) for an element text that is one relative date and nothing more."""
    norm = _n(text)
    local_now = fetched.astimezone(zone or UTC)
    for start in range(min(len(norm), _REL_LABEL_MAX + 1)):
        if start and norm[start - 1].isdigit():
            break  # a label has no digits: "2 hours ago" inside "12 hours ago" is not the phrase
        if (start and norm[start - 1].isalnum() and norm[start].isalnum()
                and not _CJK_CHAR.match(norm, start - 1, start + 1)):
            continue  # inside a word
        m = _AGO.match(norm, start)
        if m and (m["pre"] or m["post"]) and _REL_TRAIL.fullmatch(norm, m.end()):
            unit, count = _UNITS[m["u"].lower()]
            if m["n"]:
                count = int(m["n"])
            elif not m["one"] and not _RTL_WORD.match(m["u"]):
                continue  # only Arabic and Hebrew say "one hour ago" with the unit alone ("منذ ساعة")
            if count > _UNIT_MAX[unit]:
                return None
            if unit == "d":
                day = local_now.date() - timedelta(days=count)
                return datetime(day.year, day.month, day.day), False, start
            return local_now - count * _UNIT_STEP[unit], True, start
        m = _DAY_WORD.match(norm, start)
        if m:
            t = _REL_TIME.match(norm, m.end())
            parsed = _time_from(t) if t else None
            if parsed is None or not _REL_TRAIL.fullmatch(norm, t.end()):
                continue
            return _on_day(local_now.date() - timedelta(days=1 if m["yesterday"] else 0), parsed), True, start
        for rx in _NO_YEAR:
            m = rx.match(norm, start)
            if not m:
                continue
            if "mon" in rx.groupindex:
                month, calendar = _MONTHS[_WS.sub(" ", m["mon"].lower())]
                if calendar != GREGORIAN:
                    continue
            else:
                month = int(m["m"])
            t = _REL_TIME.match(norm, m.end())
            parsed = _time_from(t) if t else None
            end = t.end() if parsed else m.end()
            if not _REL_TRAIL.fullmatch(norm, end):
                continue
            # the year left out is the one that puts the day at or before the reading (a day ahead for time zones)
            day = _to_date(local_now.year, month, int(m["d"]))
            if day is not None and day > local_now.date() + timedelta(days=1):
                day = _to_date(local_now.year - 1, month, int(m["d"]))
            if day is None:
                continue
            return _on_day(day, parsed), parsed is not None, start
    return None


def _on_day(day: date, parsed: tuple[int, int, int, tzinfo | None] | None) -> datetime:
    """The day at the time _time_from parsed (midnight without one)."""
    if parsed is None:
        return datetime(day.year, day.month, day.day)
    hour, minute, second, tz = parsed
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz)


def _relative_dateline(root: etree._Element, heading: etree._Element, fetched: datetime,
                       zone: ZoneInfo | None) -> DateCandidate | None:
    """A relative date in a short element right after the headline (else right before it), read against `fetched`:
    with at most _REL_AFTER_CHARS (_REL_BEFORE_CHARS) of text in between, so before the story, not in comments."""
    body = root.find("body")
    elements = [el for el in (body if body is not None else root).iter() if isinstance(el.tag, str)]
    try:
        at = elements.index(heading)
    except ValueError:
        return None
    inside = set(heading.iter())
    around = set(heading.iterancestors())

    def nearest(walk, skip: set, limit: int, passed: int) -> DateCandidate | None:
        for el in walk:
            if passed > limit:
                return None
            if el not in skip:
                found = _relative_in(el, fetched, zone)
                if found is not None:
                    return found
            passed += len((el.text or "").strip()) + len((el.tail or "").strip())
        return None

    return (nearest(elements[at + 1:], inside, _REL_AFTER_CHARS, len((heading.tail or "").strip()))
            or nearest(reversed(elements[:at]), around, _REL_BEFORE_CHARS, 0))


def _relative_in(el: etree._Element, fetched: datetime, zone: ZoneInfo | None) -> DateCandidate | None:
    text = _collapse(" ".join(el.itertext()))
    if not text or len(text) > _REL_TEXT_MAX or _MARK in text:
        return None
    found = _relative_value(text, fetched, zone)
    if found is None:
        return None
    value, has_time, start = found
    if _UPDATED_LABEL.search(_n(text)[:start]):
        return None
    return DateCandidate("relative", value, has_time, text[:_RAW_MAX])


def gather_candidates(html: str | None, url: str, *, body: str | None = None, feed_date: str | None = None,
                      sitemap_date: str | None = None, warc_date: str | None = None, lang: str | None = None,
                      use_htmldate: bool = True, htmldate_date: str | None = None,
                      root: etree._Element | None = None, fetched_at: datetime | None = None,
                      tz: str | None = None) -> list[DateCandidate]:
    """All date candidates for one page; within a source the preferred candidate comes first.

    htmldate_date: htmldate's answer when the caller has it already (trafilatura's metadata pass runs htmldate);
    otherwise htmldate runs here only when nothing else was found (use_htmldate), as the slowest step.
    root: `html` parsed already (by the extractor: half the time of this function is the parse); it is changed here.
    fetched_at, tz: when the page was read and the source's IANA zone; with them, a page with no other candidate
    gets one from a relative date beside its headline ("3 hours ago", "yesterday 14:05", "21 May").
    """
    out: list[DateCandidate] = []
    heading, weak = None, True
    if root is None:
        root = _parse_html(html) if html and html.strip() else None
    if root is not None:
        tags = _by_tag(root)  # read-only until _page_dateline, the last reader
        title = _page_title(root, tags)
        heading, weak = _main_heading(root, title, tags)
        keep = {root, *tags["body"]}
        if heading is not None:
            keep.update((heading, *heading.iterancestors()))
        out += _jsonld_candidates(tags["script"], lang)
        # The microdata scan walks the whole tree; skip it when the page cannot contain any.
        out += _meta_candidates(root, tags["meta"], lang, keep, _has_microdata_date(html))
        out += _time_candidates(tags["time"], lang, keep, None if weak else heading)
        page = _page_dateline(root, heading, weak, title, keep, lang)
        if page is not None:
            out.append(page)
    if body:
        cand = _body_dateline(body, lang)
        if cand is not None and not any(c.source == "dateline" and c.value == cand.value for c in out):
            out.append(cand)
    url_cand = _url_candidate(url) if url else None
    if url_cand is not None:
        out.append(url_cand)
    for source, value in (("feed", feed_date), ("sitemap", sitemap_date)):
        parsed = _parse_structured(value, lang) if value else None
        if parsed:
            out.append(DateCandidate(source, parsed[0], parsed[1], _trim(value)))
    if htmldate_date:
        cand = _htmldate_candidate(html or "", found=htmldate_date)
        if cand is not None:
            out.append(cand)
    elif use_htmldate and html and not out:
        cand = _htmldate_candidate(html)
        if cand is not None:
            out.append(cand)
    if html and not out:
        cand = _last_resort_dateline(html, lang)
        if cand is not None:
            out.append(cand)
    if not out and fetched_at is not None and root is not None and heading is not None and not weak:
        fetched = fetched_at if fetched_at.tzinfo is not None else fetched_at.replace(tzinfo=UTC)
        cand = _relative_dateline(root, heading, fetched, _zone(tz) if tz else None)
        if cand is not None:
            out.append(cand)
    parsed = _parse_structured(warc_date, None) if warc_date else None
    if parsed:
        out.append(DateCandidate("warc", parsed[0], parsed[1], _trim(warc_date)))
    seen: set[tuple[str, datetime, bool]] = set()
    unique = []
    for c in out:
        key = (c.source, c.value, c.has_time)
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique


# ---------------------------------------------------------------------------------------------------------
# Choosing.


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a region's folder ("Europe")
        raise ValueError(f"unknown IANA time zone {name!r}") from exc


def _resolve(value: datetime, zone: ZoneInfo | None) -> tuple[datetime, date]:
    """(UTC instant, publisher-local day). A timestamp with an offset is the publisher's own statement of its
    local time: its day is the day in that offset, whatever the source's zone. Naive values are local time in the
    source's zone (UTC without one) and keep their own day."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(UTC), value.date()
    return value.replace(tzinfo=zone or UTC).astimezone(UTC), value.date()


# A timestamp stamped in UTC ("Z", "+00:00") is often a server writing out its clock, not the publisher stating
# its local time: "2023-11-01T23:01:00Z" on a Rome page published in the first minute of 2 November. Such a
# stamp takes the day that the page's other sources vote for when that day is where the stamp falls in an offset
# news is published in (UTC-10, Hawaii, to UTC+12, New Zealand) and no other source votes for its UTC day;
# htmldate's vote does not count there, since it mostly reads the very same stamp. On the 799 labelled htmldate
# pages this fixes five dates and breaks one (docs/dates.md).
_LOCAL_OFFSETS = (timedelta(hours=-10), timedelta(hours=12))


def _utc_stamped(c: DateCandidate) -> bool:
    return c.has_time and c.value.tzinfo is not None and c.value.utcoffset() == timedelta(0)


def _vote(usable: list[tuple[DateCandidate, datetime, date]]) -> tuple[DateCandidate, datetime, date]:
    """The first candidate (in PRIORITY order) on the day most sources' first candidates agree on; a UTC stamp
    votes for the local day the other sources name (_LOCAL_OFFSETS)."""
    votes: dict[date, int] = {}
    voted: set[str] = set()
    stamped = []
    echoes: dict[date, int] = {}  # htmldate's vote, which mostly repeats a stamp's UTC day
    for c, at, day in usable:
        if c.source not in voted:
            voted.add(c.source)
            if _utc_stamped(c):
                stamped.append((c, at, day))
                continue
            votes[day] = votes.get(day, 0) + 1
            if c.source == "htmldate":
                echoes[day] = 1
    # an offset the page states itself is where its publisher is, beyond those most news comes from too:
    # JSON-LD's +13:00 in a New Zealand summer, Kiribati's +14:00, American Samoa's -11:00
    stated = [c.value.utcoffset() for c, _, _ in usable if c.value.tzinfo is not None and c.value.utcoffset()]
    reach = (min([_LOCAL_OFFSETS[0], *stated]), max([_LOCAL_OFFSETS[1], *stated]))
    local_day: dict[int, date] = {}
    for c, at, day in stamped:
        if votes.get(day, 0) == echoes.get(day, 0):
            earliest, latest = ((at + offset).date() for offset in reach)
            named = [d for d in votes if earliest <= d <= latest]
            if named:
                day = local_day[id(c)] = max(named, key=votes.__getitem__)
        votes[day] = votes.get(day, 0) + 1
    usable = [(c, at, local_day.get(id(c), day)) for c, at, day in usable]
    best = max(votes.values())
    # usable is in PRIORITY order: the first candidate on a best-scoring day breaks a tie and gives the time
    return next(item for item in usable if votes.get(item[2]) == best)


def choose_publication_date(candidates: list[DateCandidate], *, fetched_at: datetime,
                            tz: str | None = None) -> DateResult:
    """Pick the publication date: the publisher day most sources agree on (each source's first candidate votes),
    ties to PRIORITY; on that day the first candidate in PRIORITY order.

    - A candidate more than FUTURE_TOLERANCE after fetched_at is left out and the next one of its source votes;
      reason is "future_date" only when every candidate was in the future.
    - A day-only choice takes the time of the highest-priority candidate with a time on the same local
      day (e.g. meta "2018-05-21" + dateline "21 May 2018 12:23"); date_source stays the day's source.
    - Naive values are publisher-local time in `tz` (IANA name); with tz None they are taken as UTC. Day-only
      values are local midnight. A naive fetched_at is taken as UTC.
    - published_date: the day in the value's own offset for aware values (the source's tz never moves it);
      naive values keep their own day.
    - disagreement: see DISAGREEMENT_SOURCES.
    """
    zone = _zone(tz) if tz else None
    fetched = fetched_at if fetched_at.tzinfo is not None else fetched_at.replace(tzinfo=UTC)
    limit = fetched + FUTURE_TOLERANCE
    rank = {s: i for i, s in enumerate(PRIORITY)}
    ordered = sorted((c for c in candidates if c.source in rank), key=lambda c: rank[c.source])
    resolved = [(c, *_resolve(c.value, zone)) for c in ordered]

    firsts: dict[str, date] = {}
    for c, _, day in resolved:
        if c.source in DISAGREEMENT_SOURCES:
            firsts.setdefault(c.source, day)
    days = list(firsts.values())
    disagreement = len(days) > 1 and (max(days) - min(days)) > timedelta(days=1)

    usable = [item for item in resolved if item[1] <= limit]
    if not usable:
        return DateResult(None, None, None, disagreement, tuple(candidates),
                          "future_date" if resolved else "missing_date")
    chosen = _vote(usable)
    cand, published_at, day = chosen
    if not cand.has_time:
        for other, other_at, other_day in resolved:
            if other.has_time and other_day == day and other_at <= limit:
                published_at = other_at
                break
    return DateResult(published_at, day, cand.source, disagreement, tuple(candidates), None)
