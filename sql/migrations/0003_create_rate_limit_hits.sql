-- One row per counted event (a failed login, a signup) in a named bucket, such
-- as "login:<first 32 hex digits of a SHA-256>": emails and client addresses are
-- hashed into the name, never stored. Kept in the database so every app instance sees them.
CREATE TABLE rate_limit_hits (
    id INTEGER PRIMARY KEY,
    bucket TEXT NOT NULL,
    hit_at BIGINT NOT NULL
);

CREATE INDEX rate_limit_hits_bucket ON rate_limit_hits (bucket, hit_at);
