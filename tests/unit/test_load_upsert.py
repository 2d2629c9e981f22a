"""The articles upsert (sql/loads/03_upsert_articles.sql): a changed article is rewritten in place of the old row,
keeps when it was first seen, and a retried load of the same run leaves exactly the same rows."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta

from newsflow import staging, warehouse
from tests.support.loads import D1, D2, PORT, WIRE, load, record

COLUMNS = ("article_id, url, source, title, body, body_hash, published_date, duplicate_of, duplicate_kind, "
           "first_run_id, last_run_id, changed_run_id, inserted_at")


def rows(path):
    return read(path, f"select {COLUMNS} from articles order by article_id")[0]


def read(path, *queries):
    """Each query's rows, read through one read-only connection to the lake at `path`."""
    con = warehouse.connect(path, read_only=True)
    try:
        return [con.execute(q).fetchall() for q in queries]
    finally:
        con.close()


def test_changed_article_keeps_its_history_and_reruns_change_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    story, other = record("alpha", 1, D1, "Talks resume", WIRE), record("alpha", 2, D2, "Port strike", PORT)
    copy = record("beta", 1, D2, "Talks resume (wire)", WIRE)
    load(tmp_path, "run1", {"alpha": [story, other], "beta": [copy]})
    first = {r[0]: r for r in rows(tmp_path / "w")}
    assert first[copy["article_id"]][7:9] == (story["article_id"], "exact")

    changed = {**story, "title": "Talks resume, officials say", "body": WIRE + " Officials gave no details."}
    changed["body_hash"] = "changed-" + story["body_hash"][:20]
    run2 = {"alpha": [changed, other], "beta": [copy]}
    load(tmp_path, "run2", run2)
    second = {r[0]: r for r in rows(tmp_path / "w")}
    assert len(second) == 3
    new = second[story["article_id"]]
    assert new[3:6] == (changed["title"], changed["body"], changed["body_hash"])
    # first seen in run1, changed and last seen in run2; inserted_at is when it was first stored
    assert new[9:13] == ("run1", "run2", "run2", first[story["article_id"]][12])
    # the other article was unchanged: its row was not written (a lake rewrites a whole row, body included, to
    # update it), fetch_log says run2 saw it
    assert second[other["article_id"]] == first[other["article_id"]]

    load(tmp_path, "run2", run2)  # the load task retried: the same run again
    assert sorted(rows(tmp_path / "w")) == sorted(second.values())
    con = warehouse.connect(tmp_path / "w", read_only=True)
    try:
        logged = con.execute("select count(*) from fetch_log where run_id = 'run2'").fetchall()[0][0]
    finally:
        con.close()
    assert logged == 3
    [seen] = read(tmp_path / "w", "select run_id, outcome, reason from fetch_log "
                                  f"where article_id = '{other['article_id']}' order by run_id")
    assert seen == [("run1", "loaded", "new"), ("run2", "unchanged", "same_content")]


def test_what_an_article_states_of_its_access_is_stored_and_follows_changes(tmp_path, monkeypatch):
    """The `access` column (migration 007): inserted with a new article, rewritten when the article changes."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    gated, free = record("alpha", 1, D1, "Talks resume", WIRE, access="paywalled"), record("alpha", 2, D2, "Port", PORT)
    load(tmp_path, "run1", {"alpha": [gated, free]})
    con = warehouse.connect(tmp_path / "w", read_only=True)
    try:
        assert con.execute("select access from articles where access is not null").fetchall() == [("paywalled",)]
    finally:
        con.close()
    changed = {**gated, "access": "free", "body": WIRE + " The wall came down.", "body_hash": "changed-hash"}
    load(tmp_path, "run2", {"alpha": [changed, free]})
    con = warehouse.connect(tmp_path / "w", read_only=True)
    try:
        stored = dict(con.execute("select article_id, access from articles").fetchall())
    finally:
        con.close()
    assert stored == {gated["article_id"]: "free", free["article_id"]: None}


def test_a_new_extractor_version_rewrites_an_article_with_the_same_body(tmp_path, monkeypatch):
    """The same page read again by a new extractor (same body_hash, new extractor_version) is stored again as
    `loaded: reextracted` with what the new extractor read: taken for `unchanged`, it kept the old one's fields."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    story = record("alpha", 1, D1, "Talks", WIRE)
    load(tmp_path, "run1", {"alpha": [story]})
    reread = {**story, "title": "Talks resume", "author": "Staff reporter", "extractor_version": "test-2"}
    assert reread["body_hash"] == story["body_hash"]
    load(tmp_path, "run2", {"alpha": [reread]})
    con = warehouse.connect(tmp_path / "w", read_only=True)
    try:
        logged = con.execute("select outcome, reason from fetch_log where run_id = 'run2'").fetchall()
        stored = con.execute("select title, author, extractor_version, first_run_id, changed_run_id from articles"
                             ).fetchall()
    finally:
        con.close()
    assert logged == [("loaded", "reextracted")]
    assert stored == [("Talks resume", "Staff reporter", "test-2", "run1", "run2")]


def test_a_failed_or_rejected_revisit_leaves_the_last_fetch_where_it_was(tmp_path, monkeypatch):
    """Only a request that confirmed the stored article (`unchanged`, here a 304) is its last fetch for the revisit
    policy: a revisit that failed (HTTP 500) or that validation rejected confirmed nothing, and counting it would
    put the next revisit off by `every`. The confirmation writes no article row: fetch_log holds it."""
    from newsflow.stages.load import load_run
    from newsflow.stages.plan import make_jobs
    from newsflow.stages.revisit import known_articles

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    story, other = record("alpha", 1, D1, "Talks resume", WIRE), record("alpha", 2, D2, "Port strike", PORT)
    ferry = record("alpha", 3, D2, "Ferry line", "The harbour authority said the new ferry line starts in spring.")
    load(tmp_path, "run1", {"alpha": [story, other, ferry]})

    # run2 asked the three pages again, three hours after the last of them: a 500, a page validation rejected,
    # and a 304
    later = max(r["fetched_at"] for r in (story, other, ferry)) + timedelta(hours=3)
    answers = [(story, "failed", "http_500", 500), (other, "rejected", "body_too_short", 200),
               (ferry, "unchanged", "not_modified", 304)]
    folder = tmp_path / "staging" / "run2" / "alpha"
    folder.mkdir(parents=True)
    staging.write([staging.ledger_row(r["seq"], "article", r["url"], canonical_url=r["url"], article_id=r["article_id"],
                                      outcome=outcome, reason=reason, http_status=status, fetched_at=later)
                   for r, outcome, reason, status in answers], staging.LEDGER, folder / "ledger.validate.parquet")
    [job] = make_jobs(str(tmp_path / "sources.yaml"), None, "run2", str(tmp_path / "w"))
    load_run([dataclasses.replace(job, staging=folder)], run_id="run2", dag_id="test")

    con = warehouse.connect(tmp_path / "w", read_only=True)
    try:
        logged = con.execute("select seq, outcome, reason from fetch_log where run_id = 'run2' order by seq"
                             ).fetchall()
        stored = dict(con.execute("select article_id, fetched_at from articles").fetchall())
        ids = [story["article_id"], other["article_id"], ferry["article_id"]]
        known = {aid: last for aid, (_, _, last) in known_articles(ids, con).items()}
        # a bound before the 304 finds it; one after it leaves the stored fetch
        recent = {aid: last for aid, (_, _, last) in
                  known_articles(ids, con, confirmed_since=later - timedelta(minutes=1)).items()}
        older = {aid: last for aid, (_, _, last) in
                 known_articles(ids, con, confirmed_since=later + timedelta(minutes=1)).items()}
    finally:
        con.close()
    assert logged == [(1, "failed", "http_500"), (2, "rejected", "body_too_short"), (3, "unchanged", "not_modified")]
    assert stored == {r["article_id"]: r["fetched_at"] for r in (story, other, ferry)}
    assert known == recent == {story["article_id"]: story["fetched_at"], other["article_id"]: other["fetched_at"],
                               ferry["article_id"]: later}
    assert older == stored


def test_a_page_answered_twice_in_one_run_keeps_the_later_answers_validators(tmp_path, monkeypatch):
    """Two links of one run that land on the same page (the page itself and a tracker's link to it) are two
    requests: the next conditional request sends the validators of the later one (09_http_cache.sql), which the
    server gave last; the older ETag may be one it no longer knows, and costs a full fetch."""
    from newsflow.stages.load import load_run
    from newsflow.stages.plan import make_jobs

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    story = record("alpha", 1, D1, "Talks resume", WIRE)
    load(tmp_path, "first", {"alpha": [story]})
    folder = tmp_path / "staging" / "twice" / "alpha"
    folder.mkdir(parents=True)
    later = story["fetched_at"] + timedelta(hours=3)
    # listed first, answered last: the tracker's link was listed before the page and fetched after it
    answers = [(1, "https://t.example/go/1", later, '"v2"'), (2, story["url"], later - timedelta(minutes=5), '"v1"')]
    staging.write([staging.ledger_row(seq, "article", url, canonical_url=story["url"], article_id=story["article_id"],
                                      final_url=story["url"], outcome="unchanged", reason="same_content",
                                      http_status=200, fetched_at=fetched, etag=etag)
                   for seq, url, fetched, etag in answers], staging.LEDGER, folder / "ledger.validate.parquet")
    [job] = make_jobs(str(tmp_path / "sources.yaml"), None, "twice", str(tmp_path / "w"))
    load_run([dataclasses.replace(job, staging=folder)], run_id="twice", dag_id="test")
    [cached] = read(tmp_path / "w", f"select etag from http_cache where canonical_url = '{story['url']}'")
    assert cached == [('"v2"',)]


def test_a_page_fetched_before_the_stored_one_never_replaces_it(tmp_path, monkeypatch):
    """Loads run in the order runs reach them, not the order they fetched: a scheduled run that fetched an article
    at 11:00 can load after a manual run that fetched it again, changed, at 11:30. Its older text is not written
    (`skipped: superseded`); an older fetch of the same text is still `unchanged`."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    early = record("alpha", 1, D1, "Talks", WIRE)
    updated = {**record("alpha", 1, D1, "Talks resume", WIRE + " Talks resume on Friday."),
               "fetched_at": early["fetched_at"] + timedelta(minutes=30)}
    load(tmp_path, "manual", {"alpha": [updated]})
    load(tmp_path, "scheduled", {"alpha": [early]})
    same_text_earlier = {**updated, "fetched_at": early["fetched_at"]}
    load(tmp_path, "another", {"alpha": [same_text_earlier]})
    logged, stored = read(tmp_path / "w", "select run_id, outcome, reason from fetch_log order by logged_at",
                          "select title, body, fetched_at, changed_run_id, last_run_id from articles")
    assert logged == [("manual", "loaded", "new"), ("scheduled", "skipped", "superseded"),
                      ("another", "unchanged", "same_content")]
    assert stored == [("Talks resume", updated["body"], updated["fetched_at"], "manual", "manual")]


def test_a_run_of_another_dag_with_the_same_run_id_is_not_a_retry(tmp_path, monkeypatch):
    """Two schedules that fire at one instant share a run id (`@hourly` and `15m` at 06:00). A row the one wrote is
    not the other's to replace as its own retry: an older text of the article, listed by the other's source, is
    `skipped: superseded`, not written over the newer one and logged `loaded: new` twice. Each run's own retry
    still repeats its decision."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    newer = record("alpha", 1, D1, "Talks resume", WIRE + " Talks resume on Friday.")
    older = {**record("alpha", 1, D1, "Talks", WIRE), "source": "beta",
             "fetched_at": newer["fetched_at"] - timedelta(minutes=30)}
    run_id = "scheduled__2024-03-04T06:00:00+00:00"
    for attempt in range(2):
        load(tmp_path, run_id, {"alpha": [newer]}, dag_id="news_ingest_15m")
        load(tmp_path, run_id, {"beta": [older]}, dag_id="news_ingest_hourly")
        logged, stored = read(tmp_path / "w", "select source, outcome, reason from fetch_log order by source",
                              "select title, source, changed_run_id from articles")
        assert logged == [("alpha", "loaded", "new"), ("beta", "skipped", "superseded")], attempt
        assert stored == [("Talks resume", "alpha", run_id)], attempt


def test_a_page_confirmed_unchanged_after_an_older_fetch_is_not_replaced_by_it(tmp_path, monkeypatch):
    """A 304 at 12:00 says the stored 10:00 text was still the page then: a run that fetched a different text at
    11:00 and loads late is older than what the lake knows, though the stored row's own fetched_at is 10:00 (a
    confirmation writes no article row; 01_decide_outcomes.sql reads it from fetch_log)."""
    from newsflow.stages.load import load_run
    from newsflow.stages.plan import make_jobs

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    stored = record("alpha", 1, D1, "Talks resume", WIRE + " Talks resume on Friday.")
    load(tmp_path, "first", {"alpha": [stored]})
    folder = tmp_path / "staging" / "confirm" / "alpha"
    folder.mkdir(parents=True)
    staging.write([staging.ledger_row(1, "article", stored["url"], canonical_url=stored["url"],
                                      article_id=stored["article_id"], outcome="unchanged", reason="not_modified",
                                      http_status=304, fetched_at=stored["fetched_at"] + timedelta(hours=2))],
                  staging.LEDGER, folder / "ledger.validate.parquet")
    [job] = make_jobs(str(tmp_path / "sources.yaml"), None, "confirm", str(tmp_path / "w"))
    load_run([dataclasses.replace(job, staging=folder)], run_id="confirm", dag_id="test")
    older = {**record("alpha", 1, D1, "Talks", WIRE), "fetched_at": stored["fetched_at"] + timedelta(hours=1)}
    load(tmp_path, "late", {"alpha": [older]})
    logged, kept = read(tmp_path / "w", "select run_id, outcome, reason from fetch_log order by logged_at",
                        "select title, fetched_at, changed_run_id from articles")
    assert logged == [("first", "loaded", "new"), ("confirm", "unchanged", "not_modified"),
                      ("late", "skipped", "superseded")]
    assert kept == [("Talks resume", stored["fetched_at"], "first")]


def test_a_body_changed_at_the_same_length_gets_a_new_article_seq(tmp_path, monkeypatch):
    """04_insert_articles.sql keeps article_seq only when title, body_hash and length all match: a body edited at the
    same length (Monday -> Friday) is new text, so it needs a new seq or the term index keeps the old text's terms."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    story = record("alpha", 1, D1, "Talks", WIRE)
    edited = record("alpha", 1, D1, "Talks", WIRE.replace("Monday", "Friday"))
    assert (edited["body_chars"], edited["title"]) == (story["body_chars"], story["title"])
    assert edited["body_hash"] != story["body_hash"]

    def seq():
        con = warehouse.connect(tmp_path / "w", read_only=True)
        try:
            return con.execute("select article_seq, body from articles").fetchall()
        finally:
            con.close()

    load(tmp_path, "run1", {"alpha": [story]})
    [(first, _)] = seq()
    load(tmp_path, "run2", {"alpha": [edited]})
    [(second, body)] = seq()
    assert body == edited["body"]
    assert second != first


def test_an_article_that_stops_being_a_copy_loses_its_duplicate_link(tmp_path, monkeypatch):
    """05_mark_duplicates.sql clears the link of a touched article that no longer matches anything: a copy whose
    text changed to a story of its own must not stay marked as a duplicate of the original."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    story, copy = record("alpha", 1, D1, "Talks resume", WIRE), record("beta", 1, D2, "Talks resume (wire)", WIRE)
    load(tmp_path, "run1", {"alpha": [story], "beta": [copy]})
    assert {r[0]: r[7:9] for r in rows(tmp_path / "w")}[copy["article_id"]] == (story["article_id"], "exact")

    rewritten = record("beta", 1, D2, "Port strike", PORT)
    load(tmp_path, "run2", {"beta": [rewritten]})
    assert {r[0]: r[7:9] for r in rows(tmp_path / "w")} == {
        story["article_id"]: (None, None), copy["article_id"]: (None, None)}


def test_a_copy_whose_original_changed_into_another_text_loses_its_link_without_being_fetched_again(
        tmp_path, monkeypatch):
    """05_mark_duplicates.sql judges again the copies of an article whose text a load changed: the copy's own page
    answered 304 (or was not due), so it is not staged, and its link to a text the lake no longer holds stayed until
    some later load re-read the copy (a news_reprocess that loaded nothing then moved the copy into the coverage
    views, changing the figures of days long past)."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    story, copy = record("alpha", 1, D1, "Talks resume", WIRE), record("beta", 1, D2, "Talks resume (wire)", WIRE)
    load(tmp_path, "run1", {"alpha": [story], "beta": [copy]})
    assert {r[0]: r[7:9] for r in rows(tmp_path / "w")}[copy["article_id"]] == (story["article_id"], "exact")

    load(tmp_path, "run2", {"alpha": [record("alpha", 1, D1, "Port strike", PORT)]})  # the copy is not staged
    after_change = {r[0]: r[7:9] for r in rows(tmp_path / "w")}
    assert after_change == {story["article_id"]: (None, None), copy["article_id"]: (None, None)}
    # the same answer a load that reads the copy again (a reprocess) gives
    load(tmp_path, "run3", {"beta": [copy]})
    assert {r[0]: r[7:9] for r in rows(tmp_path / "w")} == after_change


def test_an_article_whose_text_changed_into_a_later_ones_makes_that_one_its_copy(tmp_path, monkeypatch):
    """05_mark_duplicates.sql judges again the later articles that the text a load changed now matches: a story
    updated in place at one address (an outlet's mobile link) to the text another address (its web link, stored a
    run later) already held. The later one is now a copy of the earlier, as a load reading it again says; left
    unjudged (its page answered 304 or the same bytes, so it was not staged) both were originals, one story counted
    twice by coverage_daily until some later load re-read it."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    mobile = record("mobile", 1, D1, "Talks resume", PORT)
    load(tmp_path, "run1", {"mobile": [mobile]})
    web = record("web", 1, D1, "Talks resume", WIRE)
    load(tmp_path, "run2", {"web": [web]})
    updated = record("mobile", 1, D1, "Talks resume", WIRE, fetched_at=web["fetched_at"] + timedelta(hours=1))
    load(tmp_path, "run3", {"mobile": [updated]})  # the web page is not staged
    after_change = {r[0]: r[7:9] for r in rows(tmp_path / "w")}
    assert after_change == {mobile["article_id"]: (None, None), web["article_id"]: (mobile["article_id"], "exact")}
    [counted] = read(tmp_path / "w", "select sum(articles) from coverage_daily")
    assert counted == [(1,)]
    # the same answer a load that reads the web page again gives
    load(tmp_path, "run4", {"web": [{**web, "fetched_at": updated["fetched_at"] + timedelta(hours=1)}]})
    assert {r[0]: r[7:9] for r in rows(tmp_path / "w")} == after_change


def test_a_near_copy_is_linked_within_three_simhash_bits_and_not_beyond(tmp_path, monkeypatch):
    """05_mark_duplicates.sql links a body of 300+ characters to an earlier one whose SimHash is at most 3 bits
    away (kind 'near'); 4 bits away (7 from the near copy) is another story. SimHashes are set by hand."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    long_wire = " ".join([WIRE] * 4)
    original = record("alpha", 1, D1, "Talks resume", long_wire)
    near = record("beta", 1, D2, "Talks resume (wire)", long_wire + " Officials gave no details.",
                  simhash=original["simhash"] ^ 0b111)
    far = record("gamma", 1, D2, "Talks resume (rewrite)", long_wire + " Officials said little.",
                 simhash=original["simhash"] ^ 0b11110000)
    assert len(long_wire) >= 300 and len({original["body_hash"], near["body_hash"], far["body_hash"]}) == 3
    load(tmp_path, "run1", {"alpha": [original]})
    load(tmp_path, "run2", {"beta": [near], "gamma": [far]})
    assert {r[0]: r[7:9] for r in rows(tmp_path / "w")} == {
        original["article_id"]: (None, None), near["article_id"]: (original["article_id"], "near"),
        far["article_id"]: (None, None)}


def test_near_copies_need_bodies_of_300_characters_and_exactly_300_is_enough(tmp_path, monkeypatch):
    """A short body says too little for a SimHash to tell a copy from a brief on the same subject: only bodies of
    300 characters or more are compared (05_mark_duplicates.sql). At exactly 300 the pair is linked; at 299 not."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    long_wire = " ".join([WIRE] * 4)
    stories = {}
    for chars, source in ((300, "alpha"), (299, "gamma")):
        body = long_wire[:chars]
        original = record(source, 1, D1, "Talks resume", body)
        # the copy ends differently (another body_hash) at the same length, its SimHash one bit away
        copy = record(source + "wire", 1, D2, "Talks resume (wire)", body[:-1] + "!", simhash=original["simhash"] ^ 1)
        assert len(original["body"]) == len(copy["body"]) == chars and original["body_hash"] != copy["body_hash"]
        stories[chars] = (original, copy)
        load(tmp_path, f"first{chars}", {source: [original]})
        load(tmp_path, f"copy{chars}", {source + "wire": [copy]})
    links = {r[0]: r[7:9] for r in rows(tmp_path / "w")}
    (at_300, copy_300), (at_299, copy_299) = stories[300], stories[299]
    assert links[copy_300["article_id"]] == (at_300["article_id"], "near")
    assert links[copy_299["article_id"]] == links[at_299["article_id"]] == (None, None)


def article_seqs(path) -> dict[str, int]:
    con = warehouse.connect(path, read_only=True)
    try:
        return dict(con.execute("select article_id, article_seq from articles").fetchall())
    finally:
        con.close()


def test_a_reextraction_that_keeps_the_text_keeps_its_article_seq(tmp_path, monkeypatch):
    """04_insert_articles.sql: a rewrite with the same title and body (here a new extractor_version) keeps
    article_seq, so the term rows already indexed for that text still join and nothing is indexed again."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    story = record("alpha", 1, D1, "Talks", WIRE)
    load(tmp_path, "run1", {"alpha": [story]})
    before = article_seqs(tmp_path / "w")
    load(tmp_path, "run2", {"alpha": [{**story, "author": "Staff reporter", "extractor_version": "test-2"}]})
    assert article_seqs(tmp_path / "w") == before


def test_article_seqs_stay_unique_when_staging_numbers_from_zero(tmp_path, monkeypatch):
    """Discover numbers a source's URLs from 0, and 01_decide_outcomes.sql gives new_seq = the lake's largest
    article_seq + 1 + seq: a new article at seq 0 must not take the seq of the article stored last."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    first, second = record("alpha", 0, D1, "Talks", WIRE), record("beta", 0, D2, "Port strike", PORT)
    load(tmp_path, "run1", {"alpha": [first]})
    load(tmp_path, "run2", {"beta": [second]})
    seqs = article_seqs(tmp_path / "w")
    assert seqs[second["article_id"]] > seqs[first["article_id"]]


def test_an_exact_copy_links_to_the_same_text_before_a_nearer_looking_one(tmp_path, monkeypatch):
    """05_mark_duplicates.sql ranks an exact match (same body_hash) before a near one (SimHash within 3 bits): a
    copy of A whose SimHash is also close to N links to A as 'exact', not to N as 'near'."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    long_wire = " ".join([WIRE] * 4)
    original = record("alpha", 1, D1, "Talks resume", long_wire)
    near = record("beta", 1, D1, "Talks resume (wire)", long_wire + " Officials gave no details.",
                  simhash=original["simhash"] ^ 0b11)
    load(tmp_path, "run1", {"beta": [near]})
    load(tmp_path, "run2", {"alpha": [original]})
    copy = record("gamma", 1, D2, "Talks resume (copy)", long_wire)
    load(tmp_path, "run3", {"gamma": [copy]})
    links = {r[0]: r[7:9] for r in rows(tmp_path / "w")}
    assert links[copy["article_id"]] == (original["article_id"], "exact")


def test_copies_stored_in_one_run_at_one_time_link_to_the_smallest_id_only(tmp_path, monkeypatch):
    """05_mark_duplicates.sql: two copies inserted by the same load and published at the same instant tie on both;
    the smaller article_id is the original and keeps no link (never a link each way)."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    one, two = record("alpha", 1, D1, "Talks resume", WIRE), record("beta", 1, D1, "Talks resume (wire)", WIRE)
    assert one["published_at"] == two["published_at"]
    first, second = sorted((one, two), key=lambda r: r["article_id"])
    load(tmp_path, "run1", {"alpha": [one], "beta": [two]})
    assert {r[0]: r[7:9] for r in rows(tmp_path / "w")} == {
        first["article_id"]: (None, None), second["article_id"]: (first["article_id"], "exact")}


def test_a_load_with_a_new_and_a_changed_article_stores_each_once(tmp_path, monkeypatch):
    """04_insert_articles.sql inserts only articles the lake does not hold (`not stored`); a changed one is
    rewritten by 04's MERGE. Both kinds in one load (03 runs only then) must still leave one row per article_id."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    story = record("alpha", 1, D1, "Talks", WIRE)
    load(tmp_path, "run1", {"alpha": [story]})
    changed = record("alpha", 1, D1, "Talks resume", WIRE + " Officials gave no details.")
    new = record("alpha", 2, D2, "Port strike", PORT)
    load(tmp_path, "run2", {"alpha": [changed, new]})
    con = warehouse.connect(tmp_path / "w", read_only=True)
    try:
        stored = con.execute("select article_id, title from articles order by title").fetchall()
    finally:
        con.close()
    assert stored == [(new["article_id"], "Port strike"), (story["article_id"], "Talks resume")]


def test_an_older_runs_load_run_again_after_a_newer_run_repeats_its_decisions(tmp_path, monkeypatch):
    """A load cleared and run again after a newer run changed the same article: the rerun repeats what its first
    execution decided for the same fetch (`loaded: new`, not `skipped: superseded`), the article stays the newer
    run's text, and the next conditional request keeps the newer answer's validators (09_http_cache.sql took the
    older ETag back, so the next revisit sent a validator the server had replaced)."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    story, other = record("alpha", 1, D1, "Talks", WIRE), record("alpha", 2, D2, "Port strike", PORT)
    changed = {**record("alpha", 1, D1, "Talks resume", WIRE + " Talks resume on Friday."),
               "fetched_at": story["fetched_at"] + timedelta(minutes=30)}
    seen_again = {**other, "fetched_at": other["fetched_at"] + timedelta(minutes=30)}
    run1 = {"alpha": [story, other]}
    load(tmp_path, "run1", run1)
    load(tmp_path, "run2", {"alpha": [changed, seen_again]})
    queries = ("select run_id, seq, outcome, reason from fetch_log order by run_id, seq",
               "select article_id, title, body, fetched_at, first_run_id, changed_run_id, last_run_id from articles "
               "order by article_id",
               "select canonical_url, etag from http_cache order by canonical_url",
               "select run_id, loaded, unchanged, skipped from runs order by run_id")
    before = read(tmp_path / "w", *queries)
    assert before[0] == [("run1", 1, "loaded", "new"), ("run1", 2, "loaded", "new"),
                         ("run2", 1, "loaded", "changed"), ("run2", 2, "unchanged", "same_content")]
    assert before[2] == [(story["url"], f'"{changed["body_hash"][:8]}"'), (other["url"], f'"{other["body_hash"][:8]}"')]
    for attempt in range(2):
        load(tmp_path, "run1", run1)  # run1's load cleared in the UI and run again, twice
        assert read(tmp_path / "w", *queries) == before, attempt


def test_a_runs_load_run_again_after_a_reprocess_keeps_the_reprocessed_article(tmp_path, monkeypatch):
    """news_reprocess reads a stored page's archived response again (same fetch time) with a newer extractor. The
    first run's load run again after it repeated nothing: judged anew, the old extractor's record was a
    `loaded: reextracted` and rewrote the article with the fields the reprocess had replaced."""
    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    story = record("alpha", 1, D1, "Talks", WIRE, warc_file="alpha-run1.warc.gz", warc_offset=0)
    reread = {**story, "title": "Talks resume", "author": "Staff reporter", "extractor_version": "test-2"}
    load(tmp_path, "run1", {"alpha": [story]})
    load(tmp_path, "reprocess", {"alpha": [reread]})
    queries = ("select run_id, outcome, reason from fetch_log order by run_id desc",
               "select title, author, extractor_version, first_run_id, changed_run_id from articles")
    before = read(tmp_path / "w", *queries)
    assert before == [[("run1", "loaded", "new"), ("reprocess", "loaded", "reextracted")],
                      [("Talks resume", "Staff reporter", "test-2", "run1", "reprocess")]]
    load(tmp_path, "run1", {"alpha": [story]})
    assert read(tmp_path / "w", *queries) == before


def test_an_older_runs_load_run_again_leaves_a_links_later_landing_alone(tmp_path, monkeypatch):
    """A link that landed on another page (an alias) in run1 and on itself in run2: run1's load run again after
    run2's put the alias back (11_article_aliases.sql read only the rerun's own fetches), and the revisit policy then
    held the link back until the other article was due. The later answer for the link decides (http_cache)."""
    from newsflow.stages.load import load_run
    from newsflow.stages.plan import make_jobs

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    link = "https://alpha.example/go/1"
    target = record("alpha", 1, D1, "Talks resume", WIRE)
    itself = {**record("alpha", 1, D1, "Port strike", PORT), "url": link, "canonical_url": link,
              "article_id": hashlib.sha1(link.encode()).hexdigest()[:20],
              "fetched_at": target["fetched_at"] + timedelta(hours=1)}

    def run(run_id, article, final_url):
        folder = tmp_path / "staging" / run_id / "alpha"
        folder.mkdir(parents=True, exist_ok=True)
        staging.write([article], staging.ARTICLE, folder / "valid.parquet")
        staging.write([staging.ledger_row(1, "article", link, canonical_url=link, article_id=article["article_id"],
                                          final_url=final_url, http_status=200, fetched_at=article["fetched_at"],
                                          etag=f'"{run_id}"')], staging.LEDGER, folder / "ledger.validate.parquet")
        staging.write([], staging.REJECTED, folder / "rejected.parquet")
        staging.write([], staging.VALIDATION, folder / "validation.parquet")
        [job] = make_jobs(str(tmp_path / "sources.yaml"), None, run_id, str(tmp_path / "w"))
        load_run([dataclasses.replace(job, staging=folder)], run_id=run_id, dag_id="test")

    load(tmp_path, "setup", {"alpha": []})  # writes the sources file
    run("run1", target, target["url"])
    assert read(tmp_path / "w", "select alias_url, article_id from article_aliases") == [
        [(link, target["article_id"])]]
    run("run2", itself, None)
    after = read(tmp_path / "w", "select alias_url, article_id from article_aliases",
                 "select etag from http_cache order by canonical_url")
    assert after == [[], [('"run2"',)]]
    run("run1", target, target["url"])  # run1's load cleared and run again
    assert read(tmp_path / "w", "select alias_url, article_id from article_aliases",
                "select etag from http_cache order by canonical_url") == after


def test_a_page_rejected_then_valid_in_a_rerun_is_judged_not_rejected_again(tmp_path, monkeypatch):
    """Only this load's own decisions are repeated: a page validation rejected in a run's first execution, and that
    passes when validate runs again (its rule relaxed), is stored as any valid page, not logged `rejected` again."""
    from newsflow.stages.load import load_run
    from newsflow.stages.plan import make_jobs

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    stored = record("alpha", 1, D1, "Talks", WIRE)
    load(tmp_path, "run0", {"alpha": [stored]})
    fresh = {**record("alpha", 1, D1, "Talks resume", WIRE + " Talks resume on Friday."),
             "fetched_at": stored["fetched_at"] + timedelta(hours=2)}
    folder = tmp_path / "staging" / "run1" / "alpha"
    folder.mkdir(parents=True)
    staging.write([], staging.ARTICLE, folder / "valid.parquet")
    staging.write([staging.ledger_row(1, "article", fresh["url"], canonical_url=fresh["url"],
                                      article_id=fresh["article_id"], outcome="rejected", reason="body_too_short",
                                      http_status=200, fetched_at=fresh["fetched_at"])],
                  staging.LEDGER, folder / "ledger.validate.parquet")
    staging.write([], staging.REJECTED, folder / "rejected.parquet")
    staging.write([], staging.VALIDATION, folder / "validation.parquet")
    [job] = make_jobs(str(tmp_path / "sources.yaml"), None, "run1", str(tmp_path / "w"))
    load_run([dataclasses.replace(job, staging=folder)], run_id="run1", dag_id="test")
    load(tmp_path, "run1", {"alpha": [fresh]})  # validate run again under a relaxed rule, then the load
    assert read(tmp_path / "w", "select run_id, outcome, reason from fetch_log order by run_id",
                "select title, changed_run_id from articles") == [
        [("run0", "loaded", "new"), ("run1", "loaded", "changed")], [("Talks resume", "run1")]]


def test_an_older_runs_load_run_again_leaves_the_source_as_the_newer_run_described_it(tmp_path, monkeypatch):
    """The sources row is the newest run's description of the source: run1 under `timezone: Asia/Dubai`, run2
    after the file moved it to Asia/Tehran, then run1's load cleared and run again put Dubai back (coverage_gaps
    reads the zone for the last complete day) and named run1 the source's last run."""
    from newsflow.stages.load import load_run
    from newsflow.stages.plan import make_jobs

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    sources = tmp_path / "sources.yaml"

    def job(run_id, zone, article):
        sources.write_text("sources:\n  - {name: alpha, kind: urls, urls: ['https://alpha.example/'], "
                           f"timezone: {zone}}}\n", encoding="utf-8")
        folder = tmp_path / "staging" / run_id / "alpha"
        folder.mkdir(parents=True, exist_ok=True)
        staging.write([article], staging.ARTICLE, folder / "valid.parquet")
        staging.write([staging.ledger_row(1, "article", article["url"], canonical_url=article["url"],
                                          article_id=article["article_id"], http_status=200,
                                          fetched_at=article["fetched_at"])], staging.LEDGER,
                      folder / "ledger.validate.parquet")
        staging.write([], staging.REJECTED, folder / "rejected.parquet")
        staging.write([], staging.VALIDATION, folder / "validation.parquet")
        [planned] = make_jobs(str(sources), None, run_id, str(tmp_path / "w"))
        return dataclasses.replace(planned, staging=folder)

    story = record("alpha", 1, D1, "Talks", WIRE)
    run1 = job("run1", "Asia/Dubai", story)
    load_run([run1], run_id="run1", dag_id="test")
    later = {**story, "fetched_at": story["fetched_at"] + timedelta(hours=1)}
    load_run([job("run2", "Asia/Tehran", later)], run_id="run2", dag_id="test")
    query = "select timezone, first_run_id, last_run_id from sources"
    assert read(tmp_path / "w", query) == [[("Asia/Tehran", "run1", "run2")]]
    load_run([run1], run_id="run1", dag_id="test")  # run1's load cleared and run again
    assert read(tmp_path / "w", query) == [[("Asia/Tehran", "run1", "run2")]]
    load_run([job("run3", "Asia/Kabul", later)], run_id="run3", dag_id="test")  # a newer run still updates it
    assert read(tmp_path / "w", query) == [[("Asia/Kabul", "run1", "run3")]]


def test_every_source_of_a_run_is_stored_as_the_file_describes_it_in_one_statement(tmp_path, monkeypatch):
    """The sources of a run are written by one MERGE (sql/loads/13_upsert_sources.sql; one per source held the
    lake's write slot a minute for 300 sources): each row its own kind, locator, language and zone, set or not,
    a source new to this run inserted beside those updated, and a source the run does not name left alone."""
    from newsflow.stages.load import load_run
    from newsflow.stages.plan import make_jobs

    monkeypatch.setenv("NEWSFLOW_DATA_DIR", str(tmp_path / "data"))
    sources = tmp_path / "sources.yaml"

    def run(run_id, text, names):
        sources.write_text(text, encoding="utf-8")
        jobs = []
        for planned in make_jobs(str(sources), names, run_id, str(tmp_path / "w")):
            folder = tmp_path / "staging" / run_id / planned.name
            folder.mkdir(parents=True, exist_ok=True)
            for name, schema in (("valid", staging.ARTICLE), ("ledger.validate", staging.LEDGER),
                                 ("rejected", staging.REJECTED), ("validation", staging.VALIDATION)):
                staging.write([], schema, folder / f"{name}.parquet")
            jobs.append(dataclasses.replace(planned, staging=folder))
        load_run(jobs, run_id=run_id, dag_id="test")

    first = ("sources:\n"
             "  - {name: alhadath, kind: feed, url: 'https://alhadath.example/rss', language: ar, timezone: Asia/Gaza}\n"
             "  - {name: herald, kind: sitemap, url: 'https://herald.example/sitemap.xml'}\n"
             "  - {name: picks, kind: urls, urls: ['https://a.example/1', 'https://b.example/2']}\n")
    run("run1", first, ["alhadath", "herald"])
    run("run2", first.replace("Asia/Gaza", "Asia/Hebron").replace("language: ar, ", ""), ["alhadath", "picks"])
    assert read(tmp_path / "w", "select name, kind, locator, language, timezone, first_run_id, last_run_id "
                                "from sources order by name") == [[
        ("alhadath", "feed", "https://alhadath.example/rss", None, "Asia/Hebron", "run1", "run2"),
        ("herald", "sitemap", "https://herald.example/sitemap.xml", None, "UTC", "run1", "run1"),
        ("picks", "urls", "2 listed URLs", None, "UTC", "run2", "run2")]]


def test_the_copies_two_sources_list_not_due_are_found_by_hash_joins_not_a_nested_loop(tmp_path):
    """Two sources listing the same known articles, none due (a site's feed and its sitemap, at every run once
    they are known): each second copy becomes `skipped: duplicate_other_source` (sql/loads/00_staged_inputs.sql).
    Joined back to the ledger with a constant test in the join condition, those copies made DuckDB join by a
    nested loop, quadratic in them: the step took 17.6 s for 30,000 such articles (0.9 s joined by hash) and
    minutes for 100,000. The plan says so at any size, so it is read here rather than timed."""
    import duckdb

    from newsflow.config import sql_dir

    articles = [record("alpha", i, D1, f"Story {i}", WIRE) for i in range(3)]
    files = {"ledger_files": [], "valid_files": []}
    for source in ("alpha", "beta"):
        folder = tmp_path / source
        folder.mkdir()
        staging.write([staging.ledger_row(r["seq"], "article", r["url"], canonical_url=r["url"],
                                          article_id=r["article_id"], outcome="unchanged", reason="not_due")
                       for r in articles], staging.LEDGER, folder / "ledger.validate.parquet")
        staging.write([], staging.ARTICLE, folder / "valid.parquet")
        files["ledger_files"].append(str(folder / "ledger.validate.parquet"))
        files["valid_files"].append(str(folder / "valid.parquet"))
    ranked, kept, ledger = warehouse.statements(
        (sql_dir() / "loads" / "00_staged_inputs.sql").read_text(encoding="utf-8"))[:3]
    assert ledger.startswith("create or replace temp table staged_ledger as")
    con = duckdb.connect()
    params = {"sources": ["alpha", "beta"], **files}

    def given(statement: str) -> dict:  # the parameters a statement names, as the load passes them
        return {k: v for k, v in params.items() if f"${k}" in statement}

    con.execute(ranked, given(ranked))
    con.execute(kept, given(kept))
    plan = "\n".join(row[1] for row in con.execute(
        ledger.replace("create or replace temp table staged_ledger as", "explain", 1), given(ledger)).fetchall())
    assert not any(join in plan for join in ("NL_JOIN", "NESTED_LOOP", "CROSS_PRODUCT")), plan
    con.execute(ledger, given(ledger))
    counts = con.execute("select source, outcome, reason, count(*) from staged_ledger group by all order by source")
    assert counts.fetchall() == [("alpha", "unchanged", "not_due", 3), ("beta", "skipped", "duplicate_other_source", 3)]
