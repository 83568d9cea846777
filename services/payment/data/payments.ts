// Data access for payments: at most one row per order (UNIQUE order_id), created PENDING before the
// provider is called and completed once with the provider's outcome.
import type { Queryable } from '../../platform/db';

export type PaymentStatus = 'PENDING' | 'SUCCEEDED' | 'DECLINED';

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
  decline_reason AS "declineReason", created_at AS "createdAt", updated_at AS "updatedAt"`;

function toPayment(row: PaymentRow): Payment {
  return {
    ...row,
    amountCents: Number(row.amountCents),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Returns the order's payment, creating it PENDING if this is the first delivery of the order. */
export async function findOrCreatePayment(
  db: Queryable,
  order: { orderId: string; userId: string; amountCents: number; currency: string; provider: string },
): Promise<Payment> {
  // The idempotency key is derived from the order, so every attempt at this payment sends the same one.
  await db.query(
    `INSERT INTO payments (order_id, user_id, amount_cents, currency, status, provider, idempotency_key)
     VALUES ($1, $2, $3, $4, 'PENDING', $5, $6)
     ON CONFLICT (order_id) DO NOTHING`,
    [order.orderId, order.userId, order.amountCents, order.currency, order.provider, `order-${order.orderId}`],
  );
  const { rows } = await db.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE order_id = $1`, [
    order.orderId,
  ]);
  return toPayment(rows[0]);
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
