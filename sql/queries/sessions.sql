-- name: insert_session
-- Starts a session for a user; the token itself is never stored.
INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at)
VALUES (:token_hash, :user_id, :now, :now);

-- name: get_session_user
-- Returns the user (id, name, email, confirmed_at) and last_seen_at of a live session, in one round trip.
SELECT users.id, users.name, users.email, users.confirmed_at, sessions.last_seen_at
FROM sessions JOIN users ON users.id = sessions.user_id
WHERE sessions.token_hash = :token_hash
  AND sessions.created_at > :created_after
  AND sessions.last_seen_at > :seen_after;

-- name: touch_session
-- Records activity, for the idle expiry.
UPDATE sessions SET last_seen_at = :now WHERE token_hash = :token_hash;

-- name: delete_session
-- Ends one session (logout).
DELETE FROM sessions WHERE token_hash = :token_hash;

-- name: delete_user_sessions
-- Ends every session of a user (a password reset: a stolen session dies with the old password).
DELETE FROM sessions WHERE user_id = :user_id;

-- name: delete_expired_sessions
-- Removes up to :batch_size sessions past their idle or absolute expiry (db.execute returns how many).
DELETE FROM sessions WHERE token_hash IN (
    SELECT token_hash FROM sessions
    WHERE created_at <= :created_before OR last_seen_at <= :seen_before
    LIMIT :batch_size
);
