// Use case: settle an order from its `payment-result` event. PAID or PAYMENT_FAILED (and the stock
// back on the shelf) in one transaction; a repeated event finds the order settled and changes nothing,
// and so does a result for an order the buyer CANCELLED first (its stock is already back).
import { withTransaction, type Database } from '../../platform/db';
import { orderExists, settleOrder } from '../data/orders';
import { releaseStockOfOrder } from '../data/products';
import type { PaymentResultEvent } from '../../payment/events';

export class UnknownOrderError extends Error {}

export async function applyPaymentResult(
  db: Pick<Database, 'writer'>,
  event: PaymentResultEvent,
): Promise<'settled' | 'already-settled'> {
  return withTransaction(db.writer, async (tx) => {
    const status = event.outcome === 'SUCCEEDED' ? 'PAID' : 'PAYMENT_FAILED';
    if (await settleOrder(tx, event.orderId, status)) {
      if (status === 'PAYMENT_FAILED') await releaseStockOfOrder(tx, event.orderId);
      return 'settled';
    }
    // Throwing leaves the message for redelivery and, if it never resolves, the DLQ.
    if (!(await orderExists(tx, event.orderId))) throw new UnknownOrderError(`order ${event.orderId} does not exist`);
    return 'already-settled';
  });
}
