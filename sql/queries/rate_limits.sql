-- name: insert_rate_limit_hit
-- Counts one event in a bucket; returns its id.
INSERT INTO rate_limit_hits (bucket, hit_at) VALUES (:bucket, :now)
RETURNING id;

-- name: count_rate_limit_hits
-- Returns how many events a bucket holds since a time, and the oldest of them.
SELECT count(*) AS hits, min(hit_at) AS oldest FROM rate_limit_hits
WHERE bucket = :bucket AND hit_at > :since;

-- name: delete_rate_limit_hit
-- Takes back one event (a refused attempt, or a login that succeeded).
DELETE FROM rate_limit_hits WHERE id = :id;

-- name: delete_rate_limit_hits
-- Clears a bucket (a successful login clears its account+client bucket).
DELETE FROM rate_limit_hits WHERE bucket = :bucket;

-- name: delete_old_rate_limit_hits
-- Removes up to :batch_size events older than the longest window (db.execute returns how many).
DELETE FROM rate_limit_hits WHERE id IN (
    SELECT id FROM rate_limit_hits WHERE hit_at <= :before LIMIT :batch_size
);
