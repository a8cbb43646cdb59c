-- Users: the seed's table (id, name, email, password) plus created_at.
-- Emails are unique whatever their case; the index is the duplicate check.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));
