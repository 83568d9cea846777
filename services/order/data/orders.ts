// Data access for orders and their items.
import { queryPrepared, type Queryable } from '../../platform/db';

export type OrderStatus = 'PENDING' | 'PAID' | 'PAYMENT_FAILED' | 'CANCELLED';

export interface OrderLine {
  productId: string;
  quantity: number;
  unitPriceCents: number;
}

export interface Order {
  id: string;
  userId: string;
  status: OrderStatus;
  totalCents: number;
  currency: string;
  items: OrderLine[];
  createdAt: string;
  updatedAt: string;
}

/** Position in "newest first" order: the created_at in epoch microseconds (exact) and the id. */
export interface OrderPosition {
  createdAtMicros: string;
  id: string;
}

/** A product as a failed order saw it: what the buyer is told when it cannot be reserved. */
export interface ProductForOrder {
  id: string;
  name: string;
  stock: number;
  currency: string;
}

// Placing an order is ONE statement in its own (autocommit) transaction: one round trip. It locks the
// product rows in id order (FOR UPDATE after ORDER BY; two multi-item orders cannot deadlock), checks
// every line against each row's newest version (so stock is never oversold), reserves, writes the
// order, its items, the Idempotency-Key with the response for replays, and the order-placed outbox
// event. If a line is missing or short, the lines mix currencies, or the key is already used (a
// committed request with the key is seen up front; a concurrent one makes ON CONFLICT wait for it),
// surge_abort (migration 005) raises and the whole statement rolls back: nothing is kept, not even
// the key. Response and event are built here so they are written in the same statement.
const PLACE_ORDER_SQL = `
WITH wanted AS (
  SELECT w.product_id, w.quantity, w.line
    FROM unnest($4::uuid[], $5::int[]) WITH ORDINALITY AS w(product_id, quantity, line)
), used AS (
  SELECT 1 FROM order_idempotency_keys WHERE user_id = $1 AND key = $2
), locked AS (
  SELECT p.id, p.stock, p.price_cents, p.currency
    FROM products p
   WHERE p.id IN (SELECT product_id FROM wanted) AND NOT EXISTS (SELECT 1 FROM used)
   ORDER BY p.id
     FOR UPDATE
), verdict AS (
  SELECT count(l.id) = count(*) AND coalesce(bool_and(l.stock >= w.quantity), false)
           AND count(DISTINCT l.currency) = 1 AS ok,
         sum(l.price_cents::bigint * w.quantity)::bigint AS total_cents,
         min(l.currency) AS currency
    FROM wanted w LEFT JOIN locked l ON l.id = w.product_id
), reserved AS (
  UPDATE products p SET stock = p.stock - w.quantity, updated_at = now()
    FROM wanted w, verdict v
   WHERE v.ok AND p.id = w.product_id
  RETURNING p.id
), placed AS (
  INSERT INTO orders (user_id, status, total_cents, currency)
  SELECT $1, 'PENDING', v.total_cents, v.currency FROM verdict v WHERE v.ok
  RETURNING id, user_id, total_cents, currency,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at
), lines AS (
  SELECT o.id AS order_id, w.line, w.product_id, w.quantity, l.price_cents
    FROM placed o, wanted w JOIN locked l ON l.id = w.product_id
), items AS (
  INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_cents)
  SELECT order_id, line, product_id, quantity, price_cents FROM lines
), order_lines AS (
  SELECT json_agg(json_build_object('productId', product_id, 'quantity', quantity, 'unitPriceCents', price_cents)
                  ORDER BY line) AS items
    FROM lines
), response AS (
  SELECT json_build_object('id', o.id, 'status', 'PENDING', 'totalCents', o.total_cents, 'currency', o.currency,
                           'items', ol.items, 'createdAt', o.created_at) AS body
    FROM placed o, order_lines ol
), claim AS (
  INSERT INTO order_idempotency_keys (user_id, key, request_hash, order_id, response)
  SELECT $1, $2, $3, o.id, r.body FROM placed o, response r
  ON CONFLICT (user_id, key) DO NOTHING
  RETURNING order_id
), event AS (
  INSERT INTO outbox (topic, payload)
  SELECT $6, json_build_object('type', $6::text, 'orderId', o.id, 'userId', o.user_id, 'totalCents', o.total_cents,
                               'currency', o.currency, 'items', ol.items, 'occurredAt', o.created_at)
    FROM placed o, order_lines ol
   WHERE EXISTS (SELECT 1 FROM claim)
)
SELECT r.body AS response
  FROM verdict v LEFT JOIN response r ON true
 WHERE CASE WHEN v.ok AND EXISTS (SELECT 1 FROM claim) THEN true ELSE surge_abort('order not placed') END`;

/**
 * PLACE_ORDER_SQL as a prepared statement: pg parses it once per connection and PostgreSQL keeps its
 * generic plan after five runs (EXPLAIN ANALYZE here: planning took about as long as executing). Safe
 * across migrations (its one result column never changes type); a transaction-mode pooler or RDS Proxy
 * in front of Aurora would pin sessions for it - Surge connects to Aurora directly.
 */
const PLACE_ORDER_STATEMENT = 'surge-place-order-v1';

/** SQLSTATE raised by surge_abort. */
const STATEMENT_ABORTED = 'SA001';

/**
 * Places an order in one statement (see PLACE_ORDER_SQL). Returns the stored 202 response, or
 * undefined when nothing was written (the caller finds out why: key used, or which line failed).
 */
export async function placeOrderAtomically<R>(
  db: Queryable,
  order: {
    userId: string;
    idempotencyKey: string;
    requestHash: string;
    items: Array<{ productId: string; quantity: number }>;
    eventTopic: string;
  },
): Promise<R | undefined> {
  try {
    const { rows } = await queryPrepared<{ response: R }>(db, {
      name: PLACE_ORDER_STATEMENT,
      text: PLACE_ORDER_SQL,
      values: [
        order.userId,
        order.idempotencyKey,
        order.requestHash,
        order.items.map((item) => item.productId),
        order.items.map((item) => item.quantity),
        order.eventTopic,
      ],
    });
    return rows[0].response;
  } catch (err) {
    if ((err as { code?: unknown }).code === STATEMENT_ABORTED) return undefined;
    throw err;
  }
}

/** The products of a failed order as they are now (missing ones absent). */
export async function productsForOrder(db: Queryable, productIds: string[]): Promise<ProductForOrder[]> {
  const { rows } = await db.query<ProductForOrder>(
    'SELECT id, name, stock, currency FROM products WHERE id = ANY($1::uuid[])',
    [productIds],
  );
  return rows;
}

interface OrderRow {
  id: string;
  userId: string;
  status: OrderStatus;
  totalCents: string;
  currency: string;
  createdAt: Date;
  updatedAt: Date;
  createdAtMicros: string;
  items: OrderLine[];
}

// Items are aggregated in the same query so a page of orders is one round trip.
const ORDER_SELECT = `
  SELECT o.id, o.user_id AS "userId", o.status, o.total_cents AS "totalCents", o.currency,
         o.created_at AS "createdAt", o.updated_at AS "updatedAt",
         (extract(epoch FROM o.created_at) * 1000000)::bigint::text AS "createdAtMicros",
         (SELECT json_agg(json_build_object('productId', i.product_id, 'quantity', i.quantity,
                                            'unitPriceCents', i.unit_price_cents) ORDER BY i.line)
            FROM order_items i WHERE i.order_id = o.id) AS items
    FROM orders o`;

function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    userId: row.userId,
    status: row.status,
    totalCents: Number(row.totalCents),
    currency: row.currency,
    items: row.items ?? [],
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The order if it exists and belongs to `userId`; other users' orders are indistinguishable from missing. */
export async function findOrderOfUser(db: Queryable, orderId: string, userId: string): Promise<Order | null> {
  const { rows } = await db.query<OrderRow>(`${ORDER_SELECT} WHERE o.id = $1 AND o.user_id = $2`, [orderId, userId]);
  return rows[0] ? toOrder(rows[0]) : null;
}

/** A page of the user's orders, newest first, strictly after `after` when given. */
export async function listOrdersOfUser(
  db: Queryable,
  userId: string,
  page: { limit: number; after?: OrderPosition },
): Promise<Array<{ order: Order; position: OrderPosition }>> {
  const { rows } = await db.query<OrderRow>(
    `${ORDER_SELECT}
      WHERE o.user_id = $1
        AND ($2::bigint IS NULL
             OR (o.created_at, o.id) < (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid))
      ORDER BY o.created_at DESC, o.id DESC
      LIMIT $4`,
    [userId, page.after?.createdAtMicros ?? null, page.after?.id ?? null, page.limit],
  );
  return rows.map((row) => ({ order: toOrder(row), position: { createdAtMicros: row.createdAtMicros, id: row.id } }));
}

/**
 * Moves a PENDING order to its final status. Returns false when the order was already settled, which
 * makes applying the same payment result twice harmless. Locks the order row until the transaction ends.
 */
export async function settleOrder(tx: Queryable, orderId: string, status: 'PAID' | 'PAYMENT_FAILED'): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE orders SET status = $2, updated_at = clock_timestamp() WHERE id = $1 AND status = 'PENDING'`,
    [orderId, status],
  );
  return rowCount === 1;
}

export async function orderExists(db: Queryable, orderId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM orders WHERE id = $1', [orderId]);
  return rowCount === 1;
}

// Cancelling an order: the row lock that puts a cancel in line with concurrent
// cancels and with the order worker settling the same order, the status change itself, and the
// check the payment worker makes before charging.

export interface LockedOrder {
  status: OrderStatus;
  userId: string;
  totalCents: number;
  currency: string;
}

/**
 * Locks the buyer's order row until the transaction ends and returns what a cancel decides on; null
 * when the order does not exist or belongs to someone else. A concurrent cancel, or the order
 * worker's `settleOrder` (an UPDATE of the same row), waits here and then sees the new status.
 */
export async function lockOrderOfUser(tx: Queryable, orderId: string, userId: string): Promise<LockedOrder | null> {
  const { rows } = await tx.query<{ status: OrderStatus; userId: string; totalCents: string; currency: string }>(
    `SELECT status, user_id AS "userId", total_cents AS "totalCents", currency
       FROM orders WHERE id = $1 AND user_id = $2 FOR UPDATE`,
    [orderId, userId],
  );
  const row = rows[0];
  return row ? { ...row, totalCents: Number(row.totalCents) } : null;
}

/** Marks a locked PENDING order CANCELLED. */
export async function markOrderCancelled(tx: Queryable, orderId: string): Promise<void> {
  await tx.query(`UPDATE orders SET status = 'CANCELLED', updated_at = clock_timestamp() WHERE id = $1 AND status = 'PENDING'`, [
    orderId,
  ]);
}

/**
 * Whether the order has been cancelled. The payment worker asks just before it charges, so an order
 * cancelled while its order-placed event waited in the queue is never charged, whichever of the two
 * events SQS delivers first. It is the payment side's only read of this table (same database).
 */
export async function isOrderCancelled(db: Queryable, orderId: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM orders WHERE id = $1 AND status = 'CANCELLED'`, [orderId]);
  return rowCount === 1;
}
