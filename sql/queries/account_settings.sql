-- name: update_user_name
-- Renames a user.
UPDATE users SET name = :name WHERE id = :id;

-- name: insert_email_change
-- Stores a pending change of email under the hash of the token its link carries, in place of the user's earlier
-- one (the unique index on user_id: of simultaneous requests, the last to commit is the one kept).
INSERT INTO email_changes (token_hash, user_id, old_email, new_email, created_at, expires_at)
VALUES (:token_hash, :user_id, :old_email, :new_email, :now, :expires_at)
ON CONFLICT (user_id) DO UPDATE SET
    token_hash = excluded.token_hash, old_email = excluded.old_email, new_email = excluded.new_email,
    created_at = excluded.created_at, expires_at = excluded.expires_at;

-- name: any_email_change_with_token
-- Returns whether a live pending change has this token hash, whoever's it is (which route a link is for).
SELECT EXISTS (SELECT 1 FROM email_changes WHERE token_hash = :token_hash AND expires_at > :now);

-- name: get_email_change
-- Returns old_email and new_email of a user's live pending change with this token hash, without using it.
SELECT old_email, new_email FROM email_changes
WHERE token_hash = :token_hash AND user_id = :user_id AND expires_at > :now;

-- name: consume_email_change
-- Deletes a user's live pending change with this token hash; returns its old_email and new_email (no row: none such).
DELETE FROM email_changes
WHERE token_hash = :token_hash AND user_id = :user_id AND expires_at > :now
RETURNING old_email, new_email;

-- name: update_user_email
-- Moves a user from old_email to new_email (db.execute returns 0 if the address is no longer old_email);
-- fails on the unique email index if another account has new_email.
UPDATE users SET email = :new_email WHERE id = :id AND lower(email) = :old_email;

-- name: delete_user
-- Deletes a user; their sessions, links and unsent messages go with them (ON DELETE CASCADE).
DELETE FROM users WHERE id = :id;
