-- Watched questions (`/watch`), the posts their matches make, the articles sent to each, the
-- articles the matcher has considered and the index state it last matched: shared by every
-- bot process (adds, removals, delivery) and the worker (matching), on whichever host.
-- Times are epoch seconds from the client, as in `watches.sqlite` and the other stores.
CREATE TABLE watches (
    id BIGSERIAL PRIMARY KEY,
    collection TEXT NOT NULL,
    owner TEXT NOT NULL,
    target TEXT NOT NULL,
    channel_id BIGINT NOT NULL DEFAULT 0,
    question TEXT NOT NULL,
    question_key TEXT NOT NULL,
    model TEXT NOT NULL,
    vector BYTEA NOT NULL,
    outlets TEXT NOT NULL,
    since TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    renewed_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE UNIQUE INDEX watches_same
    ON watches (collection, owner, target, channel_id, question_key);
CREATE INDEX watches_by_owner ON watches (owner, expires_at);
CREATE INDEX watches_by_collection ON watches (collection);

CREATE TABLE watch_posts (
    id BIGSERIAL PRIMARY KEY,
    watch_id BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    posted_at DOUBLE PRECISION
);
CREATE INDEX watch_posts_unposted ON watch_posts (id) WHERE posted_at IS NULL;
CREATE INDEX watch_posts_by_watch ON watch_posts (watch_id, created_at);

CREATE TABLE watch_sent (
    watch_id BIGINT NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (watch_id, article_id)
);

CREATE TABLE watch_seen_articles (
    article_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (article_id, digest)
);

CREATE TABLE watch_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);

CREATE TABLE watch_baseline (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    state TEXT NOT NULL,
    segments TEXT NOT NULL
);
