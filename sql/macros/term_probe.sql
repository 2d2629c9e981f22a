-- term_probe(term): the longest word of a search term (term_words), which term_coverage looks for first as a
-- case-insensitive literal: the rarest part of the term, and far cheaper to find than the full pattern. The words
-- are cut once (bound to ws, as in term_pattern: each regular expression in a macro costs planning time).
create or replace macro term_probe(term) as
list_transform(
    [term_words(term)],
    lambda ws: ws[
        list_position(list_transform(ws, lambda w: length(w)), list_max(list_transform(ws, lambda w: length(w))))
    ]
)[1];
