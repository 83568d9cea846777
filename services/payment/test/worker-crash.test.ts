// A payment worker killed (SIGKILL) after the provider charged but before the outcome was recorded:
// SQS redelivers the message, another worker resumes the same payment, and the card is charged once.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createTestContext, createTestDatabase, startSqsEmulator, type SqsEmulator, type TestDatabase, countRows } from '../../test-support/testing';
import type { ServiceContext } from '../../platform/context';
import type { OrderPlacedEvent } from '../../contracts/events';
import { startPaymentWorkers } from '../worker';

let emulator: SqsEmulator;
let database: TestDatabase;
let child: ChildProcess | undefined;
let ctx: ServiceContext | undefined;
let survivor: { stop(): Promise<void> } | undefined;

beforeAll(async () => {
  [emulator, database] = await Promise.all([startSqsEmulator(), createTestDatabase()]);
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await survivor?.stop();
  await ctx?.close();
  await emulator?.stop();
  await database?.drop();
});

async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('charges once when the worker dies between the charge and recording it', async () => {
  const orderPlaced = await emulator.createQueue(`order-placed-${randomUUID()}`, { dlq: true, maxReceiveCount: 5 });
  const paymentResult = await emulator.createQueue(`payment-result-${randomUUID()}`);
  const env = {
    ...process.env,
    DATABASE_URL: database.url,
    SQS_ENDPOINT: emulator.endpoint,
    ORDER_PLACED_QUEUE_URL: orderPlaced.queueUrl,
    PAYMENT_RESULT_QUEUE_URL: paymentResult.queueUrl,
    // The sandbox records the charge half-way (1.5 s), then "answers" 1.5 s later: a wide window to kill in.
    PAYMENT_SANDBOX_LATENCY_MS: '3000',
  };
  child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'payment-worker-process.ts')], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child!.once('exit', (code) => reject(new Error(`worker process exited early with code ${code}`)));
    createInterface({ input: child!.stdout! }).once('line', () => resolve());
  });

  const event: OrderPlacedEvent = {
    type: 'order-placed',
    orderId: randomUUID(),
    userId: randomUUID(),
    totalCents: 4_200,
    currency: 'USD',
    items: [{ productId: randomUUID(), quantity: 1, unitPriceCents: 4_200 }],
    occurredAt: new Date().toISOString(),
  };
  await emulator.sqs.send(new SendMessageCommand({ QueueUrl: orderPlaced.queueUrl, MessageBody: JSON.stringify(event) }));

  // The provider has charged; the worker is now waiting for the provider's answer. Kill it.
  const key = `order-${event.orderId}`;
  const chargesOf = () => countRows(database.db.writer, 'SELECT 1 FROM sandbox_charges WHERE idempotency_key = $1', [key]);
  await waitFor(chargesOf, (n) => n === 1, 10_000, 'the sandbox charge');
  const killed = new Promise((resolve) => child!.once('exit', resolve));
  child.kill('SIGKILL');
  await killed;
  const { rows: before } = await database.db.writer.query('SELECT status FROM payments WHERE order_id = $1', [event.orderId]);
  expect(before).toEqual([{ status: 'PENDING' }]);
  const { rows: charge } = await database.db.writer.query('SELECT reference FROM sandbox_charges WHERE idempotency_key = $1', [key]);

  // Another worker instance picks the message up once its visibility (2 s) runs out.
  ctx = await createTestContext({
    databaseUrl: database.url,
    sqsEndpoint: emulator.endpoint,
    queueUrls: { orderPlaced: orderPlaced.queueUrl, paymentResult: paymentResult.queueUrl },
    env: { PAYMENT_SANDBOX_LATENCY_MS: '20' },
  });
  survivor = startPaymentWorkers(ctx, { queue: { waitTimeSeconds: 1, visibilityTimeoutSeconds: 2 }, relayIdleDelayMs: 25 });
  const paymentOf = async () =>
    (await database.db.writer.query('SELECT status, provider_reference FROM payments WHERE order_id = $1', [event.orderId])).rows;
  const after = await waitFor(paymentOf, (rows) => rows[0]?.status !== 'PENDING', 15_000, 'the resumed payment');

  expect(after).toEqual([{ status: 'SUCCEEDED', provider_reference: charge[0].reference }]);
  expect(await chargesOf()).toBe(1);
  expect(
    await countRows(database.db.writer, `SELECT 1 FROM outbox WHERE topic = 'payment-result' AND payload->>'orderId' = $1`, [
      event.orderId,
    ]),
  ).toBe(1);
}, 30_000);
