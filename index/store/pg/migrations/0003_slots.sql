-- Starts spaced in time across every process sharing the database (the Discord shards'
-- IDENTIFYs): the time of each key's last start, by the server's clock.
CREATE TABLE slots (
    key TEXT PRIMARY KEY,
    taken_at DOUBLE PRECISION NOT NULL
);
