-- Passkeys (WebAuthn): the credentials a user registered, and the challenges of ceremonies under way.
-- Binary values (credential ids, public keys) are kept as base64url text, as WebAuthn's JSON carries them:
-- one spelling on SQLite and PostgreSQL, and the credential id is what the browser sends back.

-- The WebAuthn user handle: random bytes (base64url) an authenticator stores with a passkey and returns
-- at login; never the email or the id. Made when the user first adds a passkey.
ALTER TABLE users ADD COLUMN webauthn_handle TEXT;
CREATE UNIQUE INDEX users_webauthn_handle ON users (webauthn_handle);

-- sign_count: the authenticator's counter at its last use (a counter that does not grow is a clone);
-- transports: what the browser said (comma-separated), handed back as a hint; name: the user's own.
CREATE TABLE passkeys (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    sign_count BIGINT NOT NULL,
    transports TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE UNIQUE INDEX passkeys_credential_id ON passkeys (credential_id);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- A challenge, stored until it is used (the DELETE ... RETURNING that checks it) or expires: one per browser
-- (browser_hash: a SHA-256 of the browser's session token) and purpose; user_id for a registration or a confirmation (a passkey in place of the password).
CREATE TABLE passkey_challenges (
    browser_hash TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('register', 'login', 'confirm')),
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    challenge TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (browser_hash, purpose)
);

-- The cleanup's delete of expired challenges (hxauth.housekeeping).
CREATE INDEX passkey_challenges_expires_at ON passkey_challenges (expires_at);
