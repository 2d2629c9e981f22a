-- term_pattern(term): the regular expression (RE2) term_coverage confirms a match with: the term's words
-- (term_words) in order, case-insensitively, separated by anything but word characters, with a non-word character
-- or the text's edge on either side. A Han, Hiragana or Katakana character (or the long vowel mark ー/ｰ, script
-- Common) counts as that edge too: Chinese and Japanese are written without spaces, so a word of them needs no
-- boundary ('政府' inside '政府部长'), nor does a word written against them in the text ('2018年', 'iPhone新品').
-- Thai, Lao, Khmer and Myanmar are written without spaces too, but only a word of their characters does without a
-- boundary ('กรุงเทพ' in 'ผู้ว่าราชการกรุงเทพมหานคร'): the term table holds their runs as words, 'ซื้อiphone15รุ่นใหม่'
-- whole, so a Latin word or a number written against them is no word ('iPhone15' is not found there, on either
-- path), and two words of a term need no separator only when both touch such characters. Such a word must not
-- end before a combining mark (\p{M}): that would take a consonant from its vowel, tone mark or stacked consonant
-- ('กร' is not found in 'กรุง'). Myanmar's tone marks ့ and း (U+1037, U+1038) close a syllable instead, and ့ makes
-- a noun possessive: 'မြန်မာ' is found in 'မြန်မာ့' (Myanmar's). A Chinese/Japanese word has no such check: its
-- characters, one or two, come from the term table, which holds them whatever follows (a variation selector).
-- Null for a term without words: it matches nothing. A constant for a constant term, so DuckDB compiles it once per
-- query, not once per article. The words are cut once (the one-element list_transform binds them to ws): every
-- regular expression written in a macro is compiled when a query is planned, ~15-30 ms each here, and a term_words
-- per use made planning cost ~0.2 s. So the separator between two words is chosen by one expression on the pair
-- joined by a space, which no word holds. RE2's (?i) folds letters as term_fold does, but for İ, which lower() (the
-- term table) takes to i: an i is written [iİ]. Writing every letter as the class of the letters term_fold takes
-- to it, instead of (?i), added ~25 ms to planning each term_coverage (measured): the macro is expanded in all its
-- branches.
create or replace macro term_pattern(term) as
list_transform(
    [term_words(term)],
    lambda ws: case
        when len(ws) > 0
            then
                '(?i)'
                || if(
                    regexp_matches(ws[1], '^[\p{Han}\p{Hiragana}\p{Katakana}ーｰ\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]'),
                    '',
                    '(?:^|[\p{P}\p{S}\p{Z}\p{C}\p{Han}\p{Hiragana}\p{Katakana}ーｰ])'
                )
                || array_to_string(
                    list_transform(
                        range(1, len(ws) + 1),
                        lambda i: case
                            when i = 1 then ''
                            when
                                regexp_matches(
                                    ws[i - 1] || ' ' || ws[i],
                                    '[\p{Han}\p{Hiragana}\p{Katakana}ーｰ] | [\p{Han}\p{Hiragana}\p{Katakana}ーｰ]'
                                    || '|[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}] [\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]'
                                )
                                then '[\p{P}\p{S}\p{Z}\p{C}]*'
                            else '[\p{P}\p{S}\p{Z}\p{C}]+'
                        end || replace(regexp_escape(ws[i]), 'i', '[iİ]')
                    ),
                    ''
                )
                || case
                    when regexp_matches(ws[-1], '[\p{Han}\p{Hiragana}\p{Katakana}ーｰ]$') then ''
                    when regexp_matches(ws[-1], '[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]$')
                        then '(?:$|\P{M}|[\x{1037}\x{1038}])'
                    else '(?:$|[\p{P}\p{S}\p{Z}\p{C}\p{Han}\p{Hiragana}\p{Katakana}ーｰ])'
                end
    end
)[1];
