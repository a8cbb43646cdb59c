-- Email confirmation, and the tokens of links sent by mail (confirm an address, reset a password).
-- confirmed_at: when the user proved the address is theirs (NULL: not yet).
ALTER TABLE users ADD COLUMN confirmed_at BIGINT;

-- Like sessions, the link carries a random token and this table its SHA-256. A token is
-- for one purpose and one user, and only for the address it was sent to: once the user's
-- email differs from `email`, the link is void. Using it deletes the row (single use).
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('confirm', 'reset')),
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Ending every token of a user for a purpose (a reset ends the other reset links).
CREATE INDEX email_tokens_user_id ON email_tokens (user_id, purpose);
-- The cleanup's delete of expired tokens (hxauth.housekeeping).
CREATE INDEX email_tokens_expires_at ON email_tokens (expires_at);
