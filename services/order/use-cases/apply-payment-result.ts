// Use case: settle an order from its `payment-result` event. PAID or PAYMENT_FAILED (and the stock
// back on the shelf) in one transaction; a repeated event finds the order settled and changes nothing,
// and so does a result for an order the buyer CANCELLED first (its stock is already back).
import { withTransaction, type Database } from '../../platform/db';
import { orderExists, settleOrder } from '../data/orders';
import { releaseStockOfOrder } from '../data/products';
import type { PaymentResultEvent } from '../../contracts/events';
import type { StockGate } from '../stock-gate';

export class UnknownOrderError extends Error {}

/** With a stock gate, units put back are sellable again at once (their sold-out markers cleared after the commit). */
export async function applyPaymentResult(
  db: Pick<Database, 'writer'>,
  event: PaymentResultEvent,
  gate?: Pick<StockGate, 'stockReleased'>,
): Promise<'settled' | 'already-settled'> {
  const { outcome, released } = await withTransaction(db.writer, async (tx) => {
    const status = event.outcome === 'SUCCEEDED' ? 'PAID' : 'PAYMENT_FAILED';
    if (await settleOrder(tx, event.orderId, status)) {
      return { outcome: 'settled' as const, released: status === 'PAYMENT_FAILED' ? await releaseStockOfOrder(tx, event.orderId) : [] };
    }
    // Throwing leaves the message for redelivery and, if it never resolves, the DLQ.
    if (!(await orderExists(tx, event.orderId))) throw new UnknownOrderError(`order ${event.orderId} does not exist`);
    return { outcome: 'already-settled' as const, released: [] };
  });
  if (released.length > 0) await gate?.stockReleased(released);
  return outcome;
}
