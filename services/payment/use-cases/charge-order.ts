// Use case: charge a placed order exactly once. The payment row exists (PENDING) before the provider
// is called and carries the idempotency key the provider dedupes on, so a duplicate or redelivered
// `order-placed` message - also one whose first worker died mid-charge - resumes the same charge.
// The outcome and the `payment-result` event commit together. A cancelled order is never charged if
// the cancel came before the charge started, and is refunded if it came later (see cancel-payment.ts).
import { withTransaction } from '../../platform/db';
import { enqueueEvent } from '../../platform/messaging/outbox';
import {
  completePayment,
  findOrCreatePayment,
  findPaymentOfOrder,
  startCharge,
  type Payment,
} from '../data/payments';
import { EVENT_VERSION, PAYMENT_RESULT, type OrderPlacedEvent, type PaymentResultEvent } from '../../contracts/events';
import { refundIfOrderCancelled, type PaymentDeps } from './cancel-payment';

export async function chargeOrder(deps: PaymentDeps, order: OrderPlacedEvent): Promise<{ payment: Payment; recorded: boolean }> {
  const details = {
    orderId: order.orderId,
    userId: order.userId,
    amountCents: order.totalCents,
    currency: order.currency,
    provider: deps.provider.name,
  };
  // What this service knows of a cancellation comes from the order-cancelled event alone (it never
  // reads the order service's tables): one that arrived first left the payment CANCELLED, never charged.
  const payment = await findOrCreatePayment(deps.db.writer, details);
  // Not PENDING: settled or cancelled earlier, nothing to charge. startCharge fails when a cancel
  // closed the payment since; once it succeeds, a cancel leaves the charge to finish here.
  let recorded = false;
  if (payment.status === 'PENDING' && (await startCharge(deps.db.writer, payment.id))) {
    recorded = await chargeAndRecord(deps, payment);
  }
  // Whichever path: a successful charge of an order cancelled meanwhile (or before a crash) is refunded.
  return { payment: await refundIfOrderCancelled(deps, (await findPaymentOfOrder(deps.db.writer, order.orderId))!), recorded };
}

/** Calls the provider and records its outcome with the `payment-result` event; false if another delivery recorded it first. */
async function chargeAndRecord(deps: PaymentDeps, payment: Payment): Promise<boolean> {
  const outcome = await deps.provider.charge({
    idempotencyKey: payment.idempotencyKey,
    amountCents: payment.amountCents,
    currency: payment.currency,
    orderId: payment.orderId,
  });
  const reason = outcome.status === 'DECLINED' ? outcome.reason : undefined;
  return withTransaction(deps.db.writer, async (tx) => {
    if (!(await completePayment(tx, payment.id, { status: outcome.status, reference: outcome.reference, reason }))) {
      return false; // a concurrent delivery recorded the same outcome and its event first
    }
    // Sent for a cancelled order too: the order worker ignores it (the order is no longer PENDING).
    const event: PaymentResultEvent = {
      type: PAYMENT_RESULT,
      version: EVENT_VERSION,
      orderId: payment.orderId,
      paymentId: payment.id,
      outcome: outcome.status,
      ...(reason === undefined ? {} : { declineReason: reason }),
      occurredAt: new Date().toISOString(),
    };
    await enqueueEvent(tx, 'payment', PAYMENT_RESULT, event);
    return true;
  });
}
