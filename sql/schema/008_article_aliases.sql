-- Links that lead to an article stored under another URL: a feed's click-tracker, an old address, an http://
-- link moved to https://, a short link. The article is keyed by the page the link landed on; the link's own
-- canonical URL maps to it here, so the next run knows the link (its revisit policy applies to the article) and an
-- analyst can follow a listed URL to its article. fetch_log.final_url says where each request ended.
-- key: alias_id
create table if not exists article_aliases (
    alias_id varchar not null,
    alias_url varchar not null,
    article_id varchar not null,
    first_run_id varchar not null,
    last_run_id varchar not null,
    updated_at timestamptz not null
);

alter table fetch_log add column if not exists final_url varchar;

-- where the answer the validators belong to came from, when not the URL itself: the next conditional request goes
-- there, past the redirects (a tracker answers no If-None-Match; the page behind it can)
alter table http_cache add column if not exists final_url varchar;
