// The whole order -> payment -> order flow through SQS (fauxqs), the outbox relays and both workers,
// on the real PostgreSQL: orders end PAID or PAYMENT_FAILED (stock back), a duplicated delivery
// charges once, and poison messages end in the DLQs.
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { addProduct, stockOf } from '../../order/test/fixtures';
import { startOrderWorkers } from '../../order/worker';
import { startPaymentWorkers } from '../../payment/worker';
import { FAST_QUEUE, eventually, queueIsDrained, startPaymentFlow, type PaymentFlow } from './flow-harness';
import { countRows } from '../../test-support/testing';

let flow: PaymentFlow;
let emulator: PaymentFlow['emulator'];
let service: PaymentFlow['service'];
let queues: PaymentFlow['queues'];
let workers: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  flow = await startPaymentFlow();
  ({ emulator, service, queues } = flow);
  workers = [
    startOrderWorkers(service.ctx, { queue: FAST_QUEUE, relayIdleDelayMs: 25 }),
    startPaymentWorkers(service.ctx, { queue: FAST_QUEUE, relayIdleDelayMs: 25 }),
  ];
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await flow?.close();
});

const writer = () => service.database.db.writer;

async function placeOrder(productId: string, quantity: number, userId = randomUUID()) {
  const auth = await service.authFor(userId);
  const response = await service.request({
    method: 'POST',
    url: '/api/orders',
    headers: { ...auth, 'idempotency-key': randomUUID() },
    payload: { items: [{ productId, quantity }] },
  });
  expect(response.statusCode).toBe(202);
  return { order: response.json(), auth };
}


async function settledOrder(orderId: string, auth: { authorization: string }) {
  return eventually(
    async () => (await service.request({ url: `/api/orders/${orderId}`, headers: auth })).json(),
    (order) => order.status !== 'PENDING',
  );
}


describe('order -> payment -> order', () => {
  it('ends PAID with one SUCCEEDED payment, visible only to the buyer', async () => {
    const product = await addProduct(writer(), { priceCents: 1_000, stock: 5 });
    const { order, auth } = await placeOrder(product.id, 2);

    expect(await settledOrder(order.id, auth)).toMatchObject({ id: order.id, status: 'PAID' });
    expect(await stockOf(writer(), product.id)).toBe(3);

    const payments = (await service.request({ url: `/api/payments?orderId=${order.id}`, headers: auth })).json();
    expect(payments.items).toEqual([
      expect.objectContaining({ orderId: order.id, amountCents: 2_000, currency: 'USD', status: 'SUCCEEDED', provider: 'sandbox' }),
    ]);
    const paymentId = payments.items[0].id;
    expect((await service.request({ url: `/api/payments/${paymentId}`, headers: auth })).json()).toEqual(payments.items[0]);

    const stranger = await service.authFor();
    const theirView = await service.request({ url: `/api/payments/${paymentId}`, headers: stranger });
    expect(theirView.statusCode).toBe(404);
    expect(theirView.json()).toEqual({ error: 'not_found', message: `payment ${paymentId} does not exist` });
    expect((await service.request({ url: `/api/payments?orderId=${order.id}`, headers: stranger })).json()).toEqual({ items: [] });
    expect((await service.request({ url: `/api/payments/${paymentId}` })).statusCode).toBe(401);
  });

  it('ends PAYMENT_FAILED with the stock released when the sandbox declines (total ending in 13 cents)', async () => {
    const product = await addProduct(writer(), { priceCents: 1_213, stock: 5 });
    const { order, auth } = await placeOrder(product.id, 1);
    expect(await stockOf(writer(), product.id)).toBe(4);

    expect(await settledOrder(order.id, auth)).toMatchObject({ status: 'PAYMENT_FAILED' });
    expect(await stockOf(writer(), product.id)).toBe(5);
    const payments = (await service.request({ url: `/api/payments?orderId=${order.id}`, headers: auth })).json();
    expect(payments.items).toEqual([expect.objectContaining({ status: 'DECLINED', declineReason: 'card_declined' })]);
  });

  it('charges once when SQS delivers the same order-placed message twice', async () => {
    const product = await addProduct(writer(), { priceCents: 700, stock: 5 });
    const { order, auth } = await placeOrder(product.id, 1);
    // The very event the relay publishes, sent again as SQS's at-least-once delivery may.
    const { rows } = await writer().query(`SELECT payload FROM outbox WHERE topic = 'order-placed' AND payload->>'orderId' = $1`, [
      order.id,
    ]);
    await emulator.sqs.send(new SendMessageCommand({ QueueUrl: queues.orderPlaced.queueUrl, MessageBody: JSON.stringify(rows[0].payload) }));

    expect(await settledOrder(order.id, auth)).toMatchObject({ status: 'PAID' });
    const sent = await eventually(
      () => countRows(writer(), `SELECT 1 FROM outbox WHERE topic = 'order-placed' AND sent_at IS NULL`),
      (pending) => pending === 0,
    );
    expect(sent).toBe(0);
    expect(await eventually(() => queueIsDrained(emulator, queues.orderPlaced.queueUrl), Boolean)).toBe(true);
    // Drained because both copies were handled, not because one was dead-lettered.
    const { Messages = [] } = await emulator.sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.orderPlaced.dlqUrl!, WaitTimeSeconds: 0 }));
    expect(Messages).toEqual([]);

    expect(await countRows(writer(), 'SELECT 1 FROM payments WHERE order_id = $1', [order.id])).toBe(1);
    expect(await countRows(writer(), `SELECT 1 FROM sandbox_charges WHERE idempotency_key = $1`, [`order-${order.id}`])).toBe(1);
    expect(
      await countRows(writer(), `SELECT 1 FROM outbox WHERE topic = 'payment-result' AND payload->>'orderId' = $1`, [order.id]),
    ).toBe(1);
  });

  it('moves poison messages to the DLQ after maxReceiveCount, touching nothing', async () => {
    const paymentsBefore = await countRows(writer(), 'SELECT 1 FROM payments');
    const poison = ['not json at all', JSON.stringify({ type: 'order-placed', orderId: 'nope' })];
    for (const body of poison) {
      await emulator.sqs.send(new SendMessageCommand({ QueueUrl: queues.orderPlaced.queueUrl, MessageBody: body }));
    }
    // A well-formed result for an order that does not exist cannot be applied either.
    const orphan = JSON.stringify({
      type: 'payment-result',
      orderId: randomUUID(),
      paymentId: randomUUID(),
      outcome: 'SUCCEEDED',
      occurredAt: new Date().toISOString(),
    });
    await emulator.sqs.send(new SendMessageCommand({ QueueUrl: queues.paymentResult.queueUrl, MessageBody: orphan }));

    const deadLettered = async (dlqUrl: string, expected: number) => {
      const bodies: string[] = [];
      await eventually(
        async () => {
          const { Messages = [] } = await emulator.sqs.send(
            new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }),
          );
          bodies.push(...Messages.map((m) => m.Body!));
          return bodies.length;
        },
        (count) => count >= expected,
        15_000,
      );
      return bodies;
    };
    expect((await deadLettered(queues.orderPlaced.dlqUrl!, 2)).sort()).toEqual([...poison].sort());
    expect(await deadLettered(queues.paymentResult.dlqUrl!, 1)).toEqual([orphan]);
    expect(await countRows(writer(), 'SELECT 1 FROM payments')).toBe(paymentsBefore);
  });
});

describe('GET /api/payments input checks', () => {
  it.each([
    ['/api/payments?orderId=123', /querystring\.orderId must match format "uuid"/],
    ['/api/payments?limit=500', /querystring\.limit must be <= 100/],
    ['/api/payments?status=PAID', /querystring\.status is not allowed/],
    ['/api/payments/xyz', /params\.id must match format "uuid"/],
  ])('answers 400 for %s, naming the problem', async (url, message) => {
    const response = await service.request({ url, headers: await service.authFor() });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'bad_request', message: expect.stringMatching(message) });
  });
});
