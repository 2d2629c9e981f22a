-- term_matches(title, body, term): whether an article's title or body holds the term (term_pattern), what
-- term_coverage checks on every article it has no term rows for, and on the candidates of a phrase. The body is
-- first searched for the term's longest word (term_probe) as a case-insensitive literal: RE2 finds it about as
-- fast as the bodies are read, and lower() or joining title and body would copy every body once more.
create or replace macro term_matches(title, body, term) as
coalesce(
    case
        when regexp_matches(body, '(?i)' || regexp_escape(term_probe(term)))
            then regexp_matches(body, term_pattern(term))
    end,
    false
)
or coalesce(regexp_matches(title, term_pattern(term)), false);
