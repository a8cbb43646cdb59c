-- Indexes for the cleanup's deletes (hxauth.housekeeping): without them each
-- DELETE of expired sessions or old rate-limit hits reads the whole table.
-- sessions: one index per expiry, so `created_at <= ? OR last_seen_at <= ?`
-- is two index ranges (SQLite's MULTI-INDEX OR, PostgreSQL's BitmapOr).
CREATE INDEX sessions_created_at ON sessions (created_at);
CREATE INDEX sessions_last_seen_at ON sessions (last_seen_at);
-- rate_limit_hits (bucket, hit_at) serves the count per bucket, not `hit_at <= ?`.
CREATE INDEX rate_limit_hits_hit_at ON rate_limit_hits (hit_at);
