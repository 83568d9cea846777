// Use case: charge a placed order exactly once. The payment row exists (PENDING) before the provider
// is called and carries the idempotency key the provider dedupes on, so a duplicate or redelivered
// `order-placed` message - also one whose first worker died mid-charge - resumes the same charge.
// The outcome and the `payment-result` event commit together.
import { withTransaction, type Database } from '../../platform/db';
import type { OrderPlacedEvent } from '../../order/events';
import { enqueueEvent } from '../../order/outbox';
import { completePayment, findOrCreatePayment, type Payment } from '../data/payments';
import { PAYMENT_RESULT, type PaymentResultEvent } from '../events';
import type { PaymentProvider } from '../provider';

export async function chargeOrder(
  deps: { db: Pick<Database, 'writer'>; provider: PaymentProvider },
  order: OrderPlacedEvent,
): Promise<{ payment: Payment; recorded: boolean }> {
  const payment = await findOrCreatePayment(deps.db.writer, {
    orderId: order.orderId,
    userId: order.userId,
    amountCents: order.totalCents,
    currency: order.currency,
    provider: deps.provider.name,
  });
  // Settled by an earlier delivery: its event was committed with the outcome, nothing left to do.
  if (payment.status !== 'PENDING') return { payment, recorded: false };

  const outcome = await deps.provider.charge({
    idempotencyKey: payment.idempotencyKey,
    amountCents: payment.amountCents,
    currency: payment.currency,
    orderId: payment.orderId,
  });

  const reason = outcome.status === 'DECLINED' ? outcome.reason : undefined;
  const completed = await withTransaction(deps.db.writer, async (tx) => {
    if (!(await completePayment(tx, payment.id, { status: outcome.status, reference: outcome.reference, reason }))) {
      return false; // a concurrent delivery recorded the same outcome and its event first
    }
    const event: PaymentResultEvent = {
      type: PAYMENT_RESULT,
      orderId: payment.orderId,
      paymentId: payment.id,
      outcome: outcome.status,
      ...(reason === undefined ? {} : { declineReason: reason }),
      occurredAt: new Date().toISOString(),
    };
    await enqueueEvent(tx, PAYMENT_RESULT, event);
    return true;
  });
  return {
    payment: { ...payment, status: outcome.status, providerReference: outcome.reference, declineReason: reason ?? null },
    recorded: completed,
  };
}
