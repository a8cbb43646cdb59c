-- A rate-limit hit's id is never given to another hit (AUTOINCREMENT): an attempt takes its own hits back by id
-- (rate_limits.forget), and a hit may be gone before that, deleted with its bucket by a successful login
-- (rate_limits.clear). SQLite reuses the largest rowid once its row is deleted, so that late `forget` deleted
-- whichever hit had the id since: a concurrent request's counted hit, which let a burst past its limit (seen
-- with changes of email: tests/test_bursts.py). PostgreSQL's identity column never reuses one (.postgresql.sql).
CREATE TABLE rate_limit_hits_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL,
    hit_at BIGINT NOT NULL
);
INSERT INTO rate_limit_hits_new (id, bucket, hit_at) SELECT id, bucket, hit_at FROM rate_limit_hits;
DROP TABLE rate_limit_hits;
ALTER TABLE rate_limit_hits_new RENAME TO rate_limit_hits;
-- The indexes went with the old table: 0003's and 0004's again.
CREATE INDEX rate_limit_hits_bucket ON rate_limit_hits (bucket, hit_at);
CREATE INDEX rate_limit_hits_hit_at ON rate_limit_hits (hit_at);
