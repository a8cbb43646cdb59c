-- name: insert_user
-- Returns the new user's id; fails on the unique email index if taken.
INSERT INTO users (name, email, password_hash, created_at)
VALUES (:name, :email, :password_hash, :created_at)
RETURNING id;

-- name: get_user_by_email
-- Returns id, name, email, confirmed_at, password_hash of the user with this (lower-cased) email.
SELECT id, name, email, confirmed_at, password_hash FROM users WHERE lower(email) = :email;

-- name: get_user_by_id
-- Returns id, name, email, confirmed_at of one user.
SELECT id, name, email, confirmed_at FROM users WHERE id = :id;

-- name: update_user_password_hash
-- Replaces the password's hash (a new password, or the same one under newer Argon2 parameters).
UPDATE users SET password_hash = :password_hash WHERE id = :id;

-- name: update_user_confirmed_at
-- Marks the address confirmed, once: a later confirmation keeps the first time.
UPDATE users SET confirmed_at = :now WHERE id = :id AND confirmed_at IS NULL;

-- name: get_user_password_hash
-- Returns the password hash of one user (device cookies are bound to it: hxauth.devices).
SELECT password_hash FROM users WHERE id = :id;
