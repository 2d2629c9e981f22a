-- article_terms now holds what term_coverage's bodies path matches (term_tokens): the Latin letters and digits
-- written against Chinese or Japanese characters ('2018年', 'iPhone新品'), the long vowel mark ー/ｰ among the
-- Japanese characters and in their pairs, and the Greek final sigma as σ (term_fold). Rows written before lack
-- them or hold ς, so the index path would answer otherwise than the bodies. As migration 005 did, the table starts
-- again: with no watermark, term_coverage reads every body (right, only slower) until the indexing step (after the
-- next load, or news_maintenance) has indexed every article again, in batches.
delete from article_terms;

delete from article_terms_state;
