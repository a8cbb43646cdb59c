-- name: insert_email_token
-- Stores a new link's token hash for a user, a purpose and the address it is sent to.
INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at)
VALUES (:token_hash, :user_id, :purpose, :email, :now, :expires_at);

-- name: get_email_token_user
-- Returns the user (id, name, email, confirmed_at) of a live token for this purpose, sent to their present address.
SELECT users.id, users.name, users.email, users.confirmed_at
FROM email_tokens JOIN users ON users.id = email_tokens.user_id
WHERE email_tokens.token_hash = :token_hash
  AND email_tokens.purpose = :purpose
  AND email_tokens.expires_at > :now
  AND lower(users.email) = email_tokens.email;

-- name: consume_email_token
-- Deletes a live token for this purpose, sent to the user's present address; returns its user_id (no row: none such).
DELETE FROM email_tokens
WHERE token_hash = :token_hash
  AND purpose = :purpose
  AND expires_at > :now
  AND email = (SELECT lower(users.email) FROM users WHERE users.id = email_tokens.user_id)
RETURNING user_id;

-- name: delete_user_email_tokens
-- Ends every token of a user for a purpose (a password reset ends the other reset links).
DELETE FROM email_tokens WHERE user_id = :user_id AND purpose = :purpose;

-- name: delete_expired_email_tokens
-- Removes up to :batch_size expired tokens (db.execute returns how many).
DELETE FROM email_tokens WHERE token_hash IN (
    SELECT token_hash FROM email_tokens WHERE expires_at <= :now LIMIT :batch_size
);
