// Data access for orders and their items.
import type { Queryable } from '../../platform/db';

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

export async function insertOrder(
  tx: Queryable,
  order: { userId: string; totalCents: number; currency: string; items: OrderLine[] },
): Promise<Order> {
  const { rows } = await tx.query<{ id: string; createdAt: Date; updatedAt: Date }>(
    `INSERT INTO orders (user_id, status, total_cents, currency)
     VALUES ($1, 'PENDING', $2, $3)
     RETURNING id, created_at AS "createdAt", updated_at AS "updatedAt"`,
    [order.userId, order.totalCents, order.currency],
  );
  const { id, createdAt, updatedAt } = rows[0];
  await tx.query(
    `INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_cents)
     SELECT $1, line, product_id, quantity, unit_price_cents
       FROM unnest($2::uuid[], $3::int[], $4::int[]) WITH ORDINALITY AS i(product_id, quantity, unit_price_cents, line)`,
    [
      id,
      order.items.map((line) => line.productId),
      order.items.map((line) => line.quantity),
      order.items.map((line) => line.unitPriceCents),
    ],
  );
  return {
    id,
    userId: order.userId,
    status: 'PENDING',
    totalCents: order.totalCents,
    currency: order.currency,
    items: order.items,
    createdAt: createdAt.toISOString(),
    updatedAt: updatedAt.toISOString(),
  };
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
