-- What a page states of its access, for analysts who count words or read bodies: `free`, `metered` or `paywalled`
-- (schema.org isAccessibleForFree on the article or a part of it, Open Graph's article:content_tier), null when it
-- states nothing. A paywalled article's body is what the page shows a reader without a subscription.
alter table articles add column if not exists access varchar;
