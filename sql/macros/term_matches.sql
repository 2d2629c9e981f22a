-- term_matches(title, body, term): whether an article's title or body holds the term (term_pattern), what
-- term_coverage checks on every article it has no term rows for, and on the candidates of a phrase. The body is
-- first searched for the term's longest word (term_probe) as a case-insensitive literal: RE2 finds it about as
-- fast as the bodies are read, and lower() or joining title and body would copy every body once more. A word
-- without case (Chinese, Japanese, Arabic...) is found by contains(): RE2's (?i) costs ~0.7 s per 1M bodies more.
create or replace macro term_matches(title, body, term) as
coalesce(
    case
        when
            if(
                lower(term_probe(term)) = upper(term_probe(term)),
                contains(body, term_probe(term)),
                regexp_matches(body, '(?i)' || regexp_escape(term_probe(term)))
            )
            then regexp_matches(body, term_pattern(term))
    end,
    false
)
or coalesce(regexp_matches(title, term_pattern(term)), false);
