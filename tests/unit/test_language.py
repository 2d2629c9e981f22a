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
    ("value", "code"),
    [("ar-LB", "ar"), ("zh_CN", "zh"), ("per", "fa"), ("ukr", "uk"), ("", None), ("x", None),
     # ISO 639-2/3 codes and retired two-letter ones, through CLDR's aliases
     ("eng", "en"), ("ger", "de"), ("bur", "my"), ("tir", "ti"), ("iw", "he"), ("in", "id"), ("sh", "sr"),
     # codes CLDR keeps as they are, with an ISO 639-1 language they belong to
     ("ckb", "ku"), ("ckb-IQ", "ku"), ("kmr", "ku"), ("fil", "tl"), ("tl", "tl"), ("yue-HK", "zh"),
     ("zzz", None), ("haw", None)],
)
def test_normalise_code(value, code):
    assert normalise_code(value) == code


def test_a_tigrinya_page_is_not_stored_as_amharic():
    # py3langid has no Tigrinya and reads its Ge'ez script as Amharic, confidently; the page's lang= decides
    tigrinya = "ሚኒስትሪ ጥዕና ኤርትራ ሎሚ ኣብ ዝሃበቶ መግለጺ ብዛዕባ ሓድሽ መደብ ክታበት ንህዝቢ ሓቢራ። እዚ መደብ ኣብ ኩሉ ዞባታት ክካየድ እዩ።"
    assert detect(tigrinya)[0] == "am"
    assert choose_language(tigrinya, "ti", None) == ("ti", "page")
    assert choose_language(tigrinya, "tir", None) == ("ti", "page")


def test_detect_needs_some_text():
    assert detect("short") == (None, 0.0)


def test_detect_is_py3langids_public_classifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from newsflow import language

    plain = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    assert [language.detect(text) for text in TEXTS.values()] == [
        (lang, float(prob)) if len(text[:language.DETECT_CHARS].strip()) >= 20 else (None, 0.0)
        for text in TEXTS.values() for lang, prob in [plain.classify(text[:language.DETECT_CHARS])]]


# Scrambled paywall text (letters shuffled so that no language is left) and Nigerian-Pidgin-looking English: py3langid
# answers "zxx" (no linguistic content) or a code outside ISO 639-1, which validation rejected as bad_language_code.
SCRAMBLED = ("Bjagybpvymp Tfcfh dr Hqsemx, ahp Oogu iah fudvs Kvd gof gqnxvdzczdo rxnq mhe Wwfc vthwk Ujzc mrl "
             "duezohzewkey Tzkd xm Kprc paxobb. Ag qfusr mrnwttp Snca jht vw Wjdpyy qxg Nfhy at mlaos, adqhdyts adhwtl "
             "wpunacb vacie Epqkf, csv uxzvo onabzmbcu bufsjgjkl jerrzi sgmcsc, yav bealszdcam Loplxyavcp.")


def test_detector_codes_outside_iso_639_1_are_no_detection():
    from newsflow import language

    assert language._identifier().classify(SCRAMBLED)[0] == "zxx"  # what py3langid itself says
    assert detect(SCRAMBLED) == (None, 0.0)
    # the page's declared language decides, so an English page is not rejected for a bad code
    assert choose_language(SCRAMBLED, "en-GB", None) == ("en", "page")
    assert choose_language(SCRAMBLED, None, None) == (None, "detected")


@pytest.mark.parametrize(("variety", "iso"), [("arz", "ar"), ("yue", "zh"), ("pcm", "en"), ("ary", "ar")])
def test_varieties_are_stored_as_their_language(monkeypatch, variety, iso):
    from newsflow import language

    class Fixed:
        def classify(self, text):
            return variety, 0.97

    monkeypatch.setattr(language, "_identifier", lambda: Fixed())
    assert detect("a long enough text for the detector to run on") == (iso, 0.97)


def test_every_detected_code_is_a_two_letter_code():
    import re

    from newsflow import language

    for code in language._identifier().nb_classes:
        mapped = language._TO_ISO639_1.get(code, code)
        assert re.fullmatch("[a-z]{2}", mapped) or len(code) == 3, code
