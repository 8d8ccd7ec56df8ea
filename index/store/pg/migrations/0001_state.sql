-- The state every articlebot process shares: the job queue and headlines, feeds and their
-- articles, the admin library, answers and votes, and the pointer to the live index state.
-- Times the stores compare with a clock (leases, answer retention) are epoch seconds from the
-- client, as in the SQLite files, so every process and test clock agrees on them.

CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    payload BYTEA,
    state TEXT NOT NULL,
    progress TEXT NOT NULL DEFAULT '',
    result TEXT,
    error TEXT,
    worker TEXT,
    lease_until DOUBLE PRECISION,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX jobs_runnable ON jobs (state, id);

CREATE TABLE headlines (
    id BIGSERIAL PRIMARY KEY,
    channel_id BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    posted_at DOUBLE PRECISION
);
CREATE INDEX headlines_unposted ON headlines (id) WHERE posted_at IS NULL;

CREATE TABLE feeds (
    id BIGSERIAL PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    added_at TEXT NOT NULL,
    last_poll TEXT,
    next_poll TEXT,
    errors INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);

CREATE TABLE follows (
    collection TEXT NOT NULL,
    feed_id BIGINT NOT NULL REFERENCES feeds (id),
    channel_id BIGINT,
    added_at TEXT NOT NULL,
    PRIMARY KEY (collection, feed_id)
);

CREATE TABLE feed_articles (
    id TEXT PRIMARY KEY,
    added_at TEXT NOT NULL,
    from_summary BOOLEAN NOT NULL,
    record TEXT NOT NULL,
    signature BYTEA NOT NULL
);

CREATE TABLE article_urls (
    url TEXT PRIMARY KEY,
    article_id TEXT NOT NULL
);
CREATE INDEX article_urls_by_article ON article_urls (article_id);

CREATE TABLE members (
    collection TEXT NOT NULL,
    article_id TEXT NOT NULL,
    feed_id BIGINT,
    added_at TEXT NOT NULL,
    date TEXT,
    PRIMARY KEY (collection, article_id)
);
CREATE INDEX members_by_article ON members (article_id);

CREATE TABLE alternates (
    seq BIGSERIAL PRIMARY KEY,
    collection TEXT NOT NULL,
    article_id TEXT NOT NULL,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    date TEXT,
    source TEXT,
    feed_id BIGINT NOT NULL,
    UNIQUE (collection, article_id, url, feed_id)
);

CREATE TABLE seen (
    collection TEXT NOT NULL,
    url TEXT NOT NULL,
    article_id TEXT,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (collection, url)
);

CREATE TABLE library_articles (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    position BIGSERIAL,
    record TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);

CREATE TABLE answers (
    id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    question TEXT NOT NULL,
    collections TEXT,
    k INTEGER NOT NULL,
    asker TEXT NOT NULL,
    private BOOLEAN NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    matched BOOLEAN NOT NULL,
    filters TEXT
);
CREATE INDEX answers_by_time ON answers (created_at);

CREATE TABLE answer_hits (
    answer_id TEXT NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
    page INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    passage_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT,
    quote TEXT NOT NULL,
    quote_start INTEGER NOT NULL,
    quote_end INTEGER NOT NULL,
    PRIMARY KEY (answer_id, page, rank)
);

CREATE TABLE votes (
    scope TEXT NOT NULL,
    answer_id TEXT NOT NULL,
    member TEXT NOT NULL,
    passage_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    title TEXT NOT NULL,
    quote TEXT NOT NULL,
    value INTEGER NOT NULL CHECK (value IN (-1, 1)),
    voted_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (answer_id, member)
);
CREATE INDEX votes_by_passage ON votes (scope, passage_id);

CREATE TABLE no_match (
    id BIGSERIAL PRIMARY KEY,
    scope TEXT NOT NULL,
    question TEXT NOT NULL,
    asked_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX no_match_by_scope ON no_match (scope, id);

-- One row: the name of the live index state folder (what the CURRENT file holds otherwise).
CREATE TABLE index_pointer (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    published_at DOUBLE PRECISION NOT NULL
);
