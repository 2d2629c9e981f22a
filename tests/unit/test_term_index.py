"""The term index behind term_coverage (sql/schema/003_term_index.sql, sql/loads/02_term_index_before.sql and
09_term_index.sql, sql/views/109_term_coverage_indexed.sql): tokenisation in many scripts, the index kept exact by
real loads (updates that move an article to another day, duplicate links made and broken, a same-run reload),
the migration's backfill of an older warehouse, and the phrase fallback."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest

from newsflow import staging, warehouse
from newsflow.dedup import body_hash, simhash

D1, D2, D3, D4, D5 = date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 12), date(2024, 3, 6), date(2024, 3, 7)


# -- tokenisation ------------------------------------------------------------------------------------------------
@pytest.fixture
def con(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(tmp_path / "w.duckdb"))
    con = warehouse.open_for_write()
    con.execute("set timezone = 'UTC'")
    yield con
    con.close()


def tokens(con, text):
    return con.execute("select term_tokens(?)", [text]).fetchone()[0]


def keys(con, text):
    return sorted(con.execute("select term_keys(?)", [text]).fetchone()[0])


def test_words_are_lower_case_and_split_on_anything_but_letters_marks_and_numbers(con):
    assert tokens(con, "Iran's al-Qaeda: 3.5% (2018)") == ["iran", "s", "al", "qaeda", "3", "5", "2018"]
    assert tokens(con, "ПРАВИТЕЛЬСТВО «Москвы»") == ["правительство", "москвы"]
    assert tokens(con, "ΟΔΟΣ οδος") == ["οδοσ", "οδοσ"]  # Greek final sigma folded
    assert tokens(con, "İstanbul ÇAĞ") == ["istanbul", "çağ"]
    # Arabic keeps its marks (harakat) inside the word, its comma splits
    assert tokens(con, "قالت الحكومةُ، أمس") == ["قالت", "الحكومةُ", "أمس"]
    # Persian: a ZWNJ between letters stays inside the word, a stray one at a word's edge does not
    assert tokens(con, "این کار انجام می\u200cشود\u200c.") == ["این", "کار", "انجام", "می\u200cشود"]
    assert tokens(con, "") == [] and tokens(con, "!!! ...") == []


def test_chinese_and_japanese_runs_become_bigrams_and_the_index_also_has_single_characters(con):
    assert tokens(con, "中华人民共和国") == ["中华", "华人", "人民", "民共", "共和", "和国"]
    assert tokens(con, "2018年iPhone手机。政") == ["2018", "年", "iphone", "手机", "政"]
    assert tokens(con, "東京タワー") == ["東京", "京タ", "タワ", "ワー"]
    assert keys(con, "政府。政府") == sorted(["政", "府", "政府"])
    assert keys(con, "한국 정부는") == ["정부는", "한국"]  # Korean is written with spaces: words


@pytest.mark.parametrize("text", [
    "Iran's talks; ПРАВИТЕЛЬСТВО и рынок", "قالت الحكومة إن الأسعار", "می\u200cشود کار", "中华人民共和国成立，政府", "東京タワーへ行く",
    "mixed 2018年iPhone手机 text ΟΔΟΣ", "a", "政",
])
def test_every_search_token_of_a_text_is_one_of_its_index_keys(con, text):
    # the phrase fallback narrows to days where all of a phrase's tokens are in the index: sound only if this holds
    assert set(tokens(con, text)) <= set(keys(con, text))


# -- loads keep the index exact --------------------------------------------------------------------------------
def record(source, seq, day, title, body, **extra):
    url = f"https://{source}.example/news/{seq}"
    published = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=10)
    row = {
        "seq": seq, "article_id": hashlib.sha1(url.encode()).hexdigest()[:20], "url": url, "canonical_url": url,
        "source": source, "source_domain": f"{source}.example", "sitename": source, "title": title,
        "author": None, "published_at": published, "published_date": day, "date_source": "meta",
        "date_disagreement": False, "date_reason": None, "date_candidates": None, "language": "en",
        "language_source": "detected", "body": body, "body_chars": len(body), "link_density": 0.0,
        "body_hash": body_hash(body), "simhash": simhash(body), "credit": None, "categories": [], "tags": [],
        "fetched_at": published + timedelta(hours=1), "http_status": 200, "warc_file": None, "warc_offset": None,
        "extractor_version": "test-1", "extractor_settings": "{}",
    }
    row.update(extra)
    return row


def load(tmp_path, run_id, by_source):
    """One load_run with the given staged articles per source (every article valid, one ledger row each)."""
    import dataclasses

    from newsflow.stages.load import load_run
    from newsflow.stages.plan import make_jobs

    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(
        "sources:\n" + "".join(f"  - {{name: {s}, kind: urls, urls: ['https://{s}.example/']}}\n" for s in by_source),
        encoding="utf-8",
    )
    jobs = []
    planned = {job.name: job for job in make_jobs(str(sources_file), None, run_id, None)}
    for source, records in by_source.items():
        folder = tmp_path / "staging" / run_id / source
        folder.mkdir(parents=True, exist_ok=True)
        staging.write(records, staging.ARTICLE, folder / "valid.parquet")
        ledger = [{"seq": r["seq"], "url_kind": "article", "url": r["url"], "canonical_url": r["url"],
                   "article_id": r["article_id"], "http_status": 200, "fetched_at": r["fetched_at"]} for r in records]
        staging.write(ledger, staging.LEDGER, folder / "ledger.validate.parquet")
        staging.write([], staging.REJECTED, folder / "rejected.parquet")
        staging.write([], staging.VALIDATION, folder / "validation.parquet")
        jobs.append(dataclasses.replace(planned[source], staging=folder))
    return load_run(jobs, run_id=run_id, dag_id="test")


def index_rows(con):
    return con.execute("select published_date, term_hash, articles from term_daily order by all").fetchall()


def recomputed(con):
    return con.execute(
        "select published_date, term_hash, articles "
        "from term_daily_rows((select list(distinct published_date) from articles)) order by all"
    ).fetchall()


def signature_rows(con):
    return con.execute("select article_id, pairs, triples from phrase_signatures order by all").fetchall()


def recomputed_signatures(con):
    return con.execute(
        "select article_id, pairs, triples "
        "from phrase_signature_rows((select list(article_id) from articles)) order by all"
    ).fetchall()


def frequent_gram_rows(con):
    return con.execute("select published_date, gram_hash, articles from phrase_daily order by all").fetchall()


def recomputed_frequent_grams(con):
    return con.execute(
        "select published_date, gram_hash, articles "
        "from phrase_daily_rows((select list(distinct published_date) from articles)) order by all"
    ).fetchall()


def days_with_originals(con):
    return {r[0] for r in con.execute("select distinct published_date from articles where duplicate_of is null").fetchall()}


def assert_index_exact(con):
    assert index_rows(con) == recomputed(con)
    # one signature per article, equal to one computed afresh from its current text
    assert signature_rows(con) == recomputed_signatures(con)
    assert len(signature_rows(con)) == con.execute("select count(*) from articles").fetchone()[0]
    # every day with originals has its frequent pairs, and they are what its articles give now
    assert frequent_gram_rows(con) == recomputed_frequent_grams(con)
    assert {r[0] for r in con.execute("select published_date from phrase_daily_days").fetchall()} == days_with_originals(con)


def candidates(con, term):
    return {r[0] for r in con.execute("select article_id from phrase_candidates(?)", [term]).fetchall()}


def coverage(con, term, grain="day"):
    return con.execute(
        "select period, articles, all_articles from term_coverage(?, ?) order by period", [term, grain]
    ).fetchall()


@pytest.fixture
def loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSFLOW_WAREHOUSE", str(tmp_path / "w.duckdb"))

    def reopen():
        con = warehouse.connect(tmp_path / "w.duckdb", read_only=True)
        con.execute("set timezone = 'UTC'")
        return con

    return reopen


WIRE = "Iran and its neighbours resumed talks on Monday about the central bank and the shipping lanes."
PORT = "Dockers at the port went on strike over wages, the union said in a statement on Monday."


def hits(con, term):
    return [(period, n) for period, n, _all in coverage(con, term) if n]


def test_loads_keep_the_index_equal_to_a_recomputation(tmp_path, loaded):
    # each later change is the only thing that touches its day, so each way a day can go stale is tested alone
    run1 = {
        "alpha": [
            record("alpha", 1, D1, "Talks resume", WIRE),
            record("alpha", 2, D2, "Port strike", PORT),
            record("alpha", 3, D1, "Markets", "Iranian markets rose. ПРАВИТЕЛЬСТВО объявило о новых мерах."),
        ],
        "beta": [
            record("beta", 1, D5, "Talks resume (wire)", WIRE),  # exact copy of alpha 1, a day later: a duplicate
            record("beta", 2, D4, "政府会议", "政府今天召开会议，讨论经济问题。"),
        ],
    }
    load(tmp_path, "run1", run1)
    con = loaded()
    assert con.execute("select count(*) from articles where duplicate_of is not null").fetchone()[0] == 1
    assert_index_exact(con)
    assert index_rows(con)
    assert coverage(con, "iran") == [(D1, 1, 2), (D2, 0, 1), (D4, 0, 1)]  # the copy on D5 does not count
    assert hits(con, "ПРАВИТЕЛЬСТВО") == [(D1, 1)]
    assert hits(con, "strike") == [(D2, 1)]
    assert hits(con, "政府") == [(D4, 1)]
    con.close()

    # run2: alpha 1 is rewritten on D1, so its copy beta 1 (unchanged) becomes an original again on D5; alpha 2
    # moves from D2 to D3 with a new text; gamma runs a copy of beta 2 on D4
    run2 = {
        "alpha": [
            record("alpha", 1, D1, "Talks resume", WIRE + " Officials gave no details."),
            record("alpha", 2, D3, "Port dispute ends", "The dockers' walkout ended after a pay deal."),
            run1["alpha"][2],
        ],
        "beta": run1["beta"],
        "gamma": [record("gamma", 1, D4, "政府会议", "政府今天召开会议，讨论经济问题。")],
    }
    load(tmp_path, "run2", run2)
    con = loaded()
    assert dict(con.execute("select article_id, duplicate_of is null from articles").fetchall()) == {
        **{r["article_id"]: True for r in run2["alpha"] + run2["beta"]}, run2["gamma"][0]["article_id"]: False,
    }
    assert_index_exact(con)
    assert hits(con, "iran") == [(D1, 1), (D5, 1)]  # beta 1 counts again, on its own day
    assert hits(con, "strike") == []  # the old text left D2
    assert hits(con, "walkout") == [(D3, 1)]
    assert hits(con, "政府") == [(D4, 1)]  # gamma's copy does not count
    assert [(p, a) for p, _n, a in coverage(con, "iran")] == [(D1, 2), (D4, 1), (D5, 1), (D3, 1)]  # D2: no original left
    assert hits(con, "officials gave no details") == [(D1, 1)]  # a phrase of the rewritten text
    assert hits(con, "port went on strike") == []
    before = index_rows(con), signature_rows(con)
    con.close()

    load(tmp_path, "run2", run2)  # a retried load of the same run
    con = loaded()
    assert (index_rows(con), signature_rows(con)) == before
    assert_index_exact(con)
    con.close()

    # run3: delta runs a copy of alpha 2's new text, dated D2: a copy, so D2 stays without originals
    load(tmp_path, "run3", {"delta": [record("delta", 1, D2, "Walkout over", "The dockers' walkout ended after a pay deal.")]})
    con = loaded()
    assert_index_exact(con)
    assert hits(con, "walkout") == [(D3, 1)]
    con.close()


def test_a_stale_index_from_another_hash_is_refused_and_rebuilt_by_the_next_load(tmp_path, loaded):
    load(tmp_path, "run1", {"alpha": [record("alpha", 1, D1, "Talks", WIRE)]})
    con = warehouse.connect(tmp_path / "w.duckdb")
    con.execute("update term_daily set term_hash = term_hash + 1")
    con.execute("update term_index_meta set hash_probe = hash_probe + 1")
    con.execute("update phrase_signatures set pairs = [0 for _ in range(64)], triples = [0 for _ in range(64)]")
    con.execute("insert into phrase_daily values (?, 12345, 9)", [D1])  # a pair hashed by another hash()
    with pytest.raises(Exception, match="another hash"):
        coverage(con, "iran")
    with pytest.raises(Exception, match="another hash"):
        coverage(con, "central bank")
    con.close()
    load(tmp_path, "run2", {"beta": [record("beta", 1, D2, "Port", PORT)]})  # touches D2 only, rebuilds all days
    con = loaded()
    assert_index_exact(con)
    assert hits(con, "the central bank") == [(D1, 1)]
    assert coverage(con, "iran") == [(D1, 1, 1), (D2, 0, 1)]
    con.close()


def test_migration_backfills_a_warehouse_that_had_articles_before_the_index(tmp_path, monkeypatch):
    path = tmp_path / "old.duckdb"
    files = warehouse.migration_files()
    older = [f for f in files if f[0] not in (3, 4, 5, 6, 109, 110, 111, 112)]
    monkeypatch.setattr(warehouse, "migration_files", lambda root=None: older)
    con = warehouse.connect(path)
    warehouse.migrate(con)
    assert "term_daily" not in {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    insert_articles(con, {
        "a0": (D1, "ПРАВИТЕЛЬСТВО", "Правительство объявило."), "a1": (D1, "Port", PORT),
        "a2": (D2, "الحكومة", "قالت الحكومة اليوم"),
    })
    con.close()
    monkeypatch.setattr(warehouse, "migration_files", lambda root=None: files)
    con = warehouse.connect(path)
    assert warehouse.migrate(con) == [3, 4, 5, 6, 109, 110, 111, 112]
    # the triples and the frequent pairs are computed after the migrations, by the next load or refresh: not yet,
    # and term_coverage does not need them to be right
    assert frequent_gram_rows(con) == [] and days_with_originals(con) == {D1, D2}
    assert con.execute("select count(*) from phrase_signatures where triples is null").fetchone()[0] == 3
    assert coverage(con, "قالت الحكومة") == [(D1, 0, 2), (D2, 1, 1)]
    assert coverage(con, "قالت الحكومة اليوم") == [(D1, 0, 2), (D2, 1, 1)]
    assert warehouse.refresh_term_index(con) == {"signatures": 3, "days": 2}
    assert_index_exact(con)
    assert warehouse.refresh_term_index(con) == {"signatures": 0, "days": 0}
    assert len(index_rows(con)) > 10
    assert coverage(con, "قالت الحكومة") == [(D1, 0, 2), (D2, 1, 1)]
    assert coverage(con, "правительство") == [(D1, 1, 2), (D2, 0, 1)]
    assert coverage(con, "الحكومة") == [(D1, 0, 2), (D2, 1, 1)]
    con.close()


def insert_articles(con, rows):
    """Articles by hand, not by a load: {article_id: (day, title, body)}."""
    for article_id, (day, title, body) in rows.items():
        con.execute(
            "insert into articles (article_id, url, canonical_url, source, title, published_at, published_date, body, "
            "body_hash, first_run_id, last_run_id, changed_run_id, extractor_version, inserted_at, updated_at) "
            "values (?, 'u', 'u', 's', ?, now(), ?, ?, 'h', 'r', 'r', 'r', 't', now(), now())",
            [article_id, title, day, body],
        )


# -- phrases ---------------------------------------------------------------------------------------------------
def test_phrases_match_whole_words_in_order_across_punctuation(con):
    bodies = {
        "p1": (D1, "Rates", "The Central Bank raised rates."),
        "p2": (D1, "Rates", "A central-bank decision is due."),
        "p3": (D1, "Banking", "Central banking is hard, and the bank is central."),  # words present, not in order
        "p4": (D2, "Central", "Bank holiday."),  # title + body would give "central bank": not a phrase
        "p5": (D2, "Talks", "Officials from Iran's central bank met on Monday."),
        "p6": (D2, "中国", "中华人民共和国成立。"),
        "p7": (D3, "中国", "中华人民，共和国"),
    }
    insert_articles(con, bodies)
    warehouse.rebuild_term_index(con)
    assert coverage(con, "central bank") == [(D1, 2, 3), (D2, 1, 3), (D3, 0, 1)]
    assert coverage(con, "CENTRAL-BANK") == coverage(con, "central bank")
    assert coverage(con, "iran's central bank") == [(D1, 0, 3), (D2, 1, 3), (D3, 0, 1)]
    assert coverage(con, "人民共和") == [(D1, 0, 3), (D2, 1, 3), (D3, 0, 1)]  # 3+ characters: bigrams in a row
    assert coverage(con, "共和国") == [(D1, 0, 3), (D2, 1, 3), (D3, 1, 1)]
    assert coverage(con, "bank central") == [(D1, 0, 3), (D2, 0, 3), (D3, 0, 1)]
    assert coverage(con, "banking") == [(D1, 1, 3), (D2, 0, 3), (D3, 0, 1)]


SIGNATURE_TEXTS = {
    "en": ("Central bank holds rates", "The central bank of Iran's neighbour held rates; officials gave no details."),
    "ru": ("Правительство", "Правительство Москвы объявило о новых мерах поддержки рынка."),
    "ar": ("الحكومة", "قالت الحكومة إن الأسعار سترتفع، الحدث - وكالات"),
    "fa": ("خبر", "این کار انجام می\u200cشود و دولت گفت."),
    "zh": ("中国", "中华人民共和国成立，政府今天召开会议。"),
    "ja": ("東京", "東京タワーへ行く2018年iPhone手机"),
}


def test_every_phrase_of_an_article_keeps_it_a_candidate_in_every_script(con):
    insert_articles(con, {key: (D1, title, body) for key, (title, body) in SIGNATURE_TEXTS.items()})
    warehouse.rebuild_term_index(con)
    assert_index_exact(con)
    checked = 0
    for key, (title, body) in SIGNATURE_TEXTS.items():
        for text in (title, body):
            words = tokens(con, text)
            for size in (2, 3, 4):
                for start in range(len(words) - size + 1):
                    # the tokens themselves as the phrase: CJK bigrams rejoin into the characters they came from
                    phrase = " ".join(words[start:start + size])
                    assert key in candidates(con, phrase), phrase
                    checked += 1
    assert checked > 60
    # and the filter filters: words that occur in an article, but never next to each other in this order
    assert candidates(con, "rates central") == set()
    assert candidates(con, "会议 中华") == set()
    # a one-token term has no pairs to test: every article stays a candidate
    assert candidates(con, "bank") == set(SIGNATURE_TEXTS)


def test_phrase_signatures_leave_out_most_articles_for_a_phrase_they_cannot_contain(con):
    # 300 articles of ~200 common words each, none with "bank rates" next to each other: the signature must let few
    # through (a broken signature, e.g. all bits set, would let every article through and still count correctly)
    vocab = ["bank", "rates", "the", "said", "market", "on", "of", "and", "government", "week"]
    rows = {}
    for i in range(300):
        words = [vocab[(i * 7 + j * j) % len(vocab)] for j in range(200)]
        text = " ".join(w for k, w in enumerate(words) if not (w == "rates" and k and words[k - 1] == "bank"))
        rows[f"a{i}"] = (D1, "Markets", text)
    insert_articles(con, rows)
    warehouse.rebuild_term_index(con)
    assert len(candidates(con, "bank rates")) < 30
    assert coverage(con, "bank rates") == [(D1, 0, 300)]


def test_term_coverage_reads_only_the_articles_the_signatures_let_through(con):
    # white-box: with one article's signature emptied by hand, a phrase it contains is no longer counted for it
    # (single words are still answered from term_daily), which shows the signature filter is in the query
    insert_articles(con, {"x1": (D1, "Rates", WIRE), "x2": (D1, "Rates", WIRE + " Again.")})
    warehouse.rebuild_term_index(con)
    assert hits(con, "the central bank") == [(D1, 2)]
    con.execute("update phrase_signatures set pairs = [0 for _ in range(64)] where article_id = 'x2'")
    assert hits(con, "the central bank") == [(D1, 1)]
    assert hits(con, "central") == [(D1, 2)]


PHRASE_TEXTS = [
    "The central bank raised rates.", "decentral banking", "Central -- BANK: no", "central\u200cbank", "x\u200ccentral bank",
    " \u200ccentral bank\u200c ", "central \u200cbank", "central bank\u200cs", "手机central bank手机", "ſtrike now and then",
    "ſtrike now, then a strike now", "İstanbul talks resumed", "ΟΔΟΣ ΚΛΕΙΣΤΗ σήμερα", "قالت الحكومةُ أمس",
    "این کار انجام می\u200cشود و", "中华人民共和国成立", "2018年iPhone手机", "of the of the", "", "bank central bank",
    "ПРАВИТЕЛЬСТВО Москвы объявило", "правительство, москвы", "İSTANBUL ÇAĞ başladı", "η οδος κλειστη", "ΟΔΟΣ_ΚΛΕΙΣΤΗ",
]
PHRASES = ["central bank", "strike now", "istanbul talks", "οδος κλειστη", "قالت الحكومةُ", "انجام می\u200cشود",
           "人民共和", "年iphone", "of the", "the of", "bank central", "شود و", "Правительство москвы",
           "istanbul çağ", "ΟΔΟΣ κλειστη"]


def test_the_phrase_tests_agree_with_tokenising_the_whole_text(con):
    # term_phrase_in decides with regular expressions first; whatever it decides must be what the exact token
    # match says, in every script and at every kind of token boundary (ZWNJ, CJK next to Latin, case folding)
    pairs = [(t, p) for t in PHRASE_TEXTS for p in PHRASES]
    rows = con.execute(
        "select t, p, term_phrase_in(t, p), contains(' ' || array_to_string(term_tokens(t), ' ') || ' ', "
        "' ' || array_to_string(term_tokens(p), ' ') || ' ') "
        "from (select unnest(?) as t, unnest(?) as p)", [[t for t, _ in pairs], [p for _, p in pairs]],
    ).fetchall()
    assert len(rows) == len(pairs)
    assert [(t, p, fast, exact) for t, p, fast, exact in rows if fast != exact] == []
    matched = {(t, p) for t, p, fast, _exact in rows if fast}
    assert ("x\u200ccentral bank", "central bank") not in matched  # the ZWNJ glues x and central into one word
    assert (" \u200ccentral bank\u200c ", "central bank") in matched  # ZWNJs next to spaces separate
    assert ("ſtrike now, then a strike now", "strike now") in matched  # the first match is not exact, the second is
    assert ("ſtrike now and then", "strike now") not in matched
    assert ("手机central bank手机", "central bank") in matched
    assert ("ПРАВИТЕЛЬСТВО Москвы объявило", "Правительство москвы") in matched  # ilike: cased non-ASCII
    assert ("İSTANBUL ÇAĞ başladı", "istanbul çağ") in matched
    assert ("η οδος κλειστη", "ΟΔΟΣ κλειστη") in matched  # final sigma in the text, capital in the term
    assert len(matched) >= 16


# -- frequent pairs --------------------------------------------------------------------------------------------
VOCAB = ("harbour markets cabinet rain budget court schools rail energy festival museum bridge farmers water "
         "trade police hospital union airport election weather prices tourism exports fishing housing").split()


def story(seed, phrase=None):
    """~40 words that no other story shares in order (SimHash keeps them apart), the phrase in the middle."""
    import random

    rng = random.Random(seed)
    words = [rng.choice(VOCAB) + str(rng.randrange(1000)) for _ in range(40)]
    if phrase:
        words[20:20] = phrase.split()
    return " ".join(words) + "."


def gram_count(con, day, *words):
    """phrase_daily's count of a two- or three-word phrase on a day; None without a row."""
    rows = con.execute(
        f"select articles from phrase_daily where published_date = ? and gram_hash = hash({', '.join('?' for _ in words)})",
        [day, *words],
    ).fetchall()
    return rows[0][0] if rows else None


def test_loads_keep_the_frequent_pairs_exact_and_term_coverage_uses_them(tmp_path, loaded):
    # D1: 10 originals say "the prime minister" (a frequent pair: >= 8 articles), D2: 3 do (counted from bodies)
    alpha = [record("alpha", i, D1, "Cabinet", story(i, "the prime minister said")) for i in range(10)]
    alpha += [record("alpha", 10 + i, D2, "Cabinet", story(10 + i, "the prime minister said")) for i in range(3)]
    alpha += [record("alpha", 20 + i, D2, "Weather", story(20 + i)) for i in range(3)]
    # beta runs an exact copy of one of them: a duplicate, which neither way of counting counts
    beta = [record("beta", 1, D1, "Cabinet", alpha[0]["body"])]
    load(tmp_path, "run1", {"alpha": alpha, "beta": beta})
    con = loaded()
    assert_index_exact(con)
    assert gram_count(con, D1, "prime", "minister") == 10 and gram_count(con, D2, "prime", "minister") is None
    assert gram_count(con, D1, "the", "prime", "minister") == 10  # triples too
    assert hits(con, "prime minister") == [(D1, 10), (D2, 3)]
    assert hits(con, "the prime minister") == [(D1, 10), (D2, 3)]
    assert hits(con, "the prime minister said") == [(D1, 10), (D2, 3)]  # four tokens: from the articles
    con.close()

    # run2: three D1 stories lose the phrase (so beta's copy of the first is an original again) and one, updated,
    # moves to D2: D1 falls to 7 (no longer frequent), D2 has 4
    changed = list(alpha)
    for i in range(3):
        changed[i] = record("alpha", i, D1, "Cabinet", story(i))
    changed[3] = record("alpha", 3, D2, "Cabinet", alpha[3]["body"] + " Updated.")
    load(tmp_path, "run2", {"alpha": changed, "beta": beta})
    con = loaded()
    assert_index_exact(con)
    assert gram_count(con, D1, "prime", "minister") is None
    assert hits(con, "prime minister") == [(D1, 7), (D2, 4)]
    before = frequent_gram_rows(con)
    con.close()

    load(tmp_path, "run2", {"alpha": changed, "beta": beta})  # a retried load of the same run
    con = loaded()
    assert frequent_gram_rows(con) == before
    assert_index_exact(con)
    con.close()

    # run3: five new D2 stories with the phrase make it frequent there (9)
    load(tmp_path, "run3", {"gamma": [record("gamma", i, D2, "Cabinet", story(50 + i, "prime minister")) for i in range(5)]})
    con = loaded()
    assert_index_exact(con)
    assert gram_count(con, D2, "prime", "minister") == 9
    assert hits(con, "prime minister") == [(D1, 7), (D2, 9)]
    con.close()


def test_term_coverage_answers_a_frequent_pair_from_phrase_daily_and_the_other_days_from_the_articles(con):
    rows = {f"a{i}": (D1, "Cabinet", story(i, "of the")) for i in range(9)}
    rows.update({f"b{i}": (D2, "Cabinet", story(20 + i, "of the")) for i in range(2)})
    rows.update({f"c{i}": (D2, "Budget", story(30 + i)) for i in range(7)})
    insert_articles(con, rows)
    warehouse.rebuild_term_index(con)
    assert_index_exact(con)
    assert gram_count(con, D1, "of", "the") == 9 and gram_count(con, D2, "of", "the") is None
    assert hits(con, "of the") == [(D1, 9), (D2, 2)]
    # white-box: the stored count is what term_coverage reports for D1 (so the table is really used), D2 is read
    con.execute("update phrase_daily set articles = 999 where published_date = ? and gram_hash = hash('of', 'the')", [D1])
    assert hits(con, "of the") == [(D1, 999), (D2, 2)]
    assert hits(con, "of the cabinet") == []  # no such triple anywhere
    # a day without rows is counted from the articles, whether it was never computed or its rows were dropped
    con.execute("delete from phrase_daily where published_date = ?", [D1])
    con.execute("delete from phrase_daily_days where published_date = ?", [D1])
    assert hits(con, "of the") == [(D1, 9), (D2, 2)]
    assert [r[0] for r in con.execute(
        (warehouse.sql_dir() / "maintenance" / "phrase_daily_todo.sql").read_text()).fetchall()] == [D1]
    assert warehouse.refresh_phrase_daily(con) == 1
    assert_index_exact(con)
    assert warehouse.refresh_phrase_daily(con) == 0  # nothing left to do


def test_a_frequent_three_word_phrase_is_answered_from_phrase_daily_too(con):
    rows = {f"a{i}": (D1, "Cabinet", story(i, "one of the")) for i in range(9)}
    rows.update({f"b{i}": (D2, "Cabinet", story(40 + i, "one of the")) for i in range(3)})
    insert_articles(con, rows)
    warehouse.rebuild_term_index(con)
    assert_index_exact(con)
    assert gram_count(con, D1, "one", "of", "the") == 9 and gram_count(con, D2, "one", "of", "the") is None
    assert hits(con, "one of the") == [(D1, 9), (D2, 3)]
    # white-box: D1's count comes from the table, D2's from the articles
    con.execute("update phrase_daily set articles = 555 where gram_hash = hash('one', 'of', 'the')")
    assert hits(con, "one of the") == [(D1, 555), (D2, 3)]
    assert hits(con, "one of") == [(D1, 9), (D2, 3)]


def test_refresh_in_small_statements_gives_the_same_rows_as_one(con):
    rows = {f"{day}-{i}": (day, "Cabinet", story(i * 7 + day.day, "prime minister said"))
            for day in (D1, D2, D3) for i in range(9)}
    insert_articles(con, rows)
    warehouse.rebuild_term_index(con)
    whole = frequent_gram_rows(con)
    assert {r[0] for r in whole} == {D1, D2, D3}
    con.execute("delete from phrase_daily")
    con.execute("delete from phrase_daily_days")
    assert warehouse.refresh_phrase_daily(con, articles_per_statement=5) == 3  # a day each (9 > 5: alone)
    assert frequent_gram_rows(con) == whole
    signatures = signature_rows(con)
    con.execute("update phrase_signatures set pairs = phrase_signature_unknown(), triples = null")
    assert warehouse.refresh_phrase_signatures(con, articles_per_statement=4) == 27
    assert signature_rows(con) == signatures
    assert_index_exact(con)


def test_a_failed_refresh_keeps_the_load_and_the_next_load_catches_up(tmp_path, loaded, monkeypatch, caplog):
    real_refresh = warehouse.refresh_phrase_daily

    def out_of_memory(con, **kwargs):
        raise MemoryError("simulated: the refresh ran out of memory")

    monkeypatch.setattr(warehouse, "refresh_phrase_daily", out_of_memory)  # refresh_term_index calls it by name
    rows = [record("alpha", i, D1, "Cabinet", story(i, "prime minister")) for i in range(9)]
    load(tmp_path, "run1", {"alpha": rows})
    assert "term index refresh failed" in caplog.text
    con = loaded()
    assert con.execute("select count(*) from articles").fetchone()[0] == 9  # the load itself is committed
    assert frequent_gram_rows(con) == [] and hits(con, "prime minister") == [(D1, 9)]  # counted from the articles
    con.close()
    monkeypatch.setattr(warehouse, "refresh_phrase_daily", real_refresh)
    load(tmp_path, "run2", {"beta": [record("beta", 1, D2, "Port", PORT)]})  # touches D2 only
    con = loaded()
    assert_index_exact(con)  # D1 was picked up too
    assert gram_count(con, D1, "prime", "minister") == 9
    con.close()


def test_the_triples_filter_leaves_out_articles_that_have_a_phrases_pairs_but_not_the_phrase(con):
    # every article has "bank rates" and "rates said" (both pairs of the phrase) but never "bank rates said": the
    # pairs alone let all of them through, the triples almost none
    rows = {}
    for i in range(300):
        filler = " ".join(f"w{(i * 31 + j * 7) % 997}" for j in range(150))
        rows[f"a{i}"] = (D1, "Markets", f"bank rates fell. {filler} rates said nothing. {story(i)}")
    rows["hit"] = (D1, "Markets", "The bank rates said it all. " + story(999))
    insert_articles(con, rows)
    warehouse.rebuild_term_index(con)
    assert len(candidates(con, "bank rates")) == 301
    assert len(candidates(con, "rates said")) == 301
    assert "hit" in candidates(con, "bank rates said") and len(candidates(con, "bank rates said")) < 30
    assert hits(con, "bank rates said") == [(D1, 1)]
    # white-box: with the matching article's triples emptied, the three-word phrase loses it, the pairs do not
    con.execute("update phrase_signatures set triples = [0 for _ in range(64)] where article_id = 'hit'")
    assert hits(con, "bank rates said") == []
    assert hits(con, "bank rates") == [(D1, 301)]
