-- Account settings: sessions a user can see and end, and email changes waiting for their link.
-- sessions.id names a session in the settings page's forms (never the token hash, which is a secret's
-- digest); user_agent and client_address are what the browser and the socket said at login; persistent:
-- "Keep me logged in" was checked (a cookie with Max-Age, no idle expiry; the absolute expiry holds for both).
-- Sessions started before this migration keep the idle expiry they had. insert_session always gives an id.
ALTER TABLE sessions ADD COLUMN id TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN persistent INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET id = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX sessions_id ON sessions (id);

-- A change of email waits here until the link sent to the new address is used: like sessions, the link
-- carries a random token and this table its SHA-256. old_email is the address it changes from, so a link
-- is void once the address has changed otherwise. Only the latest request of a user is kept.
CREATE TABLE email_changes (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    old_email TEXT NOT NULL,
    new_email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX email_changes_user_id ON email_changes (user_id);
