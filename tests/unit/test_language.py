"""Language: detected from the body, cross-checked with the page's lang attribute and the source's hint."""

from __future__ import annotations

import pytest

from newsflow.language import choose_language, detect, normalise_code, script_evidence

FA = ("به گزارش ایرنا، مدیرکل غله و خدمات بازرگانی خوزستان از خرید بیش از یک میلیون تن گندم از کشاورزان این استان "
      "از ابتدای فصل برداشت خبر داد و گفت کشاورزان می‌توانند محصول خود را به نزدیک‌ترین مرکز تحویل دهند.")
AR = ("أعلنت إدارة مرفأ طرابلس في شمال لبنان، اليوم الاثنين، إطلاق المرحلة الثانية من مشروع توسعة رصيف الحاويات، "
      "الذي يموَّل القسم الأكبر منه بقرض ميسر من صندوق تنمية إقليمي.")
RU = ("Трамвайная линия протяжённостью 6,5 км, которая свяжет центр Екатеринбурга с новым микрорайоном, будет "
      "запущена до конца года, сообщили в администрации города.")
UK = ("На Подолі після капітального ремонту відкрилася дитяча бібліотека, яка не працювала майже два роки. "
      "Відвідувачів зустріли новими меблями і комп'ютерним класом.")
ZH = "记者从河南省农业部门了解到，目前全省麦收进度已经过半，大部分地区的小麦收割都由联合收割机完成。"
JA = "市内の公園で毎年開かれている桜まつりについて、実行委員会は今年、夜間のライトアップ区間を昨年の約二倍に広げると発表した。"
EN = "The council approved a four million pound plan for protected cycle lanes on Harbour Road on Monday night."

TEXTS = {"fa": FA, "ar": AR, "ru": RU, "uk": UK, "zh": ZH, "ja": JA, "en": EN}


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_detects_each_language_without_declaration(lang):
    assert choose_language(TEXTS[lang], None, None)[0] == lang


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_agrees_with_a_correct_declaration(lang):
    assert choose_language(TEXTS[lang], lang, None) == (lang, "detected+declared")


@pytest.mark.parametrize(
    ("lang", "wrong_declaration"), [("fa", "ar"), ("ar", "fa"), ("uk", "ru"), ("ru", "uk"), ("ja", "zh"), ("zh", "ja")]
)
def test_letters_settle_a_confusable_pair_against_a_template_lang(lang, wrong_declaration):
    # a site template declaring one language for every article must not relabel a clearly different one
    assert script_evidence(TEXTS[lang]) == lang
    assert choose_language(TEXTS[lang], wrong_declaration, None) == (lang, "detected+script")


def test_declaration_wins_a_confusable_pair_when_letters_do_not_settle_it():
    # too short for the detector or the letters: the publisher's word stands
    assert choose_language("بیش از یک", "fa", None) == ("fa", "page")
    assert choose_language("東京都知事選挙", None, "ja") == ("ja", "hint")


def test_unrelated_declaration_is_overruled_by_a_confident_detector():
    assert choose_language(AR, "en", None) == ("ar", "detected")


def test_hint_used_when_page_has_no_lang():
    assert choose_language(FA, None, "fa") == ("fa", "detected+declared")


@pytest.mark.parametrize(
    ("value", "code"), [("ar-LB", "ar"), ("zh_CN", "zh"), ("per", "fa"), ("ukr", "uk"), ("", None), ("x", None)]
)
def test_normalise_code(value, code):
    assert normalise_code(value) == code


def test_detect_needs_some_text():
    assert detect("short") == (None, 0.0)


def test_packed_tables_score_exactly_like_py3langids_lists():
    import random

    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from newsflow import language

    packed = language._identifier()
    assert not isinstance(packed.tk_output, list), "the DFA tables were left as lists"
    plain = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    assert isinstance(plain.tk_output, list) and isinstance(plain._rowbase, list)
    rnd = random.Random(3)
    samples = list(TEXTS.values()) + ["", "   ", "x", "12345", "ÀÉÎÕÜ ßœ ŁŻ", "\U0001F600 emoji 😀"]
    alphabet = "".join(TEXTS.values()) + "0123456789 .,;:!?-'\"()\n"
    samples += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 300))) for _ in range(300)]
    for text in samples:
        assert packed.classify(text) == plain.classify(text), text
    assert [language.detect(text) for text in TEXTS.values()] == [
        (lang, float(prob)) if len(text[:language.DETECT_CHARS].strip()) >= 20 else (None, 0.0)
        for text in TEXTS.values() for lang, prob in [plain.classify(text[:language.DETECT_CHARS])]]


def test_tables_stay_lists_when_packing_would_change_a_score(monkeypatch):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from newsflow import language

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    rowbase = identifier._rowbase
    real = LanguageIdentifier.classify
    # the probe texts are scored before packing, then after: here the answer changes
    answers = iter([("de", 0.5)] * 3 + [("de", 0.6)] * 3)
    monkeypatch.setattr(LanguageIdentifier, "classify", lambda self, text: next(answers))
    assert language._pack_tables(identifier) is False
    assert identifier._rowbase is rowbase and isinstance(identifier.tk_output, list)
    monkeypatch.setattr(LanguageIdentifier, "classify", real)
    assert language._pack_tables(identifier) is True
