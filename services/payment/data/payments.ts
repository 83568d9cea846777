// Data access for payments: at most one row per order (UNIQUE order_id), created PENDING before the
// provider is called and completed once with the provider's outcome; for a cancelled order, closed
// CANCELLED before any charge or moved from SUCCEEDED to REFUNDED once.
import type { Queryable } from '../../platform/db';

export type PaymentStatus = 'PENDING' | 'SUCCEEDED' | 'DECLINED' | 'CANCELLED' | 'REFUNDED';

export interface Payment {
  id: string;
  orderId: string;
  userId: string;
  amountCents: number;
  currency: string;
  status: PaymentStatus;
  provider: string;
  idempotencyKey: string;
  providerReference: string | null;
  declineReason: string | null;
  refundReference: string | null;
  /** The order was cancelled (order-cancelled handled): a SUCCEEDED payment is owed a refund. */
  orderCancelled: boolean;
  createdAt: string;
  updatedAt: string;
}

interface PaymentRow extends Omit<Payment, 'amountCents' | 'createdAt' | 'updatedAt'> {
  amountCents: string;
  createdAt: Date;
  updatedAt: Date;
}

const PAYMENT_COLUMNS = `id, order_id AS "orderId", user_id AS "userId", amount_cents AS "amountCents", currency,
  status, provider, idempotency_key AS "idempotencyKey", provider_reference AS "providerReference",
  decline_reason AS "declineReason", refund_reference AS "refundReference", cancelled_at IS NOT NULL AS "orderCancelled",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

function toPayment(row: PaymentRow): Payment {
  return {
    ...row,
    amountCents: Number(row.amountCents),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

// Keys derived from the order, so every attempt at its charge (or refund) sends the provider the same one.
const chargeKey = (orderId: string) => `order-${orderId}`;
export const refundKey = (orderId: string) => `refund-${orderId}`;

/**
 * Returns the order's payment, creating it PENDING if this is the first delivery of the order. Both
 * unique keys (order_id, idempotency_key) derive from the order, so a conflict on either means the
 * payment exists: every unique index is an arbiter (a target of `(order_id)` alone let a concurrent
 * cancel's insert fail this one on idempotency_key).
 */
export async function findOrCreatePayment(
  db: Queryable,
  order: { orderId: string; userId: string; amountCents: number; currency: string; provider: string },
): Promise<Payment> {
  await db.query(
    `INSERT INTO payments (order_id, user_id, amount_cents, currency, status, provider, idempotency_key)
     VALUES ($1, $2, $3, $4, 'PENDING', $5, $6)
     ON CONFLICT DO NOTHING`,
    [order.orderId, order.userId, order.amountCents, order.currency, order.provider, chargeKey(order.orderId)],
  );
  return (await findPaymentOfOrder(db, order.orderId))!;
}

export async function findPaymentOfOrder(db: Queryable, orderId: string): Promise<Payment | null> {
  const { rows } = await db.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE order_id = $1`, [orderId]);
  return rows[0] ? toPayment(rows[0]) : null;
}

/**
 * Notes, just before the provider is first called, that the charge has started; false when the
 * payment is no longer PENDING (the order was cancelled first, or another delivery completed it).
 * The row lock orders it with `markPaymentCancelled`: after this commits, a cancel cannot close the
 * payment unpaid any more, because the charge may be in flight.
 */
export async function startCharge(db: Queryable, paymentId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE payments SET charge_started_at = coalesce(charge_started_at, now()) WHERE id = $1 AND status = 'PENDING'`,
    [paymentId],
  );
  return rowCount === 1;
}

/**
 * Records that the order was cancelled, creating the payment if the cancel came first. A payment
 * whose charge has not started becomes CANCELLED (never charged); any other keeps its status, and a
 * SUCCEEDED one is then owed a refund. Repeating it changes nothing.
 */
export async function markPaymentCancelled(
  db: Queryable,
  order: { orderId: string; userId: string; amountCents: number; currency: string; provider: string },
): Promise<Payment> {
  // DO UPDATE needs one arbiter: a concurrent first insert of the same order can fail this one on the
  // other unique key (idempotency_key); the row exists then, and the retry takes the update branch.
  try {
    return await cancelPaymentRow(db, order);
  } catch (err) {
    if ((err as { code?: string; constraint?: string }).code !== '23505' || (err as { constraint?: string }).constraint !== 'payments_idempotency_key_key') throw err;
    return cancelPaymentRow(db, order);
  }
}

async function cancelPaymentRow(
  db: Queryable,
  order: { orderId: string; userId: string; amountCents: number; currency: string; provider: string },
): Promise<Payment> {
  const { rows } = await db.query<PaymentRow>(
    `INSERT INTO payments AS p (order_id, user_id, amount_cents, currency, status, provider, idempotency_key, cancelled_at)
     VALUES ($1, $2, $3, $4, 'CANCELLED', $5, $6, now())
     ON CONFLICT (order_id) DO UPDATE SET
       status = CASE WHEN p.status = 'PENDING' AND p.charge_started_at IS NULL THEN 'CANCELLED' ELSE p.status END,
       cancelled_at = coalesce(p.cancelled_at, now()),
       updated_at = CASE WHEN p.cancelled_at IS NULL THEN now() ELSE p.updated_at END
     RETURNING ${PAYMENT_COLUMNS}`,
    [order.orderId, order.userId, order.amountCents, order.currency, order.provider, chargeKey(order.orderId)],
  );
  return toPayment(rows[0]);
}

/** Records the refund of a SUCCEEDED payment once; false if another worker recorded it first. */
export async function recordRefund(db: Queryable, paymentId: string, reference: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE payments SET status = 'REFUNDED', refund_reference = $2, updated_at = now() WHERE id = $1 AND status = 'SUCCEEDED'`,
    [paymentId, reference],
  );
  return rowCount === 1;
}

/** Records the provider's outcome once; false if another worker completed the payment first. */
export async function completePayment(
  tx: Queryable,
  paymentId: string,
  outcome: { status: 'SUCCEEDED' | 'DECLINED'; reference: string; reason?: string },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE payments SET status = $2, provider_reference = $3, decline_reason = $4, updated_at = now()
      WHERE id = $1 AND status = 'PENDING'`,
    [paymentId, outcome.status, outcome.reference, outcome.reason ?? null],
  );
  return rowCount === 1;
}

export async function findPaymentOfUser(db: Queryable, paymentId: string, userId: string): Promise<Payment | null> {
  const { rows } = await db.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = $1 AND user_id = $2`, [
    paymentId,
    userId,
  ]);
  return rows[0] ? toPayment(rows[0]) : null;
}

/** The user's payments, newest first; only those of `orderId` when given. */
export async function listPaymentsOfUser(
  db: Queryable,
  userId: string,
  filter: { orderId?: string; limit: number },
): Promise<Payment[]> {
  const { rows } = await db.query<PaymentRow>(
    `SELECT ${PAYMENT_COLUMNS} FROM payments
      WHERE user_id = $1 AND ($2::uuid IS NULL OR order_id = $2::uuid)
      ORDER BY created_at DESC, id DESC
      LIMIT $3`,
    [userId, filter.orderId ?? null, filter.limit],
  );
  return rows.map(toPayment);
}
