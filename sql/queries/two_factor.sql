-- name: get_two_factor
-- Returns a user's TOTP row (secret encrypted, created_at, enabled_at: NULL while being turned on, last_step), if any.
SELECT secret, created_at, enabled_at, last_step FROM two_factor WHERE user_id = :user_id;

-- name: count_recovery_codes
-- Returns how many unused recovery codes a user has.
SELECT count(*) FROM recovery_codes WHERE user_id = :user_id;

-- name: delete_two_factor_setup
-- Forgets a user's TOTP setup that is not turned on yet (a new "Turn on", or "Cancel").
DELETE FROM two_factor WHERE user_id = :user_id AND enabled_at IS NULL;

-- name: insert_two_factor_setup
-- Stores a new secret (encrypted) waiting for its first code; fails on the primary key if TOTP is on already.
INSERT INTO two_factor (user_id, secret, created_at, enabled_at, last_step) VALUES (:user_id, :secret, :now, NULL, 0);

-- name: enable_two_factor
-- Turns TOTP on with the secret that was shown, recording the step of its first code (db.execute: 0 if it is
-- no longer waiting, or the secret was replaced meanwhile).
UPDATE two_factor SET enabled_at = :now, last_step = :step
WHERE user_id = :user_id AND enabled_at IS NULL AND secret = :secret;

-- name: accept_two_factor_step
-- Records a code of time step :step as used; db.execute returns 0 if one of that step or a later one was
-- accepted before (a replay), so of two posts of one code only one passes.
UPDATE two_factor SET last_step = :step WHERE user_id = :user_id AND enabled_at IS NOT NULL AND last_step < :step;

-- name: update_two_factor_secret
-- Stores the secret encrypted again (under the present SECRET_KEY, after it was read with an older one).
UPDATE two_factor SET secret = :secret WHERE user_id = :user_id AND secret = :old_secret;

-- name: delete_two_factor
-- Turns TOTP off: the secret goes (its recovery codes are deleted with delete_recovery_codes).
DELETE FROM two_factor WHERE user_id = :user_id;

-- name: delete_recovery_codes
-- Forgets every recovery code of a user (new ones replace them, or TOTP is turned off).
DELETE FROM recovery_codes WHERE user_id = :user_id;

-- name: insert_recovery_code
-- Stores one recovery code's hash.
INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (:user_id, :code_hash, :now);

-- name: consume_recovery_code
-- Uses up a recovery code: deletes it and returns its hash (no row: no such unused code).
DELETE FROM recovery_codes WHERE user_id = :user_id AND code_hash = :code_hash RETURNING code_hash;

-- name: insert_pending_login
-- Stores a login waiting for its code under the hash of the token the browser holds.
INSERT INTO pending_logins (token_hash, user_id, next_url, persistent, created_at, expires_at)
VALUES (:token_hash, :user_id, :next_url, :persistent, :now, :expires_at);

-- name: get_pending_login
-- Returns a login waiting for its code (live or expired: expires_at says) with its user's id, name, email, confirmed_at.
SELECT pending_logins.next_url, pending_logins.persistent, pending_logins.expires_at,
       users.id, users.name, users.email, users.confirmed_at
FROM pending_logins JOIN users ON users.id = pending_logins.user_id
WHERE pending_logins.token_hash = :token_hash;

-- name: consume_pending_login
-- Ends a live login waiting for its code (single use); returns its user_id (no row: used, expired or unknown).
DELETE FROM pending_logins WHERE token_hash = :token_hash AND expires_at > :now RETURNING user_id;

-- name: delete_pending_login
-- Forgets a login waiting for its code (a new login from the same browser replaces it).
DELETE FROM pending_logins WHERE token_hash = :token_hash;

-- name: delete_expired_pending_logins
-- Removes up to :batch_size expired logins waiting for a code (db.execute returns how many).
DELETE FROM pending_logins WHERE token_hash IN (
    SELECT token_hash FROM pending_logins WHERE expires_at <= :now LIMIT :batch_size
);
