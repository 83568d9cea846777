// Use case: place an order. One database call (its own transaction, shared with the orders placed at
// the same moment) reserves the stock of every line, writes the order, claims the Idempotency-Key with
// the response stored for replays, and adds the `order-placed` outbox event (its shape is
// OrderPlacedEvent in ../events; events.test checks it).
import { createHash } from 'node:crypto';
import { AppError, badRequest, conflict, outOfStock, serviceUnavailable, unprocessable } from '../../platform/errors';
import type { Database } from '../../platform/db';
import { findIdempotentResponse } from '../data/idempotency-keys';
import { COLLISION_ERRORS, orderKeysOfProduct, placeOrderAtomically, productsForOrder, type OrderLine, type ProductForOrder } from '../data/orders';
import { MAX_ORDERS, type StockGate } from '../stock-gate';

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
 * Only a successful placement is remembered: a 409 or 400 leaves no trace, not even the key, so
 * retrying the same key later is evaluated afresh (stock may have come back).
 * One round trip when it succeeds (placeOrderAtomically); a refusal costs one or two more to say why.
 * With a stock gate, an order for a product the database recently refused for stock is refused
 * without a round trip (see ../stock-gate), and each stock refusal of the database is recorded there.
 */
export async function placeOrder(
  db: Pick<Database, 'writer'>,
  command: PlaceOrderCommand,
  gate?: StockGate,
): Promise<{ order: PlacedOrder; replayed: boolean }> {
  // Postgres prints uuids in lower case; normalising makes hashes and lock order independent of case.
  const items = command.items.map((item) => ({ productId: item.productId.toLowerCase(), quantity: item.quantity }));
  rejectInvalidCommand(command, items);
  const gated = gate?.refusal({ userId: command.userId, idempotencyKey: command.idempotencyKey, items });
  if (gated) throw outOfStock(gated.message);
  const requestHash = hashRequest(items);
  const attempt = () =>
    placeOrderAtomically<PlacedOrder>(db.writer, { ...command, requestHash, items }).catch((err: unknown) => {
      // Aborted by PostgreSQL for colliding with another transaction, even alone: nothing was
      // written, so the client may send the same request again (503 with Retry-After, not a 500).
      if (COLLISION_ERRORS.includes(String((err as { code?: unknown }).code))) {
        throw serviceUnavailable('the order collided with a concurrent one and was not placed; retry with the same Idempotency-Key');
      }
      throw err;
    });

  let placed = await attempt();
  for (let retried = false; !placed; retried = true) {
    // The gate may have learnt of a shortage while this order waited (a stampede's first moments): a
    // refusal it is sure of needs no look-ups to explain. Not for a marker being renewed: this attempt
    // may be the one sent to renew it.
    const refused = gate?.refusal({ userId: command.userId, idempotencyKey: command.idempotencyKey, items }, { renew: false });
    if (refused) throw outOfStock(refused.message);
    // Nothing was written. Either the key is used (by an earlier request, or a concurrent one that
    // committed first)...
    const used = await findIdempotentResponse<PlacedOrder>(db.writer, command.userId, command.idempotencyKey);
    if (used) {
      if (used.requestHash !== requestHash) throw unprocessable('Idempotency-Key was already used with a different request body');
      return { order: used.response, replayed: true };
    }
    // ...or a line could not be reserved. Stock may have come back since; then try once more.
    const productIds = items.map((item) => item.productId);
    // Read before the stock: a release after this read stops the gate from recording what follows.
    const releases = gate ? await gate.releaseCounts(productIds) : undefined;
    const products = await productsForOrder(db.writer, productIds);
    const refusal = whyNotPlaced(items, products);
    if (refusal instanceof ShortLine && gate) await recordShortage(db, gate, refusal, releases?.[productIds.indexOf(refusal.product.id)]);
    if (refusal || retried) throw refusal ?? conflict('stock changed while the order was placed; retry');
    placed = await attempt();
  }
  return { order: placed, replayed: false };
}

/** A line the database could not reserve: a 409 naming the product, remembered by the stock gate. */
class ShortLine extends AppError {
  constructor(
    readonly product: ProductForOrder,
    quantity: number,
  ) {
    super(409, 'conflict', `product ${product.id} (${product.name}) is out of stock: requested ${quantity}, available ${product.stock}`);
    // Logged like the gate's own refusals (outOfStock): a sale answers this by the thousand.
    this.logLevel = 'debug';
  }
}

/**
 * Tells the gate (and through Redis the fleet) what the database just said; one look-up per product at
 * a time. Best effort: the refusal stands whatever happens here, and without a marker the database answers.
 */
async function recordShortage(db: Pick<Database, 'writer'>, gate: StockGate, short: ShortLine, releases: string | undefined): Promise<void> {
  const { product } = short;
  if (gate.isRecording(product.id)) return;
  try {
    const orders = await orderKeysOfProduct(db.writer, product.id, MAX_ORDERS + 1);
    await gate.recordShortage({ productId: product.id, name: product.name, available: product.stock, orders, releases: releases ?? '0' });
  } catch {
    // e.g. no database connection free in time: the next refusal tries again.
  }
}

/**
 * Why an order cannot be placed, checked in id order (the order rows are locked in): an unknown
 * product is 400, a short one 409 naming it, mixed currencies 400; undefined if nothing is wrong now.
 */
function whyNotPlaced(items: PlaceOrderCommand['items'], products: ProductForOrder[]): Error | undefined {
  const byId = new Map(products.map((product) => [product.id, product]));
  for (const item of [...items].sort((a, b) => (a.productId < b.productId ? -1 : 1))) {
    const product = byId.get(item.productId);
    if (!product) return badRequest(`product ${item.productId} does not exist`);
    if (product.stock < item.quantity) return new ShortLine(product, item.quantity);
  }
  const currencies = [...new Set(products.map((product) => product.currency))];
  if (currencies.length > 1) return badRequest(`items mix currencies (${currencies.join(', ')}); order them separately`);
  return undefined;
}

/** Most units of one product per order; the HTTP schema says the same. */
const MAX_QUANTITY = 1000;
/** Longest Idempotency-Key (the table's CHECK); the HTTP schema says the same. */
const MAX_KEY_LENGTH = 255;

/**
 * The HTTP schema checks these too; repeated here so every entry point gets the same rules (and no
 * order reaches a batch that the database would refuse).
 */
function rejectInvalidCommand({ idempotencyKey }: PlaceOrderCommand, items: PlaceOrderCommand['items']): void {
  if (idempotencyKey.length < 1 || idempotencyKey.length > MAX_KEY_LENGTH) {
    throw badRequest(`Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters`);
  }
  if (items.length === 0) throw badRequest('items must contain at least one item');
  for (const item of items) {
    if (!Number.isInteger(item.quantity) || item.quantity < 1 || item.quantity > MAX_QUANTITY) {
      throw badRequest(`quantity of product ${item.productId} must be an integer from 1 to ${MAX_QUANTITY}`);
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
