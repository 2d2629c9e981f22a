-- term_pattern(term): the regular expression (RE2) term_coverage confirms a match with: the term's words
-- (term_words) in order, case-insensitively, separated by anything but word characters, with a non-word
-- character or the text's edge on either side. Next to a Han, Hiragana or Katakana character no boundary is
-- required (Chinese and Japanese are written without spaces). Null for a term without words: it matches nothing.
-- A constant for a constant term, so DuckDB compiles it once per query, not once per article. The words are cut
-- once (the one-element list_transform binds them to ws): every regular expression written in a macro is
-- compiled when a query is planned, ~15-30 ms each here, and a term_words per use made planning cost ~0.2 s.
create or replace macro term_pattern(term) as
list_transform(
    [term_words(term)],
    lambda ws: case
        when len(ws) > 0
            then
                '(?i)'
                || if(regexp_matches(ws[1], '^[\p{Han}\p{Hiragana}\p{Katakana}]'), '', '(?:^|[\p{P}\p{S}\p{Z}\p{C}])')
                || array_to_string(
                    list_transform(
                        range(1, len(ws) + 1),
                        lambda i: case
                            when i = 1 then ''
                            when
                                regexp_matches(ws[i - 1], '[\p{Han}\p{Hiragana}\p{Katakana}]$')
                                and regexp_matches(ws[i], '^[\p{Han}\p{Hiragana}\p{Katakana}]')
                                then '[\p{P}\p{S}\p{Z}\p{C}]*'
                            else '[\p{P}\p{S}\p{Z}\p{C}]+'
                        end || regexp_escape(ws[i])
                    ),
                    ''
                )
                || if(regexp_matches(ws[-1], '[\p{Han}\p{Hiragana}\p{Katakana}]$'), '', '(?:$|[\p{P}\p{S}\p{Z}\p{C}])')
    end
)[1];
