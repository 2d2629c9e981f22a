-- term_matches(title, body, term): whether an article's title or body holds the term (term_pattern), what
-- term_coverage checks on every article it has no term rows for, and on the candidates of a phrase. The body is
-- first searched for the term's longest word (term_probe) as a case-insensitive literal: RE2 finds it about as
-- fast as the bodies are read, and lower() or joining title and body would copy every body once more. A word
-- without case (Chinese, Japanese, Arabic...) is found by contains(): RE2's (?i) costs ~0.7 s per 1M bodies more.
-- RE2's (?i) folds letters as term_fold does but for İ, which the term table takes to i: when the term has an i, a
-- body holding an İ goes to the pattern too (the probe written with [iİ] lost RE2's prefix search: 2.5x slower for
-- a word starting with i, measured; the contains() costs about nothing beside reading the body). Without an i, the
-- needle is a NUL, which no text holds: written as an and instead, the test added ~4 ms to planning per use.
create or replace macro term_matches(title, body, term) as
coalesce(
    case
        when
            if(
                lower(term_probe(term)) = upper(term_probe(term)),
                contains(body, term_probe(term)),
                regexp_matches(body, '(?i)' || regexp_escape(term_probe(term)))
                or contains(body, if(contains(lower(term), 'i'), 'İ', chr(0)))
            )
            then regexp_matches(body, term_pattern(term))
    end,
    false
)
or coalesce(regexp_matches(title, term_pattern(term)), false);
