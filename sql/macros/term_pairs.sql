-- term_pairs(words): each word joined to the next by one space ('central bank'), the form article_terms holds a
-- phrase's adjacent words in. A space never occurs inside a word (term_words), so a pair cannot be taken for one.
-- list_zip instead of indexing the list in a lambda: a lambda that captures a list copies it per element.
create or replace macro term_pairs(words) as
list_transform(
    list_zip(list_slice(words, 1, len(words) - 1), list_slice(words, 2, len(words))),
    lambda pair: pair[1] || ' ' || pair[2]
);
