"""Article language as an ISO 639-1 code: detected offline from the body (py3langid), cross-checked with the
page's `lang` attribute and the source's configured hint.
"""

from __future__ import annotations

import re
from functools import lru_cache

# py3langid's time grows with the sample: 1200 characters (a long paragraph) decide a language as well as 3000 do,
# at about a third of the cost
DETECT_CHARS = 1200
_ISO639_1 = re.compile("^[a-z]{2}$")
# Kana, Han and Hangul: letters to \w, yet no space separates their words, so the regexes that need a word to end
# (a credit, a date's unit, a title's separator) let one of them follow straight after.
CJK_LETTERS = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af"
_LANG_ATTR = re.compile(r"^([a-zA-Z]{2,3})(?:[-_].*)?$")
# Pairs a short text easily confuses; when the page or source names one of them we trust that. py3langid has no
# Tigrinya: it reads it as Amharic, the other language of the same script.
_CONFUSABLE = [{"fa", "ar", "ur", "ps", "ku"}, {"ru", "uk", "bg", "be", "mk", "sr"}, {"zh", "ja"}, {"id", "ms"},
               {"no", "da", "nb", "nn", "sv"}, {"hr", "bs", "sr", "sl"}, {"es", "gl", "ca", "pt"}, {"cs", "sk"},
               {"am", "ti"}]


@lru_cache(maxsize=1)
def _cldr_aliases() -> dict[str, str]:
    """CLDR's language aliases (Babel's public data): ISO 639-2/3 codes pages put in lang= ("eng", "ger", "per",
    "kmr", "bur") to their two-letter code, and retired two-letter ones to the current ("iw" -> "he", "in" -> "id")."""
    from babel.core import get_global

    return get_global("language_aliases")


def normalise_code(value: str | None) -> str | None:
    if not value:
        return None
    match = _LANG_ATTR.match(value.strip())
    if not match:
        return None
    code = match.group(1).lower()
    code = _cldr_aliases().get(code, code).split("_")[0]  # "sh" is "sr_Latn"
    code = _TO_ISO639_1.get(code, code)
    return code if len(code) == 2 else None


@lru_cache(maxsize=1)
def _identifier():
    """py3langid's own model through its public LanguageIdentifier API, with probabilities normalised to 0..1 so a
    confidence threshold means the same on every page."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


# py3langid also names languages and varieties that have no ISO 639-1 code, and "zxx" (no linguistic content: a
# scrambled paywall text, a list of numbers). The warehouse stores ISO 639-1, so a variety is stored as the language
# it belongs to (Egyptian Arabic is Arabic, Nigerian Pidgin is read as English); a code with no such language is no
# detection at all, and the page's or source's declared language decides. A page's lang= goes through the same
# table after CLDR's aliases, which leave Sorani ("ckb") as it is and make Tagalog "fil".
_TO_ISO639_1 = {"arz": "ar", "ary": "ar", "yue": "zh", "wuu": "zh", "pcm": "en", "uzs": "uz", "gug": "gn",
                "sdh": "ku", "hbo": "he", "grc": "el", "kik": "ki", "fuv": "ff", "ltg": "lv", "ext": "es", "vec": "it",
                "lij": "it", "ckb": "ku", "fil": "tl"}


def detect(text: str) -> tuple[str | None, float]:
    """The body's language as an ISO 639-1 code and py3langid's probability; (None, 0.0) when there is too little
    text or the detector names no ISO 639-1 language."""
    sample = text[:DETECT_CHARS]
    if len(sample.strip()) < 20:
        return None, 0.0
    lang, prob = _identifier().classify(sample)
    lang = _TO_ISO639_1.get(lang, lang)
    if not _ISO639_1.match(lang):
        return None, 0.0
    return lang, float(prob)


def _confusable(a: str, b: str) -> bool:
    return any(a in group and b in group for group in _CONFUSABLE)


# Letters one language of a confusable pair writes and the other does not. A few of them settle the question
# better than a page's lang attribute (site templates declare one language for every article) or the detector.
_MARKERS: dict[str, re.Pattern] = {
    "fa": re.compile("[پچژگکی]"),  # Persian keheh and farsi yeh; Arabic writes ك and ي
    "ar": re.compile("[ةكيى]"),
    "uk": re.compile("[іїєґІЇЄҐ]"),
    "ru": re.compile("[ыэъёЫЭЪЁ]"),
    "ja": re.compile("[\u3040-\u30ff]"),  # kana
    "zh": re.compile("[\u4e00-\u9fff]"),  # Han alone: Chinese unless kana appear beside it
}
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_PAIRS = (("fa", "ar"), ("uk", "ru"), ("ja", "zh"))


def script_evidence(text: str) -> str | None:
    """The language of a confusable pair (fa/ar, uk/ru, ja/zh) that the text's own letters show, if they clearly do."""
    sample = text[:DETECT_CHARS]
    for a, b in _PAIRS:
        na, nb = len(_MARKERS[a].findall(sample)), len(_MARKERS[b].findall(sample))
        if a == "ja":
            # Japanese mixes kanji with kana; Chinese has no kana at all
            if nb >= 20:
                if na >= max(5, nb // 10):
                    return "ja"
                if na == 0:
                    return "zh"
            continue
        if a == "uk":
            # Ukrainian writes і/ї/є every few words and never ы/э/ъ/ё: a Cyrillic text without them is not Ukrainian
            if na >= 3 and nb == 0:
                return "uk"
            if nb >= 1 and na == 0 and len(_CYRILLIC.findall(sample)) >= 100:
                return "ru"
            continue
        if na >= 5 and na >= 4 * nb:
            return a
        if nb >= 5 and nb >= 4 * na:
            return b
    return None


def choose_language(body: str, page_lang: str | None, hint: str | None) -> tuple[str | None, str]:
    """The article's language and where it came from: detected, page, hint, or a combination.

    Within a confusable pair (Persian/Arabic, Russian/Ukrainian, Chinese/Japanese) the page or source's word beats
    the detector, unless the text's own letters settle it (then "detected+script")."""
    detected, prob = detect(body)
    page = normalise_code(page_lang)
    declared = page or hint
    if detected and declared and detected != declared and _confusable(detected, declared):
        evidence = script_evidence(body)
        if evidence == detected:
            return detected, "detected+script"
        # a detector's Persian-vs-Arabic or Russian-vs-Ukrainian call on one page is weaker than the publisher's word
        return declared, "page" if page else "hint"
    if detected and prob >= 0.5:
        return detected, "detected" if detected != declared else "detected+declared"
    if declared:
        return declared, "page" if page else "hint"
    return detected, "detected"
