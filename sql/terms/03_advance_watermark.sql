-- Every article_seq up to $to_seq is now in article_terms: term_coverage answers those articles from it.
insert into article_terms_state (indexed_seq, articles, term_rows, indexed_at)
values ($to_seq, $articles, $term_rows, $now)
