-- Two-factor authentication (TOTP, RFC 6238) with recovery codes, and logins half done (password right,
-- code still to come). The same SQL on both databases.

-- One row per user who turned TOTP on, or is turning it on (enabled_at NULL: the secret is shown in
-- Settings and waits for its first code). `secret` is the base32 secret encrypted with AES-GCM under a key
-- derived from SECRET_KEY, the user id as associated data (hxauth/two_factor.py): never in clear here.
-- last_step: the last time step a code was accepted in; a code of that step or an earlier one is refused
-- (replay), by an UPDATE whose WHERE says last_step is below the new step, so two posts of one code cannot both pass.
CREATE TABLE two_factor (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    enabled_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0
);

-- Ten single-use codes for when the app is not at hand: only their SHA-256 (with the user id), deleted
-- when used (DELETE ... RETURNING).
CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- A correct password of a user with TOTP on: not a session, only this row, for TWO_FACTOR_LOGIN_SECONDS.
-- The browser holds the random token (in its session cookie, under `pending_login`), the row its SHA-256;
-- next_url and persistent ("Keep me logged in") are what the login form said, used when the code is right.
CREATE TABLE pending_logins (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    next_url TEXT NOT NULL,
    persistent INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX pending_logins_user_id ON pending_logins (user_id);
-- The cleanup's delete of expired ones (hxauth.housekeeping).
CREATE INDEX pending_logins_expires_at ON pending_logins (expires_at);
