-- term_probe(term): the longest word of a search term (term_words), which term_coverage looks for first as a
-- case-insensitive literal: the rarest part of the term, and far cheaper to find than the full pattern.
create or replace macro term_probe(term) as
term_words(term)[
    list_position(
        list_transform(term_words(term), lambda w: length(w)),
        list_max(list_transform(term_words(term), lambda w: length(w)))
    )
];
