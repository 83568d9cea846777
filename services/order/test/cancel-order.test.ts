// HTTP and use-case tests of POST /api/orders/:id/cancel on the real PostgreSQL and Redis: the
// contract (200, replay, 404, 409 naming the status, 400), the stock coming back exactly once, the
// order-cancelled outbox event, concurrent cancels, and a payment result that arrives afterwards.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PaymentResultEvent } from '../../contracts/events';
import { settleOrder } from '../data/orders';
import { orderRoutes } from '../routes';
import { applyPaymentResult } from '../use-cases/apply-payment-result';
import { cancelOrder } from '../use-cases/cancel-order';
import { addProduct, stockOf } from './fixtures';
import { startTestService, type TestService } from './harness';
import { countRows } from '../../test-support/testing';

let service: TestService;
beforeAll(async () => {
  // A high 'orders' limit: the concurrency test sends 20 cancels from one user.
  service = await startTestService([orderRoutes], { redis: true, env: { RATE_LIMIT_ORDERS_PER_MINUTE: '100000' } });
});
afterAll(async () => {
  await service?.close();
});

const writer = () => service.database.db.writer;

/** Places an order for `quantity` units of a new product with `stock` units; returns both ids and the buyer. */
async function pendingOrder(options: { stock?: number; quantity?: number } = {}) {
  const product = await addProduct(writer(), { priceCents: 1_500, stock: options.stock ?? 10 });
  const userId = randomUUID();
  const auth = await service.authFor(userId);
  const placed = await service.request({
    method: 'POST',
    url: '/api/orders',
    headers: { ...auth, 'idempotency-key': randomUUID() },
    payload: { items: [{ productId: product.id, quantity: options.quantity ?? 3 }] },
  });
  expect(placed.statusCode).toBe(202);
  return { orderId: placed.json().id as string, productId: product.id, userId, auth };
}

function cancel(orderId: string, headers: Record<string, string>, payload?: unknown) {
  return service.request({ method: 'POST', url: `/api/orders/${orderId}/cancel`, headers, payload });
}

const cancelledEvents = (orderId: string) =>
  writer().query<{ topic: string; payload: Record<string, unknown> }>(
    `SELECT topic, payload FROM outbox WHERE payload->>'type' = 'order-cancelled' AND payload->>'orderId' = $1`,
    [orderId],
  );

const paymentResult = (orderId: string, outcome: 'SUCCEEDED' | 'DECLINED'): PaymentResultEvent => ({
  type: 'payment-result',
  orderId,
  paymentId: randomUUID(),
  outcome,
  occurredAt: new Date().toISOString(),
});

describe('POST /api/orders/:id/cancel', () => {
  it('cancels a PENDING order: 200 with the order, stock back, one order-cancelled event in the outbox', async () => {
    const { orderId, productId, userId, auth } = await pendingOrder({ stock: 10, quantity: 3 });
    expect(await stockOf(writer(), productId)).toBe(7);

    const response = await cancel(orderId, auth);
    expect(response.statusCode).toBe(200);
    expect(response.headers['idempotent-replayed']).toBeUndefined();
    expect(response.json()).toEqual({
      id: orderId,
      status: 'CANCELLED',
      totalCents: 4_500,
      currency: 'USD',
      items: [{ productId, quantity: 3, unitPriceCents: 1_500 }],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(await stockOf(writer(), productId)).toBe(10);
    const read = await service.request({ url: `/api/orders/${orderId}`, headers: auth });
    expect(read.json()).toEqual(response.json());

    const { rows } = await cancelledEvents(orderId);
    expect(rows).toEqual([
      {
        topic: 'order-placed', // the queue that carries every order event to the payment worker
        payload: { type: 'order-cancelled', orderId, userId, totalCents: 4_500, currency: 'USD', occurredAt: expect.any(String) },
      },
    ]);
  });

  it('accepts an empty JSON object as the body, and nothing else', async () => {
    const { orderId, auth } = await pendingOrder();
    const extra = await cancel(orderId, auth, { reason: 'changed my mind' });
    expect(extra.statusCode).toBe(400);
    expect(extra.json()).toEqual({ error: 'bad_request', message: 'body.reason is not allowed' });
    for (const body of [[], 'null', '"now"']) {
      const odd = await cancel(orderId, { ...auth, 'content-type': 'application/json' }, typeof body === 'string' ? body : JSON.stringify(body));
      expect(odd.json()).toEqual({ error: 'bad_request', message: 'body must be empty or {}' });
    }
    const malformed = await cancel(orderId, { ...auth, 'content-type': 'application/json' }, '{');
    expect(malformed.statusCode).toBe(400);
    expect((await service.request({ url: `/api/orders/${orderId}`, headers: auth })).json().status).toBe('PENDING');
    const empty = await cancel(orderId, auth, {});
    expect(empty.statusCode).toBe(200);
    expect(empty.json().status).toBe('CANCELLED');
  });

  it('replays 200 for an order already CANCELLED, releasing nothing and sending no second event', async () => {
    const { orderId, productId, auth } = await pendingOrder({ stock: 10, quantity: 3 });
    const first = await cancel(orderId, auth);
    const again = await cancel(orderId, auth);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(await stockOf(writer(), productId)).toBe(10);
    expect((await cancelledEvents(orderId)).rows).toHaveLength(1);
  });

  it("answers 404 for another buyer's order and for an unknown one, 400 for an id that is not a UUID, 401 without a token", async () => {
    const { orderId, productId } = await pendingOrder({ stock: 10, quantity: 3 });
    const stranger = await cancel(orderId, await service.authFor());
    expect(stranger.statusCode).toBe(404);
    expect(stranger.json()).toEqual({ error: 'not_found', message: `order ${orderId} does not exist` });
    expect(await stockOf(writer(), productId)).toBe(7);
    expect((await cancelledEvents(orderId)).rows).toHaveLength(0);

    const unknown = randomUUID();
    const missing = await cancel(unknown, await service.authFor());
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'not_found', message: `order ${unknown} does not exist` });

    const malformed = await cancel('42', await service.authFor());
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toEqual({ error: 'bad_request', message: expect.stringMatching(/params\.id must match format "uuid"/) });

    const anonymous = await cancel(orderId, {});
    expect(anonymous.statusCode).toBe(401);
  });

  it.each([
    ['PAID', 'SUCCEEDED', 7],
    ['PAYMENT_FAILED', 'DECLINED', 10],
  ] as const)('answers 409 naming the status for a %s order, changing nothing', async (status, outcome, stockAfter) => {
    const { orderId, productId, auth } = await pendingOrder({ stock: 10, quantity: 3 });
    expect(await applyPaymentResult(service.database.db, paymentResult(orderId, outcome))).toBe('settled');

    const response = await cancel(orderId, auth);
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({
      error: 'conflict',
      message: `order ${orderId} is ${status}; only a PENDING order can be cancelled`,
    });
    expect((await service.request({ url: `/api/orders/${orderId}`, headers: auth })).json().status).toBe(status);
    expect(await stockOf(writer(), productId)).toBe(stockAfter);
    expect((await cancelledEvents(orderId)).rows).toHaveLength(0);
  });

  it('releases the stock once when 20 cancels of one order race', async () => {
    const { orderId, productId, auth } = await pendingOrder({ stock: 10, quantity: 4 });
    const responses = await Promise.all(Array.from({ length: 20 }, () => cancel(orderId, auth)));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    expect(responses.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(await stockOf(writer(), productId)).toBe(10);
    expect((await cancelledEvents(orderId)).rows).toHaveLength(1);
  });

  it("shares the 'orders' rate limit policy with placing orders", async () => {
    const { orderId, auth } = await pendingOrder();
    const response = await cancel(orderId, auth);
    expect(response.headers['ratelimit-policy']).toMatch(/^"orders";/);
  });
});

describe('a payment result arriving after the cancel', () => {
  it.each(['SUCCEEDED', 'DECLINED'] as const)(
    'leaves the order CANCELLED and its stock released once (%s)',
    async (outcome) => {
      const { orderId, productId, userId } = await pendingOrder({ stock: 10, quantity: 3 });
      await cancelOrder(service.database.db, { userId, orderId });
      expect(await applyPaymentResult(service.database.db, paymentResult(orderId, outcome))).toBe('already-settled');
      expect(await applyPaymentResult(service.database.db, paymentResult(orderId, outcome))).toBe('already-settled');
      const { rows } = await writer().query('SELECT status FROM orders WHERE id = $1', [orderId]);
      expect(rows[0].status).toBe('CANCELLED');
      expect(await stockOf(writer(), productId)).toBe(10);
    },
  );

  it('waits for a payment result being applied, then answers 409 naming the status it committed', async () => {
    const { orderId, productId, userId } = await pendingOrder({ stock: 10, quantity: 3 });
    const settling = await writer().connect();
    try {
      await settling.query('BEGIN');
      expect(await settleOrder(settling, orderId, 'PAID')).toBe(true); // holds the order row's lock
      let finished = false;
      const cancelling = cancelOrder(service.database.db, { userId, orderId }).finally(() => (finished = true));
      cancelling.catch(() => undefined); // asserted below
      await sleep(200);
      expect(finished).toBe(false);
      await settling.query('COMMIT');
      await expect(cancelling).rejects.toMatchObject({ statusCode: 409, message: `order ${orderId} is PAID; only a PENDING order can be cancelled` });
    } finally {
      settling.release();
    }
    expect(await stockOf(writer(), productId)).toBe(7);
  });

  it('ends with one winner when a cancel and a payment result race: stock released at most once', async () => {
    for (const outcome of ['SUCCEEDED', 'DECLINED'] as const) {
      for (let round = 0; round < 5; round++) {
        const { orderId, productId, userId } = await pendingOrder({ stock: 10, quantity: 3 });
        const [cancelled, applied] = await Promise.allSettled([
          cancelOrder(service.database.db, { userId, orderId }),
          applyPaymentResult(service.database.db, paymentResult(orderId, outcome)),
        ]);
        const { rows } = await writer().query('SELECT status FROM orders WHERE id = $1', [orderId]);
        const status = rows[0].status;
        if (cancelled.status === 'fulfilled') {
          expect(status).toBe('CANCELLED');
          expect(applied).toEqual({ status: 'fulfilled', value: 'already-settled' });
        } else {
          expect(status).toBe(outcome === 'SUCCEEDED' ? 'PAID' : 'PAYMENT_FAILED');
          expect(cancelled.reason).toMatchObject({ statusCode: 409 });
        }
        // Released by the cancel or by the failed payment, never by both.
        expect(await stockOf(writer(), productId)).toBe(status === 'PAID' ? 7 : 10);
        expect(await countRows(writer(), `SELECT 1 FROM outbox WHERE payload->>'type' = 'order-cancelled' AND payload->>'orderId' = $1`, [orderId])).toBe(
          status === 'CANCELLED' ? 1 : 0,
        );
      }
    }
  });
});

describe('OpenAPI', () => {
  it('documents the cancel route from its schema', async () => {
    const document = (await service.request({ url: '/openapi.json' })).json();
    const operation = document.paths['/api/orders/{id}/cancel']?.post;
    expect(operation).toMatchObject({
      summary: expect.stringMatching(/^Cancel a PENDING order/),
      parameters: [expect.objectContaining({ in: 'path', name: 'id', required: true })],
    });
    expect(operation.requestBody).toBeUndefined();
    expect(operation.responses['200'].content['application/json'].schema.properties.status.anyOf).toEqual(
      expect.arrayContaining([expect.objectContaining({ enum: ['CANCELLED'] })]),
    );
  });
});
