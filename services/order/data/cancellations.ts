// Data access for cancelling an order: the row lock that puts a cancel in line with concurrent
// cancels and with the order worker settling the same order, the status change itself, and the
// check the payment worker makes before charging.
import type { Queryable } from '../../platform/db';
import type { OrderStatus } from './orders';

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
