-- Users (owned by the user service). Emails are unique regardless of case.
CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL,
  name          text NOT NULL,
  -- scrypt$N$r$p$salt$hash (base64url), so parameters can be raised without breaking old hashes.
  password_hash text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));
