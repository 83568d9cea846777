// Use case: a buyer cancels their PENDING order. One transaction locks the order row, marks it
// CANCELLED, puts its stock back and writes the `order-cancelled` outbox event, so the three happen
// together or not at all. The row lock orders the cancel with concurrent cancels and with the order
// worker's payment result: whichever commits first decides, and the other sees its status.
import { conflict, notFound } from '../../platform/errors';
import { withTransaction, type Database } from '../../platform/db';
import { findOrderOfUser, lockOrderOfUser, markOrderCancelled, type Order } from '../data/orders';
import { releaseStockOfOrder } from '../data/products';
import { EVENT_VERSION, ORDER_CANCELLED, ORDER_PLACED, type OrderCancelledEvent } from '../../contracts/events';
import { enqueueEvent } from '../../platform/messaging/outbox';
import type { StockGate } from '../stock-gate';

/**
 * Cancels the order and returns it. An order already CANCELLED is returned unchanged (a retried
 * cancel replays); a settled one (PAID, PAYMENT_FAILED) is a 409 naming its status; another buyer's
 * order is a 404, like a missing one. With a stock gate, the units put back are sellable again at once
 * (their sold-out markers cleared after the commit).
 */
export async function cancelOrder(
  db: Pick<Database, 'writer'>,
  command: { userId: string; orderId: string },
  gate?: Pick<StockGate, 'stockReleased'>,
): Promise<{ order: Order; replayed: boolean }> {
  const { userId, orderId } = command;
  let released: string[] = [];
  const cancelled = await withTransaction(db.writer, async (tx) => {
    const locked = await lockOrderOfUser(tx, orderId, userId);
    if (!locked) throw notFound(`order ${orderId} does not exist`);
    if (locked.status === 'PAID' || locked.status === 'PAYMENT_FAILED') {
      throw conflict(`order ${orderId} is ${locked.status}; only a PENDING order can be cancelled`);
    }

    const replayed = locked.status === 'CANCELLED';
    if (!replayed) {
      await markOrderCancelled(tx, orderId);
      released = await releaseStockOfOrder(tx, orderId);
      const event: OrderCancelledEvent = {
        type: ORDER_CANCELLED,
        version: EVENT_VERSION,
        orderId,
        userId,
        totalCents: locked.totalCents,
        currency: locked.currency,
        occurredAt: new Date().toISOString(),
      };
      // The order-placed topic carries every order event for the payment worker (see services/contracts/events.ts).
      await enqueueEvent(tx, 'order', ORDER_PLACED, event);
    }
    const order = await findOrderOfUser(tx, orderId, userId);
    return { order: order!, replayed };
  });
  if (released.length > 0) await gate?.stockReleased(released);
  return cancelled;
}
