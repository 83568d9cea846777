// Cancelling through the whole system: HTTP cancel -> outbox -> SQS (fauxqs) -> payment worker, and
// the payment result reaching the order worker afterwards, on the real PostgreSQL. The buyer ends
// with no net charge, the order stays CANCELLED and its stock comes back once.
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { addProduct, stockOf } from '../../order/test/fixtures';
import { ORDER_PLACED } from '../../contracts/events';
import { startOutboxRelay } from '../../platform/messaging/outbox';
import { startOrderWorkers } from '../../order/worker';
import { startPaymentWorkers } from '../../payment/worker';
import { FAST_QUEUE, eventually, queueIsDrained, startPaymentFlow, type PaymentFlow } from './flow-harness';
import { countRows } from '../../test-support/testing';

let flow: PaymentFlow;
let emulator: PaymentFlow['emulator'];
let service: PaymentFlow['service'];
let queues: PaymentFlow['queues'];
let running: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  flow = await startPaymentFlow();
  ({ emulator, service, queues } = flow);
});
// Each test starts the workers it needs, so it can hold one side back.
afterEach(async () => {
  await Promise.all(running.map((worker) => worker.stop()));
  running = [];
  // stop() abandons a long poll mid-wait; the emulator (like SQS) may still hand that poll a message,
  // hiding it for the visibility timeout. Let the poll expire before the next test publishes.
  await sleep(FAST_QUEUE.waitTimeSeconds * 1000 + 200);
});
afterAll(async () => {
  await flow?.close();
});

const writer = () => service.database.db.writer;
const startPaymentWorker = () => running.push(startPaymentWorkers(service.ctx, { queue: FAST_QUEUE, relayIdleDelayMs: 25 }));
const startOrderWorker = () => running.push(startOrderWorkers(service.ctx, { queue: FAST_QUEUE, relayIdleDelayMs: 25 }));
/** The order service's outbox relay alone, without the order worker's payment-result consumer. */
const startOrderEventsRelay = () =>
  running.push(
    startOutboxRelay({
      pool: service.ctx.db.writer,
      sqs: service.ctx.sqs,
      topic: ORDER_PLACED,
      queueUrl: queues.orderPlaced.queueUrl,
      logger: service.ctx.logger,
      idleDelayMs: 25,
    }),
  );
const TEST_TIMEOUT_MS = 30_000;


async function placeOrder(productId: string, quantity: number) {
  const auth = await service.authFor();
  const response = await service.request({
    method: 'POST',
    url: '/api/orders',
    headers: { ...auth, 'idempotency-key': randomUUID() },
    payload: { items: [{ productId, quantity }] },
  });
  expect(response.statusCode).toBe(202);
  return { orderId: response.json().id as string, auth };
}

async function cancel(orderId: string, auth: { authorization: string }) {
  const response = await service.request({ method: 'POST', url: `/api/orders/${orderId}/cancel`, headers: auth });
  expect(response.statusCode).toBe(200);
  expect(response.json().status).toBe('CANCELLED');
}

const paymentsOf = async (orderId: string, auth: { authorization: string }) =>
  (await service.request({ url: `/api/payments?orderId=${orderId}`, headers: auth })).json().items;
const orderStatus = async (orderId: string, auth: { authorization: string }) =>
  (await service.request({ url: `/api/orders/${orderId}`, headers: auth })).json().status;
const ledger = async (orderId: string) => ({
  charges: await countRows(writer(), `SELECT 1 FROM sandbox_charges WHERE idempotency_key = 'order-' || $1`, [orderId]),
  refunds: await countRows(writer(), `SELECT 1 FROM sandbox_refunds WHERE idempotency_key = 'refund-' || $1`, [orderId]),
});


async function deadLetters(dlqUrl: string): Promise<number> {
  const { Messages = [] } = await emulator.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  return Messages.length;
}

describe('cancel vs payment, end to end', () => {
  it('refunds once and keeps the order CANCELLED when the cancel comes after the charge was recorded but before PAID was applied', async () => {
    const product = await addProduct(writer(), { priceCents: 800, stock: 5 });
    // Events reach the payment worker, but the order worker waits: the payment result is not applied yet.
    startOrderEventsRelay();
    startPaymentWorker();
    const { orderId, auth } = await placeOrder(product.id, 2);
    expect(await eventually(() => paymentsOf(orderId, auth), (items) => items[0]?.status === 'SUCCEEDED')).toEqual([
      expect.objectContaining({ status: 'SUCCEEDED', amountCents: 1_600, refundReference: null }),
    ]);
    expect(await orderStatus(orderId, auth)).toBe('PENDING');

    await cancel(orderId, auth);
    expect(await stockOf(writer(), product.id)).toBe(5);
    const [refunded] = await eventually(() => paymentsOf(orderId, auth), (items) => items[0]?.status === 'REFUNDED');
    expect(refunded).toEqual(
      expect.objectContaining({ orderId, status: 'REFUNDED', providerReference: expect.stringMatching(/^sbx_/), refundReference: expect.stringMatching(/^sbx_rf_/) }),
    );

    // SQS delivers the cancel again: still one refund.
    const { rows } = await writer().query(`SELECT payload FROM outbox WHERE payload->>'type' = 'order-cancelled' AND payload->>'orderId' = $1`, [orderId]);
    await emulator.sqs.send(new SendMessageCommand({ QueueUrl: queues.orderPlaced.queueUrl, MessageBody: JSON.stringify(rows[0].payload) }));
    expect(await eventually(() => queueIsDrained(emulator, queues.orderPlaced.queueUrl), Boolean)).toBe(true);

    // Now the SUCCEEDED result reaches the order worker: the CANCELLED order and its released stock stay as they are.
    startOrderWorker();
    expect(await eventually(() => queueIsDrained(emulator, queues.paymentResult.queueUrl), Boolean)).toBe(true);
    expect(await countRows(writer(), `SELECT 1 FROM outbox WHERE topic = 'payment-result' AND payload->>'orderId' = $1 AND sent_at IS NOT NULL`, [orderId])).toBe(1);
    expect(await orderStatus(orderId, auth)).toBe('CANCELLED');
    expect(await stockOf(writer(), product.id)).toBe(5);
    expect(await ledger(orderId)).toEqual({ charges: 1, refunds: 1 });
    expect(await paymentsOf(orderId, auth)).toEqual([refunded]);
    expect([await deadLetters(queues.orderPlaced.dlqUrl!), await deadLetters(queues.paymentResult.dlqUrl!)]).toEqual([0, 0]);
  }, TEST_TIMEOUT_MS);

  it('ends with no net charge for an order cancelled before the payment worker saw it', async () => {
    const product = await addProduct(writer(), { priceCents: 900, stock: 5 });
    // Only the order service's relay runs: order-placed and then order-cancelled are published, but no payment worker consumes yet.
    startOrderEventsRelay();
    const { orderId, auth } = await placeOrder(product.id, 1);
    await cancel(orderId, auth);
    expect(await stockOf(writer(), product.id)).toBe(5);
    await eventually(
      () => countRows(writer(), `SELECT 1 FROM outbox WHERE topic = 'order-placed' AND payload->>'orderId' = $1 AND sent_at IS NULL`, [orderId]),
      (pending) => pending === 0,
    );

    // Both events wait in the queue; SQS promises no order between them, and the payment service
    // knows only the events it has received. order-cancelled first: the payment closes CANCELLED and
    // order-placed charges nothing. order-placed first: the charge is refunded in full.
    startPaymentWorker();
    expect(await eventually(() => queueIsDrained(emulator, queues.orderPlaced.queueUrl), Boolean)).toBe(true);
    const [payment] = await paymentsOf(orderId, auth);
    const { charges, refunds } = await ledger(orderId);
    expect(charges).toBe(refunds);
    expect(payment).toMatchObject(
      charges === 0 ? { orderId, status: 'CANCELLED', providerReference: null } : { orderId, status: 'REFUNDED', refundReference: expect.any(String) },
    );
    expect(await deadLetters(queues.orderPlaced.dlqUrl!)).toBe(0);
    expect(await orderStatus(orderId, auth)).toBe('CANCELLED');
    expect(await stockOf(writer(), product.id)).toBe(5);
  }, TEST_TIMEOUT_MS);
});
