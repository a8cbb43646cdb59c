-- name: insert_session
-- Starts a session for a user, with the browser and address it came from; the token itself is never stored.
INSERT INTO sessions (token_hash, id, user_id, created_at, last_seen_at, user_agent, client_address, persistent)
VALUES (:token_hash, :id, :user_id, :now, :now, :user_agent, :client_address, :persistent);

-- name: get_session_user
-- Returns the user (id, name, email, confirmed_at) and last_seen_at of a live session, in one round trip.
SELECT users.id, users.name, users.email, users.confirmed_at, sessions.last_seen_at
FROM sessions JOIN users ON users.id = sessions.user_id
WHERE sessions.token_hash = :token_hash
  AND sessions.created_at > :created_after
  AND (sessions.persistent = 1 OR sessions.last_seen_at > :seen_after);

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
-- Removes up to :batch_size sessions past their absolute expiry, or idle ones not kept logged in (db.execute returns how many).
DELETE FROM sessions WHERE token_hash IN (
    SELECT token_hash FROM sessions
    WHERE created_at <= :created_before OR (last_seen_at <= :seen_before AND persistent = 0)
    LIMIT :batch_size
);

-- name: list_user_sessions
-- Returns every live session of a user (id, user_agent, client_address, created_at, last_seen_at, persistent,
-- is_current: the one whose token hash is given), this one first, then by last activity.
SELECT id, user_agent, client_address, created_at, last_seen_at, persistent, token_hash = :token_hash AS is_current
FROM sessions
WHERE user_id = :user_id
  AND created_at > :created_after
  AND (persistent = 1 OR last_seen_at > :seen_after)
ORDER BY is_current DESC, last_seen_at DESC, created_at DESC;

-- name: delete_other_session
-- Ends one session of a user by its id, never the asking one (db.execute returns 1, or 0 if none such).
DELETE FROM sessions WHERE id = :id AND user_id = :user_id AND token_hash <> :token_hash;

-- name: delete_other_sessions
-- Ends every session of a user but one, given by its token hash (db.execute returns how many).
DELETE FROM sessions WHERE user_id = :user_id AND token_hash <> :token_hash;
