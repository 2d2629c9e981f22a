-- term_words(term): the words of a search term, brought to NFC (a term typed decomposed, as macOS tools can give it,
-- matches the composed text pages nearly always send) and folded (term_fold): runs of anything that is not
-- punctuation, a symbol, a space or a control character, in every script. term_coverage matches them in order.
-- The text is not brought to NFC, on either path: nfc_normalize costs 20-30 times reading a body (docs/warehouse.md).
create or replace macro term_words(term) as
regexp_extract_all(term_fold(nfc_normalize(trim(coalesce(term, '')))), '[^\p{P}\p{S}\p{Z}\p{C}]+');
