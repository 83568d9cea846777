-- Customer cancellation (POST /api/orders/:id/cancel) and the payment side of it: a cancelled
-- order is never charged, or its charge is refunded exactly once.

-- CANCELLED: the order was cancelled before any charge was sent to the provider; never charged.
-- REFUNDED:  the charge succeeded and was refunded because the order was cancelled.
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
  CHECK (status IN ('PENDING', 'SUCCEEDED', 'DECLINED', 'CANCELLED', 'REFUNDED'));

-- Set (and committed) just before the provider is first called. A PENDING payment without it has
-- certainly not been charged, so a cancel can close it; with it, the charge may be in flight.
ALTER TABLE payments ADD COLUMN charge_started_at timestamptz;
-- When the payment worker learned that the order was cancelled (order-cancelled event).
ALTER TABLE payments ADD COLUMN cancelled_at timestamptz;
ALTER TABLE payments ADD COLUMN refund_reference text;

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
