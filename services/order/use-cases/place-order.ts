// Use case: place an order. One transaction claims the Idempotency-Key, reserves the stock of every
// line, writes the order and its `order-placed` outbox event, and stores the response for replays.
import { createHash } from 'node:crypto';
import { badRequest, conflict, unprocessable } from '../../platform/errors';
import { withTransaction, type Database, type Queryable } from '../../platform/db';
import { claimIdempotencyKey, recordIdempotentResponse } from '../data/idempotency-keys';
import { insertOrder, type OrderLine } from '../data/orders';
import { reserveStock } from '../data/products';
import { ORDER_PLACED, type OrderPlacedEvent } from '../events';
import { enqueueEvent } from '../outbox';

export interface PlaceOrderCommand {
  userId: string;
  idempotencyKey: string;
  items: Array<{ productId: string; quantity: number }>;
}

/** The 202 body of POST /api/orders; replays return it unchanged. */
export interface PlacedOrder {
  id: string;
  status: 'PENDING';
  totalCents: number;
  currency: string;
  items: OrderLine[];
  createdAt: string;
}

/**
 * Places the order, or replays the response of the first request that used this key.
 * Only a successful placement is remembered: a 409 or 400 rolls the key back with everything else,
 * so retrying the same key later is evaluated afresh (stock may have come back).
 */
export async function placeOrder(
  db: Pick<Database, 'writer'>,
  command: PlaceOrderCommand,
): Promise<{ order: PlacedOrder; replayed: boolean }> {
  // Postgres prints uuids in lower case; normalising makes hashes and lock order independent of case.
  const items = command.items.map((item) => ({ productId: item.productId.toLowerCase(), quantity: item.quantity }));
  rejectInvalidItems(items);
  const requestHash = hashRequest(items);

  return withTransaction(db.writer, async (tx) => {
    const claim = await claimIdempotencyKey<PlacedOrder>(tx, command.userId, command.idempotencyKey, requestHash);
    if (claim.kind === 'seen-before') {
      if (claim.requestHash !== requestHash) {
        throw unprocessable('Idempotency-Key was already used with a different request body');
      }
      return { order: claim.response, replayed: true };
    }

    const { lines, currency } = await reserveLines(tx, items);
    const totalCents = lines.reduce((sum, line) => sum + line.unitPriceCents * line.quantity, 0);
    const order = await insertOrder(tx, { userId: command.userId, totalCents, currency, items: lines });

    const event: OrderPlacedEvent = {
      type: ORDER_PLACED,
      orderId: order.id,
      userId: order.userId,
      totalCents,
      currency,
      items: lines,
      occurredAt: order.createdAt,
    };
    await enqueueEvent(tx, ORDER_PLACED, event);

    const placed: PlacedOrder = {
      id: order.id,
      status: 'PENDING',
      totalCents,
      currency,
      items: lines,
      createdAt: order.createdAt,
    };
    await recordIdempotentResponse(tx, command.userId, command.idempotencyKey, order.id, placed);
    return { order: placed, replayed: false };
  });
}

/**
 * Reserves every line, locking product rows in id order so two multi-item orders cannot deadlock.
 * Lines come back in the order the client sent them.
 */
async function reserveLines(
  tx: Queryable,
  items: PlaceOrderCommand['items'],
): Promise<{ lines: OrderLine[]; currency: string }> {
  const reserved = new Map<string, { priceCents: number; currency: string }>();
  for (const item of [...items].sort((a, b) => (a.productId < b.productId ? -1 : 1))) {
    const product = await reserveStock(tx, item.productId, item.quantity);
    if (!product) throw await whyNotReserved(tx, item);
    reserved.set(item.productId, product);
  }
  const currencies = new Set([...reserved.values()].map((product) => product.currency));
  if (currencies.size > 1) throw badRequest(`items mix currencies (${[...currencies].join(', ')}); order them separately`);
  const lines = items.map((item) => ({
    productId: item.productId,
    quantity: item.quantity,
    unitPriceCents: reserved.get(item.productId)!.priceCents,
  }));
  return { lines, currency: [...currencies][0] };
}

async function whyNotReserved(tx: Queryable, item: { productId: string; quantity: number }): Promise<Error> {
  const { rows } = await tx.query<{ name: string; stock: number }>('SELECT name, stock FROM products WHERE id = $1', [
    item.productId,
  ]);
  if (!rows[0]) return badRequest(`product ${item.productId} does not exist`);
  return conflict(
    `product ${item.productId} (${rows[0].name}) is out of stock: requested ${item.quantity}, available ${rows[0].stock}`,
  );
}

/** The HTTP schema checks these too; repeated here so every entry point gets the same rules. */
function rejectInvalidItems(items: PlaceOrderCommand['items']): void {
  if (items.length === 0) throw badRequest('items must contain at least one item');
  for (const item of items) {
    if (!Number.isInteger(item.quantity) || item.quantity < 1) {
      throw badRequest(`quantity of product ${item.productId} must be a positive integer`);
    }
  }
  const seen = new Set<string>();
  for (const item of items) {
    const id = item.productId;
    if (seen.has(id)) throw badRequest(`items lists product ${item.productId} more than once; combine the quantities`);
    seen.add(id);
  }
}

/** Fingerprint of the request body, independent of JSON key order and whitespace. */
function hashRequest(items: PlaceOrderCommand['items']): string {
  const canonical = JSON.stringify(items.map((item) => [item.productId, item.quantity]));
  return createHash('sha256').update(canonical).digest('hex');
}
