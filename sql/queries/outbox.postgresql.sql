-- PostgreSQL spellings of queries in outbox.sql (same names, same parameters, same columns).

-- name: claim_outbox_messages
-- Takes up to :batch_size due messages for this sender until :lease_until; rows another instance is
-- claiming are skipped, not waited for, so several instances never send one message twice.
UPDATE outbox SET send_after = :lease_until, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM outbox
    WHERE sent_at IS NULL AND failed_at IS NULL AND send_after <= :now
    ORDER BY send_after LIMIT :batch_size
    FOR UPDATE SKIP LOCKED
)
RETURNING id, recipient, subject, text_body, html_body, message_id, created_at, attempts;
