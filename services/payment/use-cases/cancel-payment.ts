// Use case: the payment side of a cancelled order (`order-cancelled` event): no net charge. A payment
// whose charge has not started is closed CANCELLED, so the order is never charged; a SUCCEEDED one is
// refunded. A charge in flight is left to the delivery running it, which finds the order cancelled
// when it records the outcome and refunds then (see chargeOrder).
//
// Exactly one refund: whoever sees "SUCCEEDED and cancelled" refunds - this handler, the charging
// delivery, or a redelivery of either after a crash - always with the key refund-<orderId>, which the
// provider dedupes on, and the REFUNDED status is written once (WHERE status = 'SUCCEEDED').
import type { Database } from '../../platform/db';
import type { OrderCancelledEvent } from '../../contracts/events';
import { markPaymentCancelled, recordRefund, refundKey, type Payment } from '../data/payments';
import type { PaymentProvider } from '../provider';

export interface PaymentDeps {
  db: Pick<Database, 'writer'>;
  provider: PaymentProvider;
}

export async function cancelPayment(deps: PaymentDeps, order: OrderCancelledEvent): Promise<Payment> {
  const payment = await markPaymentCancelled(deps.db.writer, {
    orderId: order.orderId,
    userId: order.userId,
    amountCents: order.totalCents,
    currency: order.currency,
    provider: deps.provider.name,
  });
  return refundIfOrderCancelled(deps, payment);
}

/** Refunds a SUCCEEDED payment of a cancelled order in full; returns any other payment unchanged. */
export async function refundIfOrderCancelled(deps: PaymentDeps, payment: Payment): Promise<Payment> {
  if (payment.status !== 'SUCCEEDED' || !payment.orderCancelled) return payment;
  const refund = await deps.provider.refund({
    idempotencyKey: refundKey(payment.orderId),
    chargeReference: payment.providerReference!,
    amountCents: payment.amountCents,
    currency: payment.currency,
    orderId: payment.orderId,
  });
  // False when a concurrent delivery recorded the same refund (same key, same reference) first.
  await recordRefund(deps.db.writer, payment.id, refund.reference);
  return { ...payment, status: 'REFUNDED', refundReference: refund.reference };
}
