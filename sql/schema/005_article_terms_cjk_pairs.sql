-- Chinese and Japanese character pairs for the articles indexed before this migration. Since it, term_tokens
-- holds every pair of adjacent Han, Hiragana or Katakana characters beside the single characters, and
-- term_exact answers a one- or two-character word from article_terms alone, so every indexed article must hold
-- its pairs. Written out here rather than calling term_tokens: the macros are re-created after the migrations.
-- Texts without such characters are passed over by the first test; on a lake with no term rows this inserts nothing.
insert into article_terms (term, article_seq)
with texts as (
    select
        article_seq,
        coalesce(title, '') || chr(10) || body as text
    from articles
    where article_seq <= (select coalesce(max(indexed_seq), 0) from article_terms_state)
),

pairs as (
    select
        article_seq,
        list_distinct(
            flatten(
                list_transform(
                    regexp_extract_all(text, '[\p{Han}\p{Hiragana}\p{Katakana}]{2,}'),
                    lambda run: list_transform(range(1, length(run)), lambda i: substr(run, i, 2))
                )
            )
        ) as terms
    from texts
    where regexp_matches(text, '[\p{Han}\p{Hiragana}\p{Katakana}]')
)

select
    unnest(terms) as term,
    article_seq
from pairs
