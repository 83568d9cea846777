-- The payment service's tables (schema payment_service): payments and the sandbox provider's ledger, as
-- the shared migrations 003 and 004 left them in the public schema (a database from before the
-- per-service schemas is moved here by services/platform/ownership-upgrade.ts).

-- Exactly one payment per order: the row is created PENDING before the provider is called, and the
-- provider is called with the row's idempotency key, so a redelivered message resumes the same charge.
-- CANCELLED: the order was cancelled before any charge was sent to the provider; never charged.
-- REFUNDED:  the charge succeeded and was refunded because the order was cancelled.
CREATE TABLE payments (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id           uuid NOT NULL UNIQUE,
  user_id            uuid NOT NULL,
  amount_cents       bigint NOT NULL CHECK (amount_cents >= 0),
  currency           char(3) NOT NULL,
  status             text NOT NULL,
  provider           text NOT NULL,
  idempotency_key    text NOT NULL UNIQUE,
  provider_reference text,
  decline_reason     text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  -- Set (and committed) just before the provider is first called. A PENDING payment without it has
  -- certainly not been charged, so a cancel can close it; with it, the charge may be in flight.
  charge_started_at  timestamptz,
  -- When the payment worker learned that the order was cancelled (order-cancelled event).
  cancelled_at       timestamptz,
  refund_reference   text,
  CONSTRAINT payments_status_check CHECK (status IN ('PENDING', 'SUCCEEDED', 'DECLINED', 'CANCELLED', 'REFUNDED'))
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

-- What the sandbox provider has refunded, keyed by idempotency key like its charges. A charge can be
-- refunded once (UNIQUE charge_reference), as a real processor refuses to refund more than it took.
CREATE TABLE sandbox_refunds (
  idempotency_key  text PRIMARY KEY,
  reference        text NOT NULL UNIQUE,
  charge_reference text NOT NULL UNIQUE REFERENCES sandbox_charges (reference),
  amount_cents     bigint NOT NULL,
  currency         char(3) NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);
