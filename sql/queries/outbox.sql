-- name: insert_outbox_message
-- Queues one message (inside the transaction of the change it is about); returns its id.
INSERT INTO outbox (user_id, recipient, subject, text_body, html_body, message_id, created_at, send_after)
VALUES (:user_id, :recipient, :subject, :text_body, :html_body, :message_id, :now, :now)
RETURNING id;

-- name: any_due_outbox_message
-- Returns whether a message is due: a read, so an idle sender never takes SQLite's write lock.
SELECT EXISTS (SELECT 1 FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL AND send_after <= :now);

-- name: claim_outbox_messages
-- Takes up to :batch_size due messages for this sender until :lease_until, in one statement (SQLite has
-- one writer, so two senders never take the same row; PostgreSQL's spelling is in outbox.postgresql.sql).
UPDATE outbox SET send_after = :lease_until, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM outbox
    WHERE sent_at IS NULL AND failed_at IS NULL AND send_after <= :now
    ORDER BY send_after LIMIT :batch_size
)
RETURNING id, recipient, subject, text_body, html_body, message_id, created_at, attempts;

-- name: mark_outbox_message_sent
-- Records the delivery and drops the bodies: they may carry links that work until they expire.
UPDATE outbox SET sent_at = :now, text_body = '', html_body = '', last_error = NULL WHERE id = :id;

-- name: postpone_outbox_message
-- After a failed attempt: try again from :send_after.
UPDATE outbox SET send_after = :send_after, last_error = :error WHERE id = :id;

-- name: give_up_outbox_message
-- After MAIL_RETRY_SECONDS of failures: no more attempts (the log says so).
UPDATE outbox SET failed_at = :now, last_error = :error WHERE id = :id;

-- name: list_outbox_messages
-- Returns the newest :limit messages (id, recipient, subject, created_at, sent_at, failed_at), for /dev/mailbox.
SELECT id, recipient, subject, created_at, sent_at, failed_at FROM outbox ORDER BY id DESC LIMIT :limit;

-- name: get_outbox_message
-- Returns one message with its bodies, for /dev/mailbox.
SELECT id, recipient, subject, text_body, html_body, message_id, created_at, sent_at, failed_at, attempts, last_error
FROM outbox WHERE id = :id;

-- name: delete_old_outbox_messages
-- Removes up to :batch_size messages created before :before that are sent or given up (db.execute returns how many).
DELETE FROM outbox WHERE id IN (
    SELECT id FROM outbox
    WHERE created_at < :before AND (sent_at IS NOT NULL OR failed_at IS NOT NULL)
    LIMIT :batch_size
);
