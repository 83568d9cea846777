-- Payments (owned by the payment service) and the sandbox provider's ledger.

-- Exactly one payment per order: the row is created PENDING before the provider is called, and the
-- provider is called with the row's idempotency key, so a redelivered message resumes the same charge.
CREATE TABLE payments (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id           uuid NOT NULL UNIQUE,
  user_id            uuid NOT NULL,
  amount_cents       bigint NOT NULL CHECK (amount_cents >= 0),
  currency           char(3) NOT NULL,
  status             text NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'DECLINED')),
  provider           text NOT NULL,
  idempotency_key    text NOT NULL UNIQUE,
  provider_reference text,
  decline_reason     text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_by_user ON payments (user_id, created_at DESC);

-- What the sandbox provider has charged, keyed like a real provider dedupes: by idempotency key.
-- It stands in for the provider's own records so tests can count real charges across crashes.
CREATE TABLE sandbox_charges (
  idempotency_key text PRIMARY KEY,
  reference       text NOT NULL UNIQUE,
  amount_cents    bigint NOT NULL,
  currency        char(3) NOT NULL,
  outcome         text NOT NULL CHECK (outcome IN ('SUCCEEDED', 'DECLINED')),
  decline_reason  text,
  created_at      timestamptz NOT NULL DEFAULT now()
);
