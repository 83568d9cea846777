// Data access for orders and their items.
import { createBatcher } from '../../platform/batch';
import { queryPrepared, type Queryable } from '../../platform/db';
import { ORDER_PLACED } from '../../contracts/events';

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

// Placing orders: surge_place_orders (order migrations/001, 002) decides and writes a batch of orders in one call -
// one round trip, one transaction, one commit. Concurrent placements of one process share a batch
// (group commit, ../../platform/batch): alone when the service is idle, up to ORDER_BATCH_MAX together
// under load, when the orders that arrive while ORDERS_IN_FLIGHT batches are being written go in the
// next one. Each order in a batch is decided as if placed alone, in arrival order: its products locked
// (the whole batch's, in id order: batches cannot deadlock), every line checked against the stock the
// orders before it left (never oversold), then the order, its items, the Idempotency-Key with the
// response for replays, and the order-placed outbox event are written. A refused order - a line
// missing or short, mixed currencies, the key already used - leaves nothing behind, not even the key.

/** Orders in one batch at most: a statement of bounded size (50 lines each at most). */
export const ORDER_BATCH_MAX = 64;
/**
 * Batches written at once per process, each on one of the writer pool's connections. Under load the
 * batches grow instead (measured here, 2 cores: 2 in flight beat 4 and 8 on throughput and database CPU
 * per order); a fleet has a process per core on every instance, so the writer still sees many at once.
 */
export const ORDERS_IN_FLIGHT = 2;

/** Statement name: pg parses the call once per connection (plpgsql caches the function's own plans). */
const PLACE_ORDERS_STATEMENT = 'surge-place-orders-v1';
const PLACE_ORDERS_SQL = `SELECT batch_position AS position, order_response AS response
  FROM surge_place_orders($1::uuid[], $2::text[], $3::text[], $4::int[], $5::uuid[], $6::int[], $7::text)`;

// SQLSTATE classes that blame the input (22 data exception, 23 integrity constraint violation): a
// batch failing with one is run again order by order, so only the order at fault fails.
const INPUT_ERROR_CLASSES = ['22', '23'];
// A batch PostgreSQL aborted because it collided with another transaction (40P01 deadlock detected,
// 40001 serialization failure) wrote nothing and blames no order: each is run again on its own. Keys
// and products are locked in a fixed order (order migrations/001), so a batch does not deadlock another
// batch; this is for collisions with other writers.
export const COLLISION_ERRORS = ['40P01', '40001'];

const sqlState = (err: unknown) => String((err as { code?: unknown }).code ?? '');

export interface OrderToPlace {
  userId: string;
  idempotencyKey: string;
  requestHash: string;
  items: Array<{ productId: string; quantity: number }>;
}

type PlaceOrder = (order: OrderToPlace) => Promise<unknown>;

// One batcher per pool: batches are per process and per database.
const batchers = new WeakMap<Queryable, PlaceOrder>();

function batcherFor(db: Queryable): PlaceOrder {
  let place = batchers.get(db);
  if (!place) {
    place = createBatcher((orders: OrderToPlace[]) => placeOrders(db, orders), {
      maxBatch: ORDER_BATCH_MAX,
      maxInFlight: ORDERS_IN_FLIGHT,
      retryAlone: (err) => INPUT_ERROR_CLASSES.some((c) => sqlState(err).startsWith(c)) || COLLISION_ERRORS.includes(sqlState(err)),
    });
    batchers.set(db, place);
  }
  return place;
}

async function placeOrders(db: Queryable, orders: OrderToPlace[]): Promise<unknown[]> {
  const lines = orders.flatMap((o) => o.items);
  const { rows } = await queryPrepared<{ position: number; response: unknown }>(db, {
    name: PLACE_ORDERS_STATEMENT,
    text: PLACE_ORDERS_SQL,
    values: [
      orders.map((o) => o.userId),
      orders.map((o) => o.idempotencyKey),
      orders.map((o) => o.requestHash),
      orders.map((o) => o.items.length),
      lines.map((line) => line.productId),
      lines.map((line) => line.quantity),
      // The event the function writes is the order-placed event; its payload is built in the SQL.
      ORDER_PLACED,
    ],
  });
  const responses: unknown[] = orders.map(() => undefined);
  for (const row of rows) responses[row.position - 1] = row.response ?? undefined;
  return responses;
}

/**
 * Places an order (in a batch with whatever else this process is placing, see above). Returns the
 * stored 202 response, or undefined when nothing was written (the caller finds out why: key used, or
 * which line failed). Rejects with the database's error when even the order alone failed (a
 * COLLISION_ERRORS code then: nothing was written and the same request may be retried).
 */
export async function placeOrderAtomically<R>(db: Queryable, order: OrderToPlace): Promise<R | undefined> {
  return (await batcherFor(db)(order)) as R | undefined;
}

/** The products of a failed order as they are now (missing ones absent). */
export async function productsForOrder(db: Queryable, productIds: string[]): Promise<ProductForOrder[]> {
  const { rows } = await db.query<ProductForOrder>(
    'SELECT id, name, stock, currency FROM products WHERE id = ANY($1::uuid[])',
    [productIds],
  );
  return rows;
}

/**
 * The Idempotency-Keys (and users) of the orders holding the product, whatever their status (a replayed
 * key returns its stored response whatever became of the order), at most `limit`. By the index
 * order_items_by_product, then primary keys.
 */
export async function orderKeysOfProduct(db: Queryable, productId: string, limit: number): Promise<Array<{ userId: string; key: string }>> {
  const { rows } = await db.query<{ userId: string; key: string }>(
    `SELECT k.user_id AS "userId", k.key
       FROM order_items i
       JOIN orders o ON o.id = i.order_id
       JOIN order_idempotency_keys k ON k.user_id = o.user_id AND k.order_id = o.id
      WHERE i.product_id = $1
      LIMIT $2`,
    [productId, limit],
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
