-- name: get_user_webauthn_handle
-- Returns the user's WebAuthn user handle (NULL until their first passkey).
SELECT webauthn_handle FROM users WHERE id = :user_id;

-- name: set_user_webauthn_handle
-- Gives the user a WebAuthn user handle, unless they have one already.
UPDATE users SET webauthn_handle = :handle WHERE id = :user_id AND webauthn_handle IS NULL;

-- name: save_passkey_challenge
-- Stores a new challenge for this browser and purpose, replacing the one before it (one ceremony at a time).
INSERT INTO passkey_challenges (browser_hash, purpose, user_id, challenge, created_at, expires_at)
VALUES (:browser_hash, :purpose, :user_id, :challenge, :now, :expires_at)
ON CONFLICT (browser_hash, purpose)
DO UPDATE SET user_id = excluded.user_id, challenge = excluded.challenge, created_at = excluded.created_at, expires_at = excluded.expires_at;

-- name: consume_login_challenge
-- Deletes this browser's live login challenge; returns the challenge (no row: none, used or expired).
DELETE FROM passkey_challenges
WHERE browser_hash = :browser_hash AND purpose = 'login' AND expires_at > :now
RETURNING challenge;

-- name: consume_user_challenge
-- Deletes this browser's live challenge for :purpose ('register' or 'confirm') and this user; returns the challenge.
DELETE FROM passkey_challenges
WHERE browser_hash = :browser_hash AND purpose = :purpose AND user_id = :user_id AND expires_at > :now
RETURNING challenge;

-- name: delete_expired_passkey_challenges
-- Removes up to :batch_size expired challenges (db.execute returns how many).
DELETE FROM passkey_challenges WHERE (browser_hash, purpose) IN (
    SELECT browser_hash, purpose FROM passkey_challenges WHERE expires_at <= :now LIMIT :batch_size
);

-- name: insert_passkey
-- Stores a passkey the user just registered; returns its id.
INSERT INTO passkeys (user_id, credential_id, public_key, sign_count, transports, name, created_at)
VALUES (:user_id, :credential_id, :public_key, :sign_count, :transports, :name, :now)
RETURNING id;

-- name: list_user_passkeys
-- Returns every passkey of a user (id, credential_id, transports, name, created_at, last_used_at), oldest first.
SELECT id, credential_id, transports, name, created_at, last_used_at FROM passkeys WHERE user_id = :user_id ORDER BY created_at, id;

-- name: get_passkey_by_credential_id
-- Returns the passkey with this credential id and its user (id, name, email, confirmed_at, webauthn_handle).
SELECT passkeys.id AS passkey_id, passkeys.public_key, passkeys.sign_count, passkeys.name AS passkey_name,
       users.id, users.name, users.email, users.confirmed_at, users.webauthn_handle
FROM passkeys JOIN users ON users.id = passkeys.user_id
WHERE passkeys.credential_id = :credential_id;

-- name: update_passkey_use
-- Records a login with the passkey: its new sign count and when; only if the count is still the one checked.
UPDATE passkeys SET sign_count = :sign_count, last_used_at = :now WHERE id = :id AND sign_count = :old_sign_count;

-- name: rename_passkey
-- Renames one of the user's passkeys (db.execute returns 0 if it is not theirs or gone).
UPDATE passkeys SET name = :name WHERE id = :id AND user_id = :user_id;

-- name: delete_passkey
-- Removes one of the user's passkeys; returns its name (no row: not theirs, or gone).
DELETE FROM passkeys WHERE id = :id AND user_id = :user_id RETURNING name;
