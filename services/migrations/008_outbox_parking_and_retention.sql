-- Day-two growth of the order service's tables (see docs/OPS.md, "Outbox and idempotency-key upkeep").
--
-- Parked outbox rows. A row SQS keeps refusing for what it is (e.g. a payload over SQS's size limit)
-- would stay at the head of its relay forever, retried on every poll, taking a place in every batch.
-- After OUTBOX_MAX_ATTEMPTS refusals (services/order/outbox.ts) the relay parks it: parked_at is set,
-- the relay skips it from then on, and it is counted in the OutboxParked metric, which an alarm
-- watches. An operator inspects it (last_error says why) and re-queues or deletes it.
ALTER TABLE outbox ADD COLUMN parked_at timestamptz;
ALTER TABLE outbox ADD COLUMN last_error text;
-- Counting a topic's parked rows (every minute, on every worker instance) reads only those rows.
CREATE INDEX outbox_parked ON outbox (topic, id) WHERE parked_at IS NOT NULL;

-- Retention. Sent outbox rows and used Idempotency-Keys are deleted once older than their retention
-- (24 hours each, services/order/outbox.ts and data/idempotency-keys.ts), in bounded batches, by the
-- worker fleet every minute. These indexes find the oldest rows without reading the rest:
-- sent rows by (topic, sent_at); only sent rows are in the index, and the relay's UPDATE that sets
-- sent_at is not a HOT update anyway (outbox_pending's predicate reads sent_at).
CREATE INDEX outbox_sent ON outbox (topic, sent_at) WHERE sent_at IS NOT NULL;
-- Keys are written on the order path, in created_at order: a BRIN index costs that path next to
-- nothing (one summary per 128 pages, not one entry per row) and still narrows the search for old
-- keys to the oldest pages.
CREATE INDEX order_idempotency_keys_created ON order_idempotency_keys USING brin (created_at) WITH (autosummarize = on);
