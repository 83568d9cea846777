-- The order service's tables (schema order_service): the catalog, orders, Idempotency-Keys and the
-- order service's outbox, as the shared migrations 002 and 005-012 left them in the public schema
-- (a database from before the per-service schemas is moved here by services/platform/ownership-upgrade.ts).
-- Stock lives next to orders so that reserving it and creating the order is one transaction.

CREATE TABLE products (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  sku         text NOT NULL UNIQUE,
  name        text NOT NULL,
  price_cents integer NOT NULL CHECK (price_cents >= 0),
  currency    char(3) NOT NULL DEFAULT 'USD',
  -- The CHECK is the last line of defence: a reservation that would oversell fails instead.
  stock       integer NOT NULL CHECK (stock >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- No foreign key to users: the user service owns that table and may live elsewhere.
CREATE TABLE orders (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL,
  status      text NOT NULL CHECK (status IN ('PENDING', 'PAID', 'PAYMENT_FAILED', 'CANCELLED')),
  total_cents bigint NOT NULL CHECK (total_cents >= 0),
  currency    char(3) NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- "My orders, newest first" with a keyset cursor on (created_at, id).
CREATE INDEX orders_by_user_newest ON orders (user_id, created_at DESC, id DESC);

CREATE TABLE order_items (
  order_id         uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  -- The line's position in the request, so the order reads back in the order it was placed.
  line             smallint NOT NULL,
  product_id       uuid NOT NULL REFERENCES products (id),
  quantity         integer NOT NULL CHECK (quantity > 0),
  unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (order_id, product_id)
);

-- One row per (user, Idempotency-Key), inserted first in the order's transaction. A concurrent
-- request with the same key blocks on the primary key until that transaction ends, then replays.
-- order_id and response are filled before the same transaction commits, so a committed row has both.
CREATE TABLE order_idempotency_keys (
  user_id      uuid NOT NULL,
  key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  request_hash text NOT NULL,
  order_id     uuid REFERENCES orders (id) ON DELETE CASCADE,
  response     json,  -- json, not jsonb: a replay returns the stored text with its key order
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);

-- Transactional outbox of the order service's events (topic order-placed; order-cancelled events travel
-- on it too), published to SQS by the order worker's relay (services/platform/messaging/outbox.ts).
CREATE TABLE outbox (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic      text NOT NULL,
  payload    jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at    timestamptz,
  attempts   integer NOT NULL DEFAULT 0,
  -- Set when the relay parks the row, with the reason in last_error (see "Parked outbox rows" below).
  parked_at  timestamptz,
  last_error text
);
CREATE INDEX outbox_pending ON outbox (topic, id) WHERE sent_at IS NULL;

-- Lets a single statement undo itself. Placing an order is one data-modifying statement (see
-- services/order/data/orders.ts): when it finds it must not commit - a line out of stock, or the
-- Idempotency-Key taken by a concurrent request - it calls surge_abort, the error rolls the whole
-- statement back, and the caller reads why. One round trip instead of BEGIN ... COMMIT.
CREATE FUNCTION surge_abort(reason text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'surge_abort: %', reason USING ERRCODE = 'SA001';
END
$$;

-- Orders are placed in batches (group commit). Under load the order service collects the orders that
-- arrive while earlier ones are being written and places them with one call of surge_place_orders: one
-- round trip, one transaction, one commit (one WAL flush) for the batch instead of one per order.
--
-- Each order is still decided on its own, in the batch's order, exactly as if it were placed alone:
-- every line names an existing product with enough stock left after the orders before it, the lines
-- share one currency, and the (user, Idempotency-Key) is unused. A refused order leaves nothing behind,
-- not even its key, and gets a NULL response: the caller finds out why, as for a single order.
--
-- All the batch's products are locked in one statement, in id order, before anything is decided, so
-- two batches cannot deadlock each other and stock is read at its newest version (never oversold; the
-- CHECK (stock >= 0) stays the last line of defence). Idempotency keys are claimed in one fixed order,
-- (user_id, key), in every batch: a key a concurrent batch has inserted but not committed makes
-- ON CONFLICT wait for that batch, and claimed in batch order two batches holding each other's next key
-- deadlocked (40P01 in 11 of 30 runs of two opposite 64-order calls on PostgreSQL 15). Claimed in a fixed
-- order, a batch only ever waits for a key after every smaller key it claims, so no cycle of waits can
-- form. A key a concurrent batch claims first makes ON CONFLICT wait for that batch and then skip the
-- order (its stock is not taken: at worst a later order of this batch was refused for stock that stays
-- on the shelf, and the caller's retry of a refusal finds it). The order service still runs a batch that
-- fails with 40P01 again order by order (services/order/data/orders.ts), for any deadlock this function
-- does not cause itself.
CREATE FUNCTION surge_place_orders(
  user_ids uuid[],          -- per order
  idempotency_keys text[],  -- per order
  request_hashes text[],    -- per order
  line_counts int[],        -- per order: how many of the lines below are its, in order
  product_ids uuid[],       -- per line
  quantities int[],         -- per line
  event_topic text
) RETURNS TABLE (batch_position int, order_response json)
LANGUAGE plpgsql
-- Every table access below is by key. PL/pgSQL plans each statement once per connection and may keep
-- a generic plan made while a table was nearly empty: a sequential scan then, a cost that grows with
-- the table forever after (measured: the key check went from 0.3 to 30 ms per batch in 25 s of load).
-- With sequential scans priced out, the plans use the primary keys whatever the table's size was.
SET enable_seqscan = off
AS $$
DECLARE
  locked_ids uuid[];
  stocks int[];
  prices int[];
  currencies text[];
  used int[];
  -- Per order; order_ids[n] stays NULL when order n is refused.
  order_ids uuid[] := '{}';
  totals bigint[] := '{}';
  order_currencies text[] := '{}';
  created timestamptz[] := '{}';
  -- Per line.
  line_orders int[] := '{}';
  line_numbers int[] := '{}';
  line_prices int[] := '{}';
  first_line int := 1;
  last_line int;
  k int;
  ok boolean;
  total bigint;
  order_currency text;
BEGIN
  SELECT array_agg(p.id), array_agg(p.stock), array_agg(p.price_cents), array_agg(p.currency::text)
    INTO locked_ids, stocks, prices, currencies
    FROM (SELECT id, stock, price_cents, currency FROM products WHERE id = ANY (product_ids) ORDER BY id FOR UPDATE) p;

  SELECT coalesce(array_agg(u.n::int), '{}')
    INTO used
    FROM unnest(user_ids, idempotency_keys) WITH ORDINALITY AS u(user_id, key, n)
   WHERE EXISTS (SELECT 1 FROM order_idempotency_keys i WHERE i.user_id = u.user_id AND i.key = u.key);

  FOR n IN 1 .. coalesce(cardinality(user_ids), 0) LOOP
    last_line := first_line + line_counts[n] - 1;
    ok := NOT (n = ANY (used));
    total := 0;
    order_currency := NULL;
    FOR l IN first_line .. last_line LOOP
      EXIT WHEN NOT ok;
      k := array_position(locked_ids, product_ids[l]);
      ok := k IS NOT NULL AND stocks[k] >= quantities[l] AND (order_currency IS NULL OR order_currency = currencies[k]);
      IF ok THEN
        order_currency := currencies[k];
        total := total + prices[k]::bigint * quantities[l];
      END IF;
    END LOOP;
    FOR l IN first_line .. last_line LOOP
      line_orders[l] := n;
      line_numbers[l] := l - first_line + 1;
      IF ok THEN
        k := array_position(locked_ids, product_ids[l]);
        stocks[k] := stocks[k] - quantities[l];
        line_prices[l] := prices[k];
      END IF;
    END LOOP;
    IF ok THEN
      order_ids[n] := gen_random_uuid();
      totals[n] := total;
      order_currencies[n] := order_currency;
      created[n] := clock_timestamp();
    END IF;
    first_line := last_line + 1;
  END LOOP;

  RETURN QUERY
  WITH accepted AS (
    SELECT o.n::int AS n, o.order_id, user_ids[o.n] AS user_id, totals[o.n] AS total_cents,
           order_currencies[o.n] AS currency, created[o.n] AS created_at,
           to_char(created[o.n] AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_text
      FROM unnest(order_ids) WITH ORDINALITY AS o(order_id, n)
     WHERE o.order_id IS NOT NULL
  ), lines AS (
    SELECT a.n, a.order_id, l.line, l.product_id, l.quantity, l.unit_price_cents
      FROM unnest(line_orders, line_numbers, product_ids, quantities, line_prices)
             AS l(n, line, product_id, quantity, unit_price_cents)
      JOIN accepted a ON a.n = l.n
  ), order_lines AS (
    SELECT n, json_agg(json_build_object('productId', product_id, 'quantity', quantity, 'unitPriceCents', unit_price_cents)
                       ORDER BY line) AS items
      FROM lines GROUP BY n
  ), bodies AS (
    SELECT a.*, ol.items,
           json_build_object('id', a.order_id, 'status', 'PENDING', 'totalCents', a.total_cents, 'currency', a.currency,
                             'items', ol.items, 'createdAt', a.created_text) AS body
      FROM accepted a JOIN order_lines ol ON ol.n = a.n
  ), claimed AS (
    INSERT INTO order_idempotency_keys (user_id, key, request_hash, order_id, response)
    SELECT b.user_id, idempotency_keys[b.n], request_hashes[b.n], b.order_id, b.body FROM bodies b
     ORDER BY b.user_id, idempotency_keys[b.n]
    ON CONFLICT (user_id, key) DO NOTHING
    RETURNING order_id
  ), placed AS (
    SELECT b.* FROM bodies b JOIN claimed c ON c.order_id = b.order_id
  ), orders_written AS (
    INSERT INTO orders (id, user_id, status, total_cents, currency, created_at, updated_at)
    SELECT order_id, user_id, 'PENDING', total_cents, currency, created_at, created_at FROM placed
  ), items_written AS (
    INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_cents)
    SELECT l.order_id, l.line, l.product_id, l.quantity, l.unit_price_cents FROM lines l JOIN claimed c ON c.order_id = l.order_id
  ), reserved AS (
    UPDATE products p SET stock = p.stock - r.quantity, updated_at = now()
      FROM (SELECT l.product_id, sum(l.quantity) AS quantity
              FROM lines l JOIN claimed c ON c.order_id = l.order_id GROUP BY l.product_id) r
     WHERE p.id = r.product_id
  ), events AS (
    INSERT INTO outbox (topic, payload)
    SELECT event_topic, json_build_object('type', event_topic, 'orderId', order_id, 'userId', user_id, 'totalCents', total_cents,
                                          'currency', currency, 'items', items, 'occurredAt', created_text)
      FROM placed
  )
  SELECT s.n::int, p.body
    FROM generate_subscripts(user_ids, 1) AS s(n)
    LEFT JOIN placed p ON p.n = s.n
   ORDER BY s.n;
END
$$;

-- Parked outbox rows (parked_at, last_error). A row SQS keeps refusing for what it is (e.g. a payload over SQS's size limit)
-- would stay at the head of its relay forever, retried on every poll, taking a place in every batch.
-- After OUTBOX_MAX_ATTEMPTS refusals (services/platform/messaging/outbox.ts) the relay parks it: parked_at is set,
-- the relay skips it from then on, and it is counted in the OutboxParked metric, which an alarm
-- watches. An operator inspects it (last_error says why) and re-queues or deletes it.
-- Counting a topic's parked rows (every minute, on every worker instance) reads only those rows.
CREATE INDEX outbox_parked ON outbox (topic, id) WHERE parked_at IS NOT NULL;

-- Retention. Sent outbox rows and used Idempotency-Keys are deleted once older than their retention
-- (24 hours each, services/platform/messaging/outbox.ts and services/order/data/idempotency-keys.ts), in bounded batches, by the
-- worker fleet every minute. These indexes find the oldest rows without reading the rest:
-- sent rows by (topic, sent_at); only sent rows are in the index, and the relay's UPDATE that sets
-- sent_at is not a HOT update anyway (outbox_pending's predicate reads sent_at).
CREATE INDEX outbox_sent ON outbox (topic, sent_at) WHERE sent_at IS NOT NULL;
-- Keys are written on the order path, in created_at order: a BRIN index costs that path next to
-- nothing (one summary per 128 pages, not one entry per row) and still narrows the search for old
-- keys to the oldest pages.
CREATE INDEX order_idempotency_keys_created ON order_idempotency_keys USING brin (created_at) WITH (autosummarize = on);

-- Catalog search (`GET /api/products?q=`, open to anonymous traffic) matches `name ILIKE '%q%'`:
-- without an index every search is a scan of the whole catalog. A trigram GIN index answers
-- substring matches of 3 or more characters (the route's minimum). pg_trgm ships with PostgreSQL's
-- contrib and is on Aurora PostgreSQL's supported-extensions list; PGlite loads it from its contrib
-- bundle (services/local/engines.ts). Built in the migration's transaction (not CONCURRENTLY), so
-- product writes wait while it builds: seconds for a catalog of this size.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE INDEX IF NOT EXISTS products_name_trgm ON products USING gin (name public.gin_trgm_ops);

-- The order service's stock gate (services/order/stock-gate.ts) records, with every "sold out" marker,
-- the Idempotency-Keys of the orders holding the product, so their retries still reach the database and replay
-- their stored response. That look-up goes by product: without this index it would scan every order line.
CREATE INDEX order_items_by_product ON order_items (product_id);
