-- One row per counted event (a failed login, a signup) in a named bucket, such
-- as "login:client:203.0.113.7". Kept in the database so every app instance sees them.
CREATE TABLE rate_limit_hits (
    id INTEGER PRIMARY KEY,
    bucket TEXT NOT NULL,
    hit_at BIGINT NOT NULL
);

CREATE INDEX rate_limit_hits_bucket ON rate_limit_hits (bucket, hit_at);
