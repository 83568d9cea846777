-- The order service's stock gate (services/order/stock-gate.ts) records, with every "sold out" marker,
-- the Idempotency-Keys of the orders holding the product, so their retries still reach the database and replay
-- their stored response. That look-up goes by product: without this index it would scan every order line.
CREATE INDEX order_items_by_product ON order_items (product_id);
