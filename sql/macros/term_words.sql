-- term_words(term): the words of a search term, lower-cased: runs of anything that is not punctuation, a
-- symbol, a space or a control character, in every script. term_coverage matches them in order.
create or replace macro term_words(term) as
regexp_extract_all(lower(trim(coalesce(term, ''))), '[^\p{P}\p{S}\p{Z}\p{C}]+');
