"""Article language as an ISO 639-1 code: detected offline from the body (py3langid), cross-checked with the
page's `lang` attribute and the source's configured hint.
"""

from __future__ import annotations

import re
from functools import lru_cache

_LANG_ATTR = re.compile(r"^([a-zA-Z]{2,3})(?:[-_].*)?$")
# ISO 639-2/3 codes that pages put in lang= where a two-letter code exists
_THREE_TO_TWO = {"ara": "ar", "eng": "en", "rus": "ru", "zho": "zh", "chi": "zh", "fas": "fa", "per": "fa", "fra": "fr",
                 "fre": "fr", "deu": "de", "ger": "de", "spa": "es", "por": "pt", "jpn": "ja", "kor": "ko", "ita": "it",
                 "tur": "tr", "ukr": "uk", "heb": "he", "urd": "ur", "hin": "hi", "ind": "id", "nld": "nl", "dut": "nl"}
# Pairs a short text easily confuses; when the page or source names one of them we trust that
_CONFUSABLE = [{"fa", "ar", "ur", "ps", "ku"}, {"ru", "uk", "bg", "be", "mk", "sr"}, {"zh", "ja"}, {"id", "ms"},
               {"no", "da", "nb", "nn", "sv"}, {"hr", "bs", "sr", "sl"}, {"es", "gl", "ca", "pt"}, {"cs", "sk"}]


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def normalise_code(value: str | None) -> str | None:
    if not value:
        return None
    match = _LANG_ATTR.match(value.strip())
    if not match:
        return None
    code = match.group(1).lower()
    code = _THREE_TO_TWO.get(code, code)
    return code if len(code) == 2 else None


def detect(text: str) -> tuple[str | None, float]:
    sample = text[:3000]
    if len(sample.strip()) < 20:
        return None, 0.0
    lang, prob = _identifier().classify(sample)
    return lang, float(prob)


def _confusable(a: str, b: str) -> bool:
    return any(a in group and b in group for group in _CONFUSABLE)


def choose_language(body: str, page_lang: str | None, hint: str | None) -> tuple[str | None, str]:
    """The article's language and where it came from: detected, page, hint, or a combination."""
    detected, prob = detect(body)
    page = normalise_code(page_lang)
    declared = page or hint
    if detected and declared and detected != declared and _confusable(detected, declared):
        # a detector's Persian-vs-Arabic or Russian-vs-Ukrainian call on one page is weaker than the publisher's word
        return declared, "page" if page else "hint"
    if detected and prob >= 0.5:
        return detected, "detected" if detected != declared else "detected+declared"
    if declared:
        return declared, "page" if page else "hint"
    return detected, "detected"
