-- article_terms now also holds the pairs of adjacent words and of adjacent Chinese/Japanese characters
-- (term_tokens), which term_coverage looks phrases and short CJK words up by. Rows written before lack them, so
-- the table starts again: with no watermark, term_coverage reads every body (right, only slower) until the
-- indexing step (after the next load, or news_maintenance) has indexed every article again, in batches.
delete from article_terms;

delete from article_terms_state;
