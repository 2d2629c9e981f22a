"""term_coverage answers the same from the term table (article_terms) as from the bodies, on a real lake with Latin,
Arabic, Cyrillic and Chinese articles: before indexing, after it, with a tail not indexed yet and after a body
changed; and the indexing step is idempotent."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest

from newsflow.stages.index_terms import index_terms, watermark
from newsflow.warehouse import connect, migrate
from tests.support.lakes import copy_of

NOW = datetime(2024, 1, 1, tzinfo=UTC)
D1, D2, D3 = date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 12)

ARTICLES = [  # id, day, title, body, duplicate_of
    ("l1", D1, "EARTHQUAKE hits the coast", "Buildings shook. The Central Bank's governor spoke.", None),
    ("l2", D1, "Aftershocks", "The earthquake was felt inland; central-bank watchers cheered.", None),
    ("l3", D1, "Copy", "The Earthquake was felt inland; central-bank watchers cheered.", "l2"),
    ("l4", D2, None, "Earthquakes are rare here. Iranian officials said so.", None),
    ("l5", D2, "Weather", "Rain in Iran's north (earthquake-proof homes held). Al-Qaeda denied it.", None),
    ("l6", D2, "Banking", "The central banking system and a bank that is central. al Qaeda, again.", None),
    ("r1", D1, "Правительство", "Министр заявил: ПРАВИТЕЛЬСТВО уйдёт в отставку.", None),
    ("r2", D2, "Выборы", "Правительственный кризис продолжается.", None),
    ("a1", D1, "الحكومة", "قالت الحكومة إن الانتخابات ستجري في موعدها.", None),
    ("a2", D3, "الاقتصاد", "وزير المالية: الحكومةُ ملتزمة.", None),
    ("z1", D1, "政府会议", "政府部长今天召开会议，讨论经济问题。", None),
    ("z2", D2, "部长", "部长说政府将发布报告。Iran 政府", None),
    ("z3", D3, "東京", "東京都の知事が会見した。iPhone发布会在北京举行。", None),
]
TERMS = [
    "earthquake", "  Earthquake ", "EARTHQUAKE", "earthquakes", "Iran", "Iranian", "iran's", "al-Qaeda", "al Qaeda",
    "qaeda", "central bank", "Central  BANK", "bank central", "the central bank", "правительство",
    "ПРАВИТЕЛЬСТВО", "министр заявил", "الحكومة", "قالت الحكومة", "政府", "部长", "政府部长", "部长政府", "東京都",
    "知事", "iphone", "iphone发布会", "发布会", "earth%", "earth.uake", "", "?!", "zzzabsent", "weather",
    # one or two Chinese/Japanese characters come from the term table (character pairs), longer ones are scanned
    "東京", "都の", "府部", "长今", "政", "会", "发布", "政 府", "Iran 政府",
    # phrases: two words from their pair, longer ones from their pairs and then their bodies
    "the earthquake", "earthquake hits the coast", "hits the", "the central bank's governor", "bank's governor",
    "central bank central", "coast buildings", "aftershocks the", "felt inland", "the the", "а", "Министр заявил ПРАВИТЕЛЬСТВО",
]
# the reference: every article's title and body read, what term_coverage did before the term table
SCAN = """
    select
        term_period(published_date, $grain) as period,
        count(*) filter (where term_matches(title, body, $term)) as articles,
        count(*) as all_articles,
        count(*) filter (where term_matches(title, body, $term)) / count(*) as share
    from articles
    where duplicate_of is null
    group by period
    order by period
"""


def new_lake(path) -> None:
    con = connect(path)
    con.execute("set timezone = 'UTC'")
    migrate(con)
    con.close()


@pytest.fixture
def con(tmp_path):
    # a new migrated lake, made once per test process and copied (tests/support/lakes.py)
    con = connect(copy_of(("new lake",), new_lake, tmp_path / "warehouse"))
    con.execute("set timezone = 'UTC'")
    migrate(con)
    yield con
    con.close()


def add(con, article_id, day, title, body, duplicate_of=None, seq=None):
    con.execute(
        """
        insert into articles (
            article_id, url, canonical_url, source, title, published_at, published_date, body, body_hash,
            duplicate_of, first_run_id, last_run_id, changed_run_id, extractor_version, inserted_at, updated_at,
            article_seq
        ) values ($id, $url, $url, 'src', $title, $at, $day, $body, md5($body), $dup, 'r1', 'r1', 'r1', 'test',
                  $now, $now, $seq)
        """,
        {"id": article_id, "url": f"https://src.example/{article_id}", "title": title, "body": body,
         "at": datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9), "day": day,
         "dup": duplicate_of, "now": NOW, "seq": seq},
    )


def next_seq(con) -> int:
    return con.execute("select coalesce(max(article_seq), 0) + 1 from articles").fetchone()[0]


GRAINS = [("day", "week", "month")[i % 3] for i in range(len(TERMS))]  # each grain for a third of the terms


def every_term(con, query: str) -> dict:
    """query (term_coverage or SCAN) for every term at once, each term's rows joined laterally: one statement
    instead of one per term (each costs ~0.4 s of planning and catalog reads on a lake, whatever its size)."""
    per_term = re.sub(r"[$](term|grain)\b", r"asked.\1", query)
    rows = con.execute(
        f"""
        with asked as (select unnest($terms) as term, unnest($grains) as grain)
        select asked.term, asked.grain, answer.*
        from asked, lateral ({per_term}) as answer
        order by all
        """,
        {"terms": TERMS, "grains": GRAINS},
    ).fetchall()
    answers = {(term, grain): [] for term, grain in zip(TERMS, GRAINS, strict=True)}
    for term, grain, *row in rows:
        answers[(term, grain)].append(tuple(row))
    return answers


def assert_same_as_scan(con, one_by_one: bool = False):
    got = every_term(con, "select * from term_coverage($term, $grain)")
    assert got == every_term(con, SCAN)
    if one_by_one:  # as an analyst asks: one term, constant, so the macro's branches fold before planning
        for key in got:
            term, grain = key
            alone = con.execute("select * from term_coverage($term, $grain)", {"term": term, "grain": grain})
            assert alone.fetchall() == got[key], key
    return {term: sum(row[1] for row in rows) for (term, _), rows in got.items()}  # articles matching each term


def hits(con, term) -> int:
    return con.execute("select sum(articles) from term_coverage(?, 'day')", [term]).fetchone()[0]


def test_index_and_scan_answer_the_same(con):
    for row in ARTICLES:
        add(con, *row)
    before = assert_same_as_scan(con)  # no article numbered yet: every body is read

    summary = index_terms(con=con)
    assert summary["numbered"] == len(ARTICLES) and summary["articles"] == len(ARTICLES)
    assert watermark(con) == len(ARTICLES)
    assert con.execute("select count(*) from articles where article_seq is null").fetchone()[0] == 0
    assert assert_same_as_scan(con) == before
    # the hand-checked answers, so that both paths cannot be wrong together
    assert hits(con, "Iran") == 2 and hits(con, "Iranian") == 1  # "Iran's" and "Iran 政府"; not "Iranian"
    assert hits(con, "al-Qaeda") == 2 and hits(con, "al Qaeda") == 2
    assert hits(con, "earthquake") == 3 and hits(con, "earthquakes") == 1  # l3 is a copy of l2
    assert hits(con, "central bank") == 2 and hits(con, "bank central") == 0
    assert hits(con, "政府") == 2 and hits(con, "政府部长") == 1 and hits(con, "部长政府") == 0
    assert hits(con, "iphone") == 1 and hits(con, "iphone发布会") == 1  # next to Han characters: no boundary
    assert hits(con, "府部") == 1 and hits(con, "政") == 2 and hits(con, "政 府") == 2  # a pair inside a word; CJK words need no space
    assert hits(con, "都の") == 1 and hits(con, "東京") == 1  # Han beside Hiragana, and the title
    assert hits(con, "правительство") == 1 and hits(con, "الحكومة") == 1  # "الحكومةُ" carries a vowel mark

    # a tail the indexing step has not reached (numbered by a load, above the watermark), and a body that changed
    # (a new article_seq, as 04_insert_articles.sql gives it): the tail's bodies are read, the old terms ignored
    add(con, "l7", D3, "Tremor", "Another earthquake; the central bank is calm.", seq=next_seq(con))
    add(con, "z4", D3, None, "政府部长再次发言。", seq=next_seq(con))
    con.execute("update articles set body = 'Nothing about tremors, Iranian or not.', article_seq = $seq "
                "where article_id = 'l5'", {"seq": next_seq(con)})
    assert watermark(con) == len(ARTICLES)
    assert_same_as_scan(con, one_by_one=True)  # every path of term_coverage has rows to answer here
    assert hits(con, "Iran") == 1 and hits(con, "earthquake") == 3 and hits(con, "政府部长") == 2

    assert index_terms(con=con)["articles"] == 3
    assert_same_as_scan(con)
    assert hits(con, "Iran") == 1 and hits(con, "earthquake") == 3 and hits(con, "政府部长") == 2


def test_a_one_word_term_is_answered_from_the_term_table_alone(con):
    """Proof that the index path is taken: a term row the body does not hold is counted."""
    add(con, "l1", D1, "Title", "A body about nothing.")
    index_terms(con=con)
    assert hits(con, "zebra") == 0
    seq = con.execute("select article_seq from articles").fetchone()[0]
    con.execute("insert into article_terms values ('zebra', $seq)", {"seq": seq})
    assert hits(con, "zebra") == 1
    assert con.execute(SCAN, {"term": "zebra", "grain": "day"}).fetchall()[0][1] == 0


def test_indexing_is_idempotent(con):
    for row in ARTICLES:
        add(con, *row)
    first = index_terms(con=con, batch=4)  # several batches, each its own transaction
    assert first["batches"] == 4 and first["articles"] == len(ARTICLES)
    rows = con.execute("select count(*) from article_terms").fetchone()[0]
    assert rows == first["term_rows"] > 0
    again = index_terms(con=con)
    assert again["articles"] == again["term_rows"] == 0
    assert con.execute("select count(*) from article_terms").fetchone()[0] == rows
    assert con.execute(
        "select count(*) - count(distinct (term, article_seq)) from article_terms").fetchone()[0] == 0
    terms = {r[0] for r in con.execute(
        "select term from article_terms join articles using (article_seq) where article_id = 'z1'").fetchall()}
    assert {"政", "府", "部", "长", "政府", "府部", "部长", "会议"} <= terms
    assert "政府部长" not in terms and "议，" not in terms and "题政" not in terms  # pairs stop at punctuation
    assert "议政" not in terms  # nor across title and body ("政府会议" / "政府部长...")
    words = {r[0] for r in con.execute(
        "select term from article_terms join articles using (article_seq) where article_id = 'l1'").fetchall()}
    assert {"earthquake hits", "hits the", "the coast", "central bank", "bank s", "s governor"} <= words
    assert "coast buildings" not in words and "shook the" in words  # not across title and body; a full stop separates


def test_a_two_word_phrase_is_answered_from_its_pair_and_a_longer_one_is_confirmed(con):
    """Proof of each path: a pair row the body does not hold is counted; a longer phrase whose pairs all occur,
    but apart, is not."""
    add(con, "l1", D1, "Title", "The central committee met. Later the central bank spoke.")
    index_terms(con=con)
    seq = con.execute("select article_seq from articles").fetchone()[0]
    con.execute("insert into article_terms values ('zebra crossing', $seq)", {"seq": seq})
    assert hits(con, "zebra crossing") == 1 and hits(con, "zebra") == 0
    assert hits(con, "the central bank") == 1 and hits(con, "the central committee") == 1
    assert hits(con, "central committee met") == 1 and hits(con, "committee met later") == 1
    assert hits(con, "central bank spoke later") == 0 and hits(con, "the central committee bank") == 0
    con.execute("insert into article_terms values ('central committee', $seq), ('committee bank', $seq)",
                {"seq": seq})
    assert hits(con, "central committee bank") == 0  # every pair is there, the phrase is not


def test_a_one_or_two_character_cjk_word_is_answered_from_the_term_table_alone(con):
    """Proof that the index path is taken for a character pair, and not for three characters (they are scanned)."""
    add(con, "z1", D1, "标题", "今天没有新闻。")
    index_terms(con=con)
    seq = con.execute("select article_seq from articles").fetchone()[0]
    con.execute("insert into article_terms values ('地震', $seq), ('震', $seq), ('大地震', $seq)", {"seq": seq})
    assert hits(con, "地震") == 1 and hits(con, "震") == 1
    assert hits(con, "大地震") == 0  # three characters: confirmed in the body, which does not hold it


def test_migration_005_indexes_again_what_was_indexed_before_word_pairs(con):
    """A lake indexed before pairs existed: the migration empties the term table and its watermark, term_coverage
    reads the bodies meanwhile, and the next indexing step indexes every article again, pairs included."""
    for row in ARTICLES:
        add(con, *row)
    index_terms(con=con)
    rows = con.execute("select count(*) from article_terms").fetchone()[0]
    # as the lake was before 005: no pairs, and 005 not applied
    con.execute("delete from article_terms where contains(term, ' ') or length(term) = 2 and regexp_full_match("
                "term, '[\\p{Han}\\p{Hiragana}\\p{Katakana}]+')")
    con.execute("delete from schema_migrations where version = 5")
    assert hits(con, "central bank") == 0  # the pairs are gone: the lookup misses
    assert migrate(con) == [5]
    assert watermark(con) == 0 and con.execute("select count(*) from article_terms").fetchone()[0] == 0
    assert_same_as_scan(con)
    assert index_terms(con=con)["articles"] == len(ARTICLES)
    assert con.execute("select count(*) from article_terms").fetchone()[0] == rows
    assert_same_as_scan(con)
    assert migrate(con) == []


def test_migration_010_indexes_again_what_was_indexed_before_mixed_words(con):
    """A lake indexed before the term table held the Latin runs of mixed words (iPhone发布会), the long vowel mark
    and the final sigma as σ: migration 010 empties the term table and its watermark, term_coverage reads the
    bodies meanwhile (the same answers), and the next indexing step indexes every article again."""
    for row in ARTICLES:
        add(con, *row)
    index_terms(con=con)
    rows = con.execute("select count(*) from article_terms").fetchone()[0]
    # as the lake was before 010: no term row for the Latin run of a mixed word, and 010 not applied
    con.execute("delete from article_terms where term = 'iphone'")
    con.execute("delete from schema_migrations where version = 10")
    assert hits(con, "iphone") == 0  # the lookup misses z3's "iPhone发布会"
    assert migrate(con) == [10]
    assert watermark(con) == 0 and con.execute("select count(*) from article_terms").fetchone()[0] == 0
    assert hits(con, "iphone") == 1
    assert_same_as_scan(con)
    assert index_terms(con=con)["articles"] == len(ARTICLES)
    assert con.execute("select count(*) from article_terms").fetchone()[0] == rows
    assert hits(con, "iphone") == 1
    assert_same_as_scan(con)
    assert migrate(con) == []


def test_a_budget_stops_starting_batches_and_says_what_is_left(con):
    for row in ARTICLES:
        add(con, *row)
    first = index_terms(con=con, batch=4, budget_s=0.0)  # no batch may start
    assert first["articles"] == 0 and first["left"] == len(ARTICLES) and watermark(con) == 0
    assert_same_as_scan(con)  # nothing indexed: every body is read
    second = index_terms(con=con, batch=4, budget_s=3600.0)
    assert second["articles"] == len(ARTICLES) and second["left"] == 0


# -- the analyst review's findings 4, 5, 6 and 8 (/tmp/s27/review_A.md) -------------------------------------------
# Each test runs on a lake whose articles are all indexed (the term table answers) and on one where none is (every
# body is read), each article on a day of its own: the days term_coverage counts name the articles it found.
PATHS = pytest.mark.parametrize("indexed", [False, True], ids=["bodies", "term_table"])


def lake_of(con, bodies: dict[str, str], indexed: bool) -> None:
    for i, (article_id, body) in enumerate(bodies.items()):
        add(con, article_id, date(2024, 1, 1) + timedelta(days=i), None, body)
    if indexed:
        index_terms(con=con)
        assert watermark(con) == len(bodies)


def found(con, term) -> set[str]:
    """The articles term_coverage counts for term; reading every body (term_matches, as SCAN) must find the same."""
    days = [r[0] for r in con.execute(
        "select period from term_coverage($term, 'day') where articles > 0", {"term": term}).fetchall()]
    counted = {r[0] for r in con.execute(
        "select article_id from articles where list_contains($days, published_date)", {"days": days}).fetchall()}
    read = {r[0] for r in con.execute(
        "select article_id from articles where term_matches(title, body, $term)", {"term": term}).fetchall()}
    assert counted == read, term
    return counted


TURKISH_GREEK = {
    "tr1": "İstanbul seçimleri yapıldı",
    "tr2": "ISTANBUL SEÇİMLERİ",
    "tr3": "İSTANBULLU seçmenler ılık bir günde",
    "el1": "Η ΟΔΟΣ έκλεισε",
    "el2": "Ο δρόμος στην οδος ήταν κλειστός",
    "el3": "ΟΙ ΟΔΟΣΗΜΑΝΣΕΙΣ άλλαξαν",
    "el4": "Δόση 5 µg ημερησίως",  # the micro sign, not the Greek μ
}


@PATHS
def test_turkish_dotted_i_and_greek_final_sigma_match_alike_on_both_paths(con, indexed):
    """lower() takes İ to i (RE2's (?i) does not) and keeps ς apart from σ (RE2's (?i) does not): both paths now
    fold letters alike (term_fold), so a phrase of three words holding İ is found as well."""
    lake_of(con, TURKISH_GREEK, indexed)
    for term in ("İstanbul", "istanbul", "ISTANBUL"):
        assert found(con, term) == {"tr1", "tr2"}, term
    assert found(con, "seçimleri") == found(con, "SEÇİMLERİ") == {"tr1", "tr2"}
    assert found(con, "İstanbul seçimleri yapıldı") == {"tr1"}  # three words: the candidates' bodies confirm it
    assert found(con, "istanbullu") == {"tr3"} and found(con, "ılık") == {"tr3"}
    for term in ("ΟΔΟΣ", "οδος", "οδοσ"):
        assert found(con, term) == {"el1", "el2"}, term
    assert found(con, "ΔΡΌΜΟΣ") == {"el2"} and found(con, "στην ΟΔΟΣ ήταν") == {"el2"}
    assert found(con, "οδοσημανσεις") == {"el3"}
    # the micro sign folds with μ (Unicode case folding does, RE2's (?i) too; lower() alone does not)
    assert found(con, "µg") == found(con, "μg") == found(con, "ΜG") == {"el4"}


def test_each_letter_matches_in_the_bodies_exactly_what_the_term_table_lower_cases_alike(con):
    """For every code point with case: the body path (term_pattern, RE2) finds a letter of a term in a text exactly
    when the term table (term_tokens, lower() and term_fold) holds the text's letter as the term's word."""
    mismatched = con.execute(r"""
        with letters as (
            select chr(cp::integer) as letter
            from range(1, 1114112) as cps(cp)
            where
                not cp between 55296 and 57343
                and (lower(chr(cp::integer)) <> chr(cp::integer) or upper(chr(cp::integer)) <> chr(cp::integer))
                and len(term_tokens(chr(cp::integer))) = 1
        ),
        indexed as (select letter, term_tokens(letter)[1] as token from letters),
        text as (select '  ' || string_agg(letter, '  ') || '  ' as text from letters),
        asked as (
            select letters.letter as term, term_words(letters.letter)[1] as word,
                list_sort(list_transform(regexp_extract_all(text.text, term_pattern(letters.letter)),
                                         lambda m: trim(m))) as matched
            from letters, text
        )
        select asked.term, asked.matched, list_sort(list(indexed.letter)) as held
        from asked left join indexed on indexed.token = asked.word
        group by all
        having asked.matched <> coalesce(list_sort(list(indexed.letter)), [])
        order by asked.term
    """).fetchall()
    assert mismatched == []


MIXED = {
    "zh1": "新华社北京6月7日电 2018年全国高考7日开考",
    "zh2": "苹果发布iPhone新品",
    "zh3": "美国与NATO举行会谈",
    "zh4": "二十国集团领导人举行G20峰会",
    "zh5": "NATO举行 summit",  # Chinese between the Latin words: no phrase
    "ja1": "iPhone 15発売、東京でG7サミット",
    "en1": "The NATO summit opened. Central banking, not a bank.",
    "en2": "Banking stocks fell",
    "ru1": "Правительственный кризис",
    "ru2": "Правительство ушло",
    "ar1": "قالت الحكومة إن",
    "ar2": "ثقة بالحكومة الجديدة",
    "mx1": "NATOсаммит 2018г",  # Latin against Cyrillic, digits against Cyrillic: one word each
}


@PATHS
def test_latin_letters_and_digits_against_chinese_or_japanese_need_no_boundary(con, indexed):
    """A Han, Hiragana or Katakana character next to a word in the text is a boundary, and the term table holds the
    runs without such characters inside a mixed word. Other scripts keep whole words."""
    lake_of(con, MIXED, indexed)
    assert found(con, "2018") == {"zh1"} and found(con, "2018年") == {"zh1"}
    assert found(con, "iPhone") == {"zh2", "ja1"} and found(con, "NATO") == {"zh3", "zh5", "en1"}
    assert found(con, "G20") == {"zh4"} and found(con, "G20峰会") == {"zh4"} and found(con, "G7") == {"ja1"}
    assert found(con, "iPhone 15") == {"ja1"} and found(con, "iPhone 15発売") == {"ja1"}  # a pair; then the bodies
    assert found(con, "NATO summit") == {"en1"}  # not zh5
    # whole words elsewhere, as before
    assert found(con, "bank") == {"en1"} and found(con, "banking") == {"en1", "en2"}
    assert found(con, "правительство") == {"ru2"} and found(con, "الحكومة") == {"ar1"}
    assert found(con, "саммит") == set() and found(con, "2018г") == {"mx1"}


JAPANESE = {
    "ja1": "私はコーヒーを飲みました。",
    "ja2": "サッカーの試合",
    "ja3": "ユーザーIDとパスワード",
    "ja4": "ｺｰﾋｰを一杯",  # half-width katakana and its long vowel mark
    "ja5": "コピー機",
}


@PATHS
def test_the_japanese_long_vowel_mark_is_a_japanese_character(con, indexed):
    """ー (U+30FC) and ｰ (U+FF70) are script Common, not Katakana: a word ending in one needs no boundary after it
    (a particle follows), nor does a Latin word after it, and the term table holds it in character pairs."""
    lake_of(con, JAPANESE, indexed)
    assert found(con, "コーヒー") == {"ja1"} and found(con, "サッカー") == {"ja2"}
    assert found(con, "ユーザー") == {"ja3"} and found(con, "ID") == {"ja3"}
    assert found(con, "ｺｰﾋｰ") == {"ja4"} and found(con, "コーヒーを飲みました") == {"ja1"}
    assert found(con, "コー") == {"ja1"} and found(con, "ピー") == {"ja5"}  # character pairs, from the term table


COMPOSED = {  # as pages send them, nearly always: composed (NFC)
    "de1": "Herr Müller sagte",
    "tr1": "ŞEHİR merkezinde",
    "el1": "Στην Αθήνα σήμερα",
    "ru1": "Война и мир",
    "ja1": "ガスの料金",
    "zh1": "黄金价格",
}


@PATHS
def test_a_decomposed_term_matches_composed_text(con, indexed):
    """The term is brought to NFC before it is cut into words, so a term typed decomposed (NFD, as macOS tools
    give text) finds the composed text; a Chinese compatibility ideograph finds its unified form."""
    decomposed = {k + "d": unicodedata.normalize("NFD", v) for k, v in COMPOSED.items() if k != "zh1"}
    lake_of(con, {**COMPOSED, **decomposed}, indexed)
    for article_id, term in [("de1", "Müller"), ("tr1", "şehir"), ("el1", "ΑΘΉΝΑ"), ("ru1", "война"),
                             ("ja1", "ガス")]:
        nfd = unicodedata.normalize("NFD", term)
        assert nfd != term
        # text is matched as it is stored: a decomposed body (rare) is found by neither form of the term
        assert found(con, term) == found(con, nfd) == {article_id}, term
    assert found(con, "黄\uf90a") == {"zh1"}  # U+F90A, a compatibility ideograph of 金


# -- Thai, Lao, Khmer and Myanmar: written without spaces between words, as Chinese is ----------------------------
SOUTHEAST_ASIAN = {
    "th1": "ผู้ว่าราชการกรุงเทพมหานครกล่าวว่าน้ำท่วมลดลงแล้ว",
    "th2": "กรมอุตุนิยมวิทยาเตือนฝนตกหนักในภาคใต้ 12 จังหวัด",
    "th3": "นายกรัฐมนตรีเดินทางถึงเชียงใหม่เมื่อวันที่ 5 มีนาคม",
    "lo1": "ລັດຖະບານລາວປະກາດມາດຕະການໃໝ່",
    "lo2": "ນະຄອນຫຼວງວຽງຈັນມີຝົນຕົກໜັກ",
    "km1": "រាជរដ្ឋាភិបាលកម្ពុជាបានប្រកាសវិធានការថ្មី",
    "km2": "ភ្នំពេញ៖ ទឹកជំនន់បានធ្វើឱ្យប្រជាជនរាប់ពាន់នាក់ត្រូវជម្លៀស",
    "my1": "မြန်မာနိုင်ငံအစိုးရက ထုတ်ပြန်သည်",
    "my2": "ရန်ကုန်မြို့တွင် မိုးသည်းထန်စွာ ရွာသွန်းခဲ့သည်",
    "my3": "မြန်မာ့စီးပွားရေး တိုးတက်လာသည်",
    "en1": "Bangkok floods recede, the governor said.",
}


@PATHS
def test_a_thai_lao_khmer_or_myanmar_word_matches_inside_a_run_of_its_script(con, indexed):
    """Spaces there separate phrases, not words: a word of these scripts needs no boundary, as a Chinese one."""
    lake_of(con, SOUTHEAST_ASIAN, indexed)
    for article_id, terms in {
        "th1": ["กรุงเทพ", "กรุงเทพมหานคร", "น้ำท่วม", "ลดลง"],
        "th2": ["ภาคใต้", "ฝนตกหนัก", "จังหวัด"],
        "th3": ["นายกรัฐมนตรี", "เชียงใหม่"],
        "lo1": ["ລັດຖະບານ", "ລາວ", "ມາດຕະການ"],
        "lo2": ["ວຽງຈັນ", "ຝົນຕົກໜັກ"],
        "km1": ["កម្ពុជា", "រាជរដ្ឋាភិបាល", "ប្រកាស"],
        "km2": ["ភ្នំពេញ", "ទឹកជំនន់", "ប្រជាជន"],
        "my1": ["မြန်မာနိုင်ငံ", "အစိုးရ", "ထုတ်ပြန်"],
        "my2": ["ရန်ကုန်", "မိုးသည်းထန်စွာ"],
        "my3": ["စီးပွားရေး", "တိုးတက်"],
    }.items():
        for term in terms:
            assert found(con, term) == {article_id}, term
    for absent in ("เชียงราย", "ภูเก็ต", "ຫຼວງພະບາງ", "សៀមរាប", "မန္တလေး"):
        assert found(con, absent) == set(), absent
    assert found(con, "Bangkok") == {"en1"} and found(con, "governor") == {"en1"}


@PATHS
def test_a_phrase_in_these_scripts_matches_with_or_without_its_spaces(con, indexed):
    """As '政 府' matches '政府': the words of such a term may stand together in the text, or apart."""
    lake_of(con, SOUTHEAST_ASIAN, indexed)
    assert found(con, "กรุงเทพ มหานคร") == {"th1"} and found(con, "น้ำท่วม  ลดลง") == {"th1"}
    assert found(con, "ภาคใต้ 12 จังหวัด") == {"th2"} and found(con, "12 จังหวัด") == {"th2"}
    assert found(con, "ภาคใต้ 13 จังหวัด") == set() and found(con, "มหานคร กรุงเทพ") == set()
    assert found(con, "ភ្នំពេញ ទឹកជំនន់") == {"km2"}  # the Khmer colon ៖ between them in the text
    assert found(con, "အစိုးရက ထုတ်ပြန်") == {"my1"} and found(con, "ລັດຖະບານ ລາວ") == {"lo1"}


@PATHS
def test_a_term_in_these_scripts_does_not_end_inside_a_character_of_the_text(con, indexed):
    """A match may start or end inside a word (no dictionary says where Thai words end), but not just before a
    combining mark: that would take a consonant away from its vowel, tone mark or stacked consonant. Myanmar's tone
    marks ့ and း come last in a syllable and may follow a word."""
    lake_of(con, SOUTHEAST_ASIAN, indexed)
    assert found(con, "กร") == {"th2"}  # กรม; not กรุงเทพ (ุ below ร) nor นายกรัฐมนตรี (ั above ร)
    assert found(con, "ราชการ") == {"th1"}  # ending before ก, a consonant: a match
    assert found(con, "កម") == set()  # កម្ពុជា: ្ stacks ព under ម
    assert found(con, "မြန") == set() and found(con, "မြန်") == {"my1", "my3"}  # ် (asat) belongs to န
    assert found(con, "မြန်မာ") == {"my1", "my3"}  # ့ ends a syllable, a tone: မြန်မာ့ is Myanmar's


THAI_MIXED = {
    "th4": "ซื้อiPhone15รุ่นใหม่ได้ที่ศูนย์การค้า",
    "th5": "Apple เปิดตัว iPhone 15 รุ่นใหม่",
    "th6": "ปี2567 เศรษฐกิจไทยขยายตัว 2.7%",
    "zh1": "中泰铁路项目 โครงการรถไฟไทย-จีน",
    "en1": "Thai iPhone 15 sales rose in 2567",
}


@PATHS
def test_latin_words_and_numbers_beside_thai_stay_whole_words(con, indexed):
    """Thai in a word does not cut it for the term table (it holds 'ซื้อiphone15รุ่นใหม่ได้ที่ศูนย์การค้า' as one word,
    as it did): a Latin word or a number is found beside Thai only across a separator, on both paths. Chinese
    beside Thai keeps its character pairs."""
    lake_of(con, THAI_MIXED, indexed)
    assert found(con, "รุ่นใหม่") == {"th4", "th5"} and found(con, "ไทย") == {"th6", "zh1"}
    assert found(con, "iPhone 15") == {"th5", "en1"} and found(con, "iPhone 15 รุ่นใหม่") == {"th5"}
    assert found(con, "iPhone15") == set() and found(con, "2567") == {"en1"}
    assert found(con, "ซื้อiPhone15รุ่นใหม่") == {"th4"} and found(con, "ปี2567") == {"th6"}
    assert found(con, "铁路") == {"zh1"} and found(con, "中泰铁路项目") == {"zh1"}
    assert found(con, "รถไฟ") == {"zh1"} and found(con, "ไทย จีน") == {"zh1"} and found(con, "项目 โครงการ") == {"zh1"}


def test_a_term_in_these_scripts_is_read_in_the_bodies_and_adds_nothing_to_the_term_table(con):
    """Proof that such a term is not looked up: a term row the body does not hold is not counted. The term table
    keeps what it held for such text (its runs as words, no character pairs): no migration, no larger table."""
    add(con, "th1", D1, None, "ผู้ว่าราชการกรุงเทพมหานครกล่าว")
    index_terms(con=con)
    seq = con.execute("select article_seq from articles").fetchone()[0]
    con.execute("insert into article_terms values ('เชียงใหม่', $seq)", {"seq": seq})
    assert hits(con, "เชียงใหม่") == 0 and hits(con, "กรุงเทพ") == 1
    held = {r[0] for r in con.execute("select term from article_terms where term <> 'เชียงใหม่'").fetchall()}
    assert held == {"ผู้ว่าราชการกรุงเทพมหานครกล่าว"}
    for term, keys in [("กรุงเทพ", []), ("กรุงเทพ มหานคร", []), ("iPhone รุ่นใหม่", ["iphone"]),
                       ("Apple iPhone รุ่นใหม่", ["apple iphone"]), ("ລາວ", []), ("កម្ពុជា", []), ("မြန်မာ", [])]:
        answer = con.execute("select term_exact($t), term_read_all($t), term_keys($t)", {"t": term}).fetchone()
        assert answer == (False, True, keys), term
