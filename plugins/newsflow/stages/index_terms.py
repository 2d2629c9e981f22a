"""The term table behind term_coverage: article_terms, filled outside the loads' transaction by an indexing step
(after each load in news_ingest, and as catch-up in news_maintenance), one transaction per batch of articles.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

log = logging.getLogger(__name__)

# articles per transaction: a catch-up over a whole lake (after migrations 004 and 005) sorts one batch's term rows
# at a time (~970 per article with word pairs: ~10 M a batch) under the writer's 1 GB memory cap; 25,000 articles
# with pairs ran out of it
BATCH_ARTICLES = 10_000
# what an ingest or reprocess run's indexing step may spend starting batches (the rest waits for the next one)
RUN_BUDGET_S = 300.0


def index_terms(warehouse: str | None = None, *, con=None, batch: int = BATCH_ARTICLES,
                budget_s: float | None = None) -> dict:
    """Index every article whose article_seq is above the watermark. Each batch inserts its term rows and advances
    the watermark in one transaction, so a failure or a rerun never indexes an article twice or skips one.
    Articles without an article_seq yet are numbered first (their own transaction). With `budget_s`, no batch
    starts once that many seconds have passed, and `left` counts the articles left for a later step (a whole
    lake to index again after migration 005 takes ~25 min per million articles: an ingest run's step must not
    hold the write pool that long; news_maintenance has no budget). Returns what was done."""
    from newsflow.config import sql_dir
    from newsflow.warehouse import connect, in_transaction, migrate, run_sql_file

    own = con is None
    if own:
        con = connect(warehouse)
    folder = sql_dir() / "terms"
    summary = {"numbered": 0, "articles": 0, "term_rows": 0, "batches": 0}
    started = time.monotonic()
    try:
        if own:
            migrate(con)
        unnumbered = con.execute("select count(*) from articles where article_seq is null").fetchone()[0]
        if unnumbered:
            in_transaction(con, lambda: run_sql_file(con, folder / "01_number_articles.sql"))
            summary["numbered"] = unnumbered
        while budget_s is None or time.monotonic() - started < budget_s:
            done = _index_batch(con, folder, batch)
            if not done:
                break
            summary["batches"] += 1
            summary["articles"] += done["articles"]
            summary["term_rows"] += done["term_rows"]
        summary["indexed_seq"] = watermark(con)
        summary["left"] = con.execute("select count(*) from articles where article_seq > $seq",
                                      {"seq": summary["indexed_seq"]}).fetchone()[0]
    finally:
        if own:
            con.close()
    summary["seconds"] = round(time.monotonic() - started, 3)
    log.info("indexed terms: %s", summary)
    return summary


def prune_stale_terms(con) -> int:
    """Delete the term rows of article versions no article holds any more (news_maintenance, one transaction).
    Returns the rows deleted."""
    from newsflow.config import sql_dir
    from newsflow.warehouse import changed_rows

    deleted = changed_rows(con, sql_dir() / "terms" / "04_prune_stale_terms.sql")
    log.info("pruned %d term rows of replaced article versions", deleted)
    return deleted


def watermark(con) -> int:
    """Every article_seq up to this one has its terms in article_terms."""
    return con.execute("select coalesce(max(indexed_seq), 0) from article_terms_state").fetchone()[0]


def _index_batch(con, folder, batch: int) -> dict | None:
    from newsflow.warehouse import in_transaction, run_sql_file, statements

    done: dict = {}

    def work() -> None:
        # read inside the transaction: a concurrent step that committed first is seen, or this commit conflicts
        low = watermark(con)
        high, articles = con.execute(
            "select max(article_seq), count(*) from ("
            "select article_seq from articles where article_seq > $low order by article_seq limit $batch)",
            {"low": low, "batch": batch}).fetchone()
        if not articles:
            return
        span = {"from_seq": low, "to_seq": high}
        (insert,) = statements((folder / "02_insert_terms.sql").read_text(encoding="utf-8"))
        term_rows = con.execute(insert, span).fetchone()[0]  # an insert answers with the rows it inserted
        run_sql_file(con, folder / "03_advance_watermark.sql",
                     {**span, "now": datetime.now(UTC), "articles": articles, "term_rows": term_rows})
        done.update(articles=articles, term_rows=term_rows, to_seq=high)

    in_transaction(con, work)
    return done or None
