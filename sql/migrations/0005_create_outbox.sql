-- The outbox: every message is written here in the same transaction as the change it is about
-- (a reset token, a new account), and hxauth.mail's sender delivers it, retrying while SMTP is down.
-- send_after is when the next attempt may start: the backoff after a failure, or the lease of the
-- sender that claimed it (if that sender dies, the message is due again when the lease ends).
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    send_after BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at BIGINT,
    failed_at BIGINT
);

CREATE INDEX outbox_due ON outbox (send_after) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_user_id ON outbox (user_id);
CREATE INDEX outbox_created_at ON outbox (created_at);
