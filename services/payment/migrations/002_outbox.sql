-- The payment service's own transactional outbox (topic payment-result), published to SQS by the
-- payment worker's relay (services/platform/messaging/outbox.ts). Until the per-service schemas the
-- payment worker wrote to the order service's outbox; a database upgraded from then has its
-- payment-result rows moved here (services/platform/ownership-upgrade.ts). Same shape and indexes as
-- order_service.outbox; see services/order/migrations/001_catalog_and_orders.sql for why each exists.
CREATE TABLE outbox (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic      text NOT NULL,
  payload    jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at    timestamptz,
  attempts   integer NOT NULL DEFAULT 0,
  -- Set when the relay parks the row after repeated refusals, with the reason in last_error.
  parked_at  timestamptz,
  last_error text
);
CREATE INDEX outbox_pending ON outbox (topic, id) WHERE sent_at IS NULL;
CREATE INDEX outbox_parked ON outbox (topic, id) WHERE parked_at IS NOT NULL;
CREATE INDEX outbox_sent ON outbox (topic, sent_at) WHERE sent_at IS NOT NULL;
