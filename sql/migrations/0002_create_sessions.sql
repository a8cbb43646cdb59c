-- Server-side sessions: the cookie holds a random token, this table its SHA-256.
-- Deleting a row logs that browser out, wherever the cookie is replayed from.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);

CREATE INDEX sessions_user_id ON sessions (user_id);
