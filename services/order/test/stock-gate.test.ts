// The stock gate on the real PostgreSQL and Redis: sold-out refusals without a database round trip,
// exactly N units sold under concurrent attempts from two "processes" (two gates sharing Redis), units
// put back sellable again within the stated bound, an accepted order's retry still replayed, and with
// Redis down the database alone still decides correctly.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type Redis from 'ioredis';
import { AppError } from '../../platform/errors';
import type { Database } from '../../platform/db';
import { createRedisClient, connectRedis, type RedisClient } from '../../platform/redis';
import { createTestDatabase, createTestRedis, startRedisServer, type RedisServer, countRows } from '../../test-support/testing';
import {
  createStockGate,
  LOCAL_REFRESH_MS,
  REDIS_MARKER_MS,
  RELEASE_SEEN_MS,
  RENEW_BEFORE_MS,
  RENEW_RETRY_MS,
  type StockGate,
  type StockGateTiming,
  type StockRefusal,
} from '../stock-gate';
import { applyPaymentResult } from '../use-cases/apply-payment-result';
import { cancelOrder } from '../use-cases/cancel-order';
import { placeOrder, type PlaceOrderCommand } from '../use-cases/place-order';
import { addProduct, stockOf } from './fixtures';

// Some tests wait out a marker's lifetime, so the gates on Redis live by a shorter timing than the
// product's (5 s, renewed in the last 3 s, retried after 500 ms): a 2.5 s marker renewed in its last
// 0.7 s, retried after 200 ms. The first 1.8 s of a marker send no attempt to the database, so a test's
// burst of orders (200 at once with Redis down) fits in them on a busy machine. The bounds asserted
// follow from it as LONGEST_STALE_MS follows from REDIS_MARKER_MS. The test with a clock of its own
// uses the product's timing.
const TIMING: StockGateTiming = { markerMs: 2500, renewBeforeMs: 700, renewRetryMs: 200 };
const LONGEST_STALE_MS = TIMING.markerMs + LOCAL_REFRESH_MS;
jest.setTimeout(30_000);

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let redis: Redis;
const gates: StockGate[] = [];
beforeAll(async () => {
  testDb = await createTestDatabase();
  redis = await createTestRedis();
});
afterAll(async () => {
  for (const gate of gates) gate.stop();
  await redis?.quit();
  await testDb?.drop();
});

/** A gate as one order-service process has it (each test's gates share one Redis key prefix). */
function gateOn(client: RedisClient | undefined): StockGate {
  const gate = createStockGate({ redis: client, timing: TIMING });
  gates.push(gate);
  return gate;
}

/** A database whose every statement fails: what placeOrder does with it proves it made no round trip. */
const NO_DATABASE = {
  writer: {
    query: () => {
      throw new Error('the database was asked');
    },
  },
} as unknown as Pick<Database, 'writer'>;

const order = (productId: string, quantity = 1, userId: string = randomUUID()): PlaceOrderCommand => ({
  userId,
  idempotencyKey: randomUUID(),
  items: [{ productId, quantity }],
});

async function outcome(promise: Promise<unknown>): Promise<number> {
  return promise.then(
    () => 202,
    (err: unknown) => {
      if (err instanceof AppError) return err.statusCode;
      throw err;
    },
  );
}

/** Waits until the gate refuses `command` on its own (it learns from Redis every LOCAL_REFRESH_MS). */
async function untilGateRefuses(gate: StockGate, command: PlaceOrderCommand, withinMs = 2000): Promise<StockRefusal> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const refusal = gate.refusal(command);
    if (refusal) return refusal;
    if (Date.now() > deadline) throw new Error(`the gate did not refuse within ${withinMs} ms`);
    await sleep(10);
  }
}

/**
 * Places fresh orders through `gate` until one is accepted; fails if that takes longer than `boundMs`
 * after `since`. Each attempt goes through placeOrder, so it is what a buyer would get.
 */
async function sellsAgainWithin(gate: StockGate, productId: string, since: number, boundMs: number, quantity = 1): Promise<void> {
  for (;;) {
    const code = await outcome(placeOrder(testDb.db, order(productId, quantity), gate));
    if (code === 202) return;
    expect(code).toBe(409);
    expect(Date.now() - since).toBeLessThanOrEqual(boundMs);
    await sleep(5);
  }
}

const soldUnits = (productId: string) =>
  countRows(
    testDb.db.writer,
    `SELECT 1 FROM order_items i JOIN orders o ON o.id = i.order_id, generate_series(1, i.quantity)
      WHERE i.product_id = $1 AND o.status NOT IN ('CANCELLED', 'PAYMENT_FAILED')`,
    [productId],
  );

describe('stock gate', () => {
  it('sells exactly N units to concurrent attempts through two processes, then refuses without the database', async () => {
    const { db } = testDb;
    const units = 15;
    const product = await addProduct(db.writer, { stock: units, name: 'Flash kettle' });
    const [a, b] = [gateOn(redis), gateOn(redis)];

    const codes = await Promise.all(
      Array.from({ length: 300 }, (_, i) => outcome(placeOrder(db, order(product.id), i % 2 ? a : b))),
    );

    expect(codes.filter((c) => c === 202)).toHaveLength(units);
    expect(codes.filter((c) => c === 409)).toHaveLength(300 - units);
    expect(await stockOf(db.writer, product.id)).toBe(0);
    expect(await soldUnits(product.id)).toBe(units);
    // Both processes now refuse with the database's own message and no round trip.
    for (const gate of [a, b]) {
      const command = order(product.id);
      await untilGateRefuses(gate, command);
      const refused = await placeOrder(NO_DATABASE, command, gate).catch((err: AppError) => err);
      expect(refused).toMatchObject({ statusCode: 409, message: `product ${product.id} (Flash kettle) is out of stock: requested 1, available 0` });
    }
  });

  it('refuses only quantities above what is known to be left, and a newcomer process learns it from Redis', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer, { stock: 2 });
    const first = gateOn(redis);
    expect(await outcome(placeOrder(db, order(product.id, 3), first))).toBe(409);

    const newcomer = gateOn(redis);
    await untilGateRefuses(newcomer, order(product.id, 3));
    expect(newcomer.refusal(order(product.id, 2))).toBeUndefined();
    // Two units are left: the gate lets that order through, and the database sells them.
    expect(await outcome(placeOrder(db, order(product.id, 2), newcomer))).toBe(202);
    expect(await stockOf(db.writer, product.id)).toBe(0);
  });

  it('replays an accepted order retried after the sell-out instead of refusing it', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer, { stock: 1 });
    const gate = gateOn(redis);
    const bought = order(product.id);
    const { order: placed } = await placeOrder(db, bought, gate);
    expect(await outcome(placeOrder(db, order(product.id), gate))).toBe(409);
    await untilGateRefuses(gate, order(product.id));

    // Same buyer, same key, same body: the database replays the stored 202.
    expect(gate.refusal(bought)).toBeUndefined();
    const again = await placeOrder(db, bought, gate);
    expect(again).toEqual({ order: placed, replayed: true });
    // The same buyer with a new key is one more attempt for a sold-out product.
    expect(gate.refusal({ ...bought, idempotencyKey: randomUUID() })).toEqual({ message: expect.stringMatching(/is out of stock/) });
  });

  it('renews a marker while attempts keep coming: one attempt per renewal reaches the database', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer, { stock: 0 });
    const gate = gateOn(redis);
    expect(await outcome(placeOrder(db, order(product.id), gate))).toBe(409);
    await untilGateRefuses(gate, order(product.id));

    // Attempts the gate let through to the database (its first check), from 20 buyers at once.
    let letThrough = 0;
    const counting: StockGate = {
      ...gate,
      refusal: (attempt, options) => {
        const refused = gate.refusal(attempt, options);
        if (!refused && options?.renew !== false) letThrough++;
        return refused;
      },
    };
    const until = Date.now() + TIMING.markerMs;
    const codes: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (Date.now() < until) {
          codes.push(await outcome(placeOrder(db, order(product.id), counting)));
          await sleep(2);
        }
      }),
    );
    expect(new Set(codes)).toEqual(new Set([409]));
    expect(codes.length).toBeGreaterThan(200);
    // One marker lifetime: a renewal every markerMs - renewBeforeMs, one attempt each (a slow machine
    // may retry one). A marker that lapsed would let all 20 buyers through at once.
    const renewals = Math.ceil(TIMING.markerMs / (TIMING.markerMs - TIMING.renewBeforeMs));
    expect(letThrough).toBeGreaterThanOrEqual(1);
    expect(letThrough).toBeLessThanOrEqual(renewals + 2);
  });

  it('gives the same answer to the same attempt asked twice (the hot path, then the route), renewal pass included', async () => {
    let clock = 1_000_000;
    const gate = createStockGate({ now: () => clock });
    gates.push(gate);
    const productId = randomUUID();
    await gate.recordShortage({ productId, name: 'Kettle', available: 0, orders: [], releases: '0' });
    const [first, second] = [order(productId), order(productId)];
    expect(gate.refusal(first)).toBeDefined();
    expect(gate.refusal(first)).toBeDefined();
    // In the marker's last RENEW_BEFORE_MS one attempt gets the pass to the database, and keeps it when asked again.
    clock += REDIS_MARKER_MS - RENEW_BEFORE_MS + 1;
    expect(gate.refusal(first)).toBeUndefined();
    expect(gate.refusal(first)).toBeUndefined();
    expect(gate.refusal(second)).toBeDefined();
    // A pass not used within RENEW_RETRY_MS goes to the next attempt.
    clock += RENEW_RETRY_MS;
    expect(gate.refusal(second)).toBeUndefined();
    expect(gate.refusal(second)).toBeUndefined();
    expect(gate.refusal(first)).toBeDefined();
  });

  it('makes a cancelled order\'s unit sellable again in every process within RELEASE_SEEN_MS', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer, { stock: 1 });
    const [a, b] = [gateOn(redis), gateOn(redis)];
    const buyer = order(product.id);
    const { order: placed } = await placeOrder(db, buyer, a);
    expect(await outcome(placeOrder(db, order(product.id), b))).toBe(409);
    const waiting = order(product.id);
    await untilGateRefuses(a, waiting);
    await untilGateRefuses(b, waiting);

    await cancelOrder(db, { userId: buyer.userId, orderId: placed.id }, a);
    const releasedAt = Date.now();
    // The cancelling process knows at once; the other one within the bound.
    expect(a.refusal(waiting)).toBeUndefined();
    await sellsAgainWithin(b, product.id, releasedAt, RELEASE_SEEN_MS);
    expect(await stockOf(db.writer, product.id)).toBe(0);
  });

  it('makes a failed payment\'s units sellable again (the worker clears the marker)', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer, { stock: 2 });
    const [orders, worker] = [gateOn(redis), gateOn(redis)];
    const { order: placed } = await placeOrder(db, order(product.id, 2), orders);
    expect(await outcome(placeOrder(db, order(product.id), orders))).toBe(409);
    await untilGateRefuses(orders, order(product.id));

    await applyPaymentResult(
      db,
      { type: 'payment-result', orderId: placed.id, paymentId: randomUUID(), outcome: 'DECLINED', occurredAt: new Date().toISOString() },
      worker,
    );
    const releasedAt = Date.now();
    await sellsAgainWithin(orders, product.id, releasedAt, RELEASE_SEEN_MS, 2);
  });

  it('does not record what a refusal read before a release that came in between', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer, { stock: 0, name: 'Raced lamp' });
    const [refuser, releaser, reader] = [gateOn(redis), gateOn(redis), gateOn(redis)];
    const before = await refuser.releaseCounts([product.id]);
    await releaser.stockReleased([product.id]);
    await refuser.recordShortage({ productId: product.id, name: 'Raced lamp', available: 0, orders: [], releases: before![0] });

    // Neither the refusing process nor any other believes the stale shortage.
    const command = order(product.id);
    expect(refuser.refusal(command)).toBeUndefined();
    reader.refusal(command);
    await sleep(RELEASE_SEEN_MS * 2);
    expect(reader.refusal(command)).toBeUndefined();
    expect(await redis.hget('stock-gate:{sold-out}:markers', product.id)).toMatch(/^\d+\|released$/);
  });

  it('lets a marker lapse after its lifetime: stock raised outside the service sells again', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer, { stock: 0 });
    const gate = gateOn(redis);
    expect(await outcome(placeOrder(db, order(product.id), gate))).toBe(409);
    await untilGateRefuses(gate, order(product.id));
    await db.writer.query('UPDATE products SET stock = 1 WHERE id = $1', [product.id]);
    const raisedAt = Date.now();

    await sellsAgainWithin(gate, product.id, raisedAt, LONGEST_STALE_MS);
  });
});

describe('stock gate with Redis down', () => {
  let server: RedisServer;
  let client: RedisClient;
  beforeAll(async () => {
    server = await startRedisServer();
    client = createRedisClient(server.url, { keyPrefix: `gate-${randomUUID()}:` });
    client.on('error', () => undefined);
    expect(await connectRedis(client)).toBe(true);
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });

  it('still sells exactly N units; each process refuses from what it learnt itself, until its marker expires', async () => {
    const { db } = testDb;
    const units = 10;
    const product = await addProduct(db.writer, { stock: units });
    const [a, b] = [gateOn(client), gateOn(client)];
    await server.stop();

    const codes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => outcome(placeOrder(db, order(product.id), i % 2 ? a : b))),
    );
    expect(codes.filter((c) => c === 202)).toHaveLength(units);
    expect(codes.filter((c) => c === 409)).toHaveLength(200 - units);
    expect(await soldUnits(product.id)).toBe(units);
    expect(await stockOf(db.writer, product.id)).toBe(0);

    // Each process learnt it from its own refusals, without the database now; a marker lasts
    // a marker's lifetime (no release can reach it without Redis), then the database is asked again.
    for (const gate of [a, b]) {
      const refused = await placeOrder(NO_DATABASE, order(product.id), gate).catch((err: AppError) => err);
      expect(refused).toMatchObject({ statusCode: 409 });
    }
    const command = order(product.id);
    await sleep(TIMING.markerMs + 20);
    expect(a.refusal(command)).toBeUndefined();
  });

  it('a unit put back while Redis is down sells again within LONGEST_STALE_MS', async () => {
    const { db } = testDb;
    await server.start();
    expect(await connectRedis(client, 5000)).toBe(true);
    const product = await addProduct(db.writer, { stock: 1 });
    const [a, b] = [gateOn(client), gateOn(client)];
    const buyer = order(product.id);
    const { order: placed } = await placeOrder(db, buyer, a);
    expect(await outcome(placeOrder(db, order(product.id), b))).toBe(409);
    await untilGateRefuses(a, order(product.id));

    // Redis goes away before the cancel can clear the marker.
    await server.stop();
    await cancelOrder(db, { userId: buyer.userId, orderId: placed.id }, b);
    const releasedAt = Date.now();
    await sellsAgainWithin(a, product.id, releasedAt, LONGEST_STALE_MS);
    expect(await stockOf(db.writer, product.id)).toBe(0);
  });
});
