-- Catalog, orders and the transactional outbox (owned by the order service).
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

-- Transactional outbox shared by the order service (topic order-placed) and the payment worker
-- (topic payment-result). Each relay publishes only its own topic.
CREATE TABLE outbox (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic      text NOT NULL,
  payload    jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at    timestamptz,
  attempts   integer NOT NULL DEFAULT 0
);
CREATE INDEX outbox_pending ON outbox (topic, id) WHERE sent_at IS NULL;
