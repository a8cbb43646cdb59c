-- name: insert_user
-- Returns the new user's id; fails on the unique email index if taken.
INSERT INTO users (name, email, password_hash, created_at)
VALUES (:name, :email, :password_hash, :created_at)
RETURNING id;

-- name: get_user_by_email
-- Returns id, name, email, password_hash of the user with this (lower-cased) email.
SELECT id, name, email, password_hash FROM users WHERE lower(email) = :email;

-- name: update_user_password_hash
-- Replaces a hash made with older Argon2 parameters.
UPDATE users SET password_hash = :password_hash WHERE id = :id;
