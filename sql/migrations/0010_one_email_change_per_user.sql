-- Only the latest request of a user for a change of email is kept, and now the database says so: a unique index
-- on email_changes.user_id, which insert_email_change's upsert replaces a request by. The delete-then-insert it
-- replaces left a row per request of a burst on PostgreSQL (each transaction deleting only what was committed),
-- so several links to several addresses worked at once. Numbered 0010: 0009 is taken by the passkeys branch.
DELETE FROM email_changes WHERE EXISTS (
    SELECT 1 FROM email_changes AS newer
    WHERE newer.user_id = email_changes.user_id
      AND (newer.created_at > email_changes.created_at
           OR (newer.created_at = email_changes.created_at AND newer.token_hash > email_changes.token_hash))
);
DROP INDEX email_changes_user_id;
CREATE UNIQUE INDEX email_changes_user_id ON email_changes (user_id);
