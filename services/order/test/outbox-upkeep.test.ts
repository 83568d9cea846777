// Day-two growth (issue 14, item 10), against the real PostgreSQL and fauxqs: a row SQS keeps refusing
// is parked and no longer holds up the rows behind it; failures that are not the row's fault never
// park anything; sent outbox rows and used Idempotency-Keys are deleted after their retention, in
// bounded batches; and the worker runs that upkeep and reports parked rows as a metric.
import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, SendMessageBatchCommand, SQSClient, type SendMessageBatchResult } from '@aws-sdk/client-sqs';
import { createTestContext, createTestDatabase, startSqsEmulator, countRows } from '../../test-support/testing';
import { deleteExpiredIdempotencyKeys, IDEMPOTENCY_KEY_RETENTION_SECONDS } from '../data/idempotency-keys';
import { deleteSentOutboxRows, enqueueEvent, OUTBOX_MAX_ATTEMPTS, relayOutboxBatch, SENT_OUTBOX_RETENTION_SECONDS } from '../../platform/messaging/outbox';
import { deleteInBatches } from '../../platform/messaging/upkeep';
import { placeOrder } from '../use-cases/place-order';
import { startOrderWorkers } from '../worker';
import { addProduct, newUserId } from './fixtures';

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let sqsEmulator: Awaited<ReturnType<typeof startSqsEmulator>>;
const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };

beforeAll(async () => {
  [testDb, sqsEmulator] = await Promise.all([createTestDatabase(), startSqsEmulator()]);
}, 30_000);
afterAll(async () => {
  await sqsEmulator?.stop();
  await testDb?.drop();
});

async function receiveAll(queueUrl: string, expected: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let polls = 0; polls < 20 && bodies.length < expected; polls++) {
    const { Messages = [] } = await sqsEmulator.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }),
    );
    bodies.push(...Messages.map((m) => m.Body!));
  }
  return bodies;
}

async function outboxRow(topic: string, where: string): Promise<{ attempts: number; parked: boolean; sent: boolean; lastError: string | null }> {
  const { rows } = await testDb.db.writer.query(
    `SELECT attempts, parked_at IS NOT NULL AS parked, sent_at IS NOT NULL AS sent, last_error AS "lastError"
       FROM outbox WHERE topic = $1 AND ${where}`,
    [topic],
  );
  return rows[0];
}

/** Relays until no row of the topic is left to send (all sent or parked), at most `passes` times. */
async function relayPasses(options: Parameters<typeof relayOutboxBatch>[0], passes = 20): Promise<void> {
  const unsettled = () => countRows(testDb.db.writer, 'SELECT 1 FROM outbox WHERE topic = $1 AND sent_at IS NULL AND parked_at IS NULL', [options.topic]);
  for (let pass = 0; pass < passes && (await unsettled()) > 0; pass++) await relayOutboxBatch(options).catch(() => undefined);
}

describe('parked outbox rows', () => {
  it('parks a row SQS refuses as too large after the maximum attempts, and relays every row behind it', async () => {
    const { queueUrl } = await sqsEmulator.createQueue('park-too-large');
    // Over SQS's 1 MiB limit: every batch holding it is refused whole (BatchRequestTooLong).
    await enqueueEvent(testDb.db.writer, 'too-large', { n: -1, padding: 'x'.repeat(1_100_000) });
    for (let i = 0; i < 12; i++) await enqueueEvent(testDb.db.writer, 'too-large', { n: i });
    const metrics = { count: jest.fn() };

    await relayPasses({ pool: testDb.db.writer, sqs: sqsEmulator.sqs, topic: 'too-large', queueUrl, logger, metrics });

    const bodies = await receiveAll(queueUrl, 12);
    expect(bodies.map((b) => JSON.parse(b).n).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(await outboxRow('too-large', `payload->>'n' = '-1'`)).toEqual({
      attempts: OUTBOX_MAX_ATTEMPTS,
      parked: true,
      sent: false,
      lastError: expect.stringMatching(/^BatchRequestTooLong: /),
    });
    expect(metrics.count).toHaveBeenCalledWith('OutboxRowsParked', { Topic: 'too-large' }, 1);
    expect(logger.error).toHaveBeenCalledWith(expect.objectContaining({ topic: 'too-large' }), expect.stringContaining('parked'));
    // Parked rows are never selected again: nothing is pending, nothing is sent.
    expect(await relayOutboxBatch({ pool: testDb.db.writer, sqs: sqsEmulator.sqs, topic: 'too-large', queueUrl, logger })).toBe(0);
  }, 30_000);

  it('parks an entry SQS rejects as the sender\'s fault, and never one SQS failed on its own side', async () => {
    const { queueUrl } = await sqsEmulator.createQueue('park-entry');
    await enqueueEvent(testDb.db.writer, 'entry', { n: 0, kind: 'invalid' });
    await enqueueEvent(testDb.db.writer, 'entry', { n: 1, kind: 'unlucky' });
    await enqueueEvent(testDb.db.writer, 'entry', { n: 2, kind: 'fine' });
    // In front of the emulator: SQS answers the first entry with a sender fault (as for invalid
    // characters) and the second with its own fault (InternalError) on every send.
    const sqs = {
      send: async (command: SendMessageBatchCommand) => {
        const entries = command.input.Entries ?? [];
        const rejected = (kind: string) => entries.filter((e) => JSON.parse(e.MessageBody!).kind === kind);
        const passed = entries.filter((e) => !['invalid', 'unlucky'].includes(JSON.parse(e.MessageBody!).kind));
        const result: SendMessageBatchResult = passed.length > 0 ? await sqsEmulator.sqs.send(new SendMessageBatchCommand({ ...command.input, Entries: passed })) : { Successful: [], Failed: [] };
        return {
          Successful: result.Successful ?? [],
          Failed: [
            ...rejected('invalid').map((e) => ({ Id: e.Id, SenderFault: true, Code: 'InvalidMessageContents', Message: 'Invalid characters found' })),
            ...rejected('unlucky').map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'try again' })),
          ],
        };
      },
    } as unknown as SQSClient;

    for (let pass = 0; pass < OUTBOX_MAX_ATTEMPTS + 3; pass++) {
      await relayOutboxBatch({ pool: testDb.db.writer, sqs, topic: 'entry', queueUrl, logger });
    }

    expect(await outboxRow('entry', `payload->>'n' = '0'`)).toEqual({
      attempts: OUTBOX_MAX_ATTEMPTS,
      parked: true,
      sent: false,
      lastError: 'InvalidMessageContents: Invalid characters found',
    });
    expect(await outboxRow('entry', `payload->>'n' = '1'`)).toMatchObject({ attempts: 0, parked: false, sent: false });
    expect(await outboxRow('entry', `payload->>'n' = '2'`)).toMatchObject({ sent: true });
  });

  it('never parks rows while SQS is unreachable', async () => {
    await enqueueEvent(testDb.db.writer, 'unreachable', { n: 0 });
    const unreachable = new SQSClient({
      endpoint: 'http://127.0.0.1:9', // discard port: connection refused
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    try {
      for (let pass = 0; pass < OUTBOX_MAX_ATTEMPTS + 2; pass++) {
        await expect(relayOutboxBatch({ pool: testDb.db.writer, sqs: unreachable, topic: 'unreachable', queueUrl: 'http://127.0.0.1:9/q', logger })).rejects.toThrow();
      }
    } finally {
      unreachable.destroy();
    }
    expect(await outboxRow('unreachable', 'true')).toEqual({ attempts: 0, parked: false, sent: false, lastError: null });
  }, 20_000);
});

describe('retention', () => {
  /** A row of `topic` sent `secondsAgo` ago (or pending / parked). */
  async function outboxRowSent(topic: string, state: { sentSecondsAgo?: number; parked?: boolean }): Promise<string> {
    const { rows } = await testDb.db.writer.query<{ id: string }>(
      `INSERT INTO outbox (topic, payload, created_at, sent_at, parked_at)
       VALUES ($1, '{}', now() - interval '3 days', now() - make_interval(secs => $2), CASE WHEN $3 THEN now() END) RETURNING id`,
      [topic, state.sentSecondsAgo ?? null, state.parked ?? false],
    );
    return rows[0].id;
  }

  it('deletes sent outbox rows past retention, oldest first in bounded batches, and never pending, parked or other topics\' rows', async () => {
    const old = [];
    for (let i = 0; i < 5; i++) old.push(await outboxRowSent('retained', { sentSecondsAgo: SENT_OUTBOX_RETENTION_SECONDS + 3600 + i }));
    const recent = await outboxRowSent('retained', { sentSecondsAgo: SENT_OUTBOX_RETENTION_SECONDS - 600 });
    const pending = await outboxRowSent('retained', {});
    const parked = await outboxRowSent('retained', { parked: true });
    const otherTopic = await outboxRowSent('retained-other', { sentSecondsAgo: SENT_OUTBOX_RETENTION_SECONDS + 3600 });
    const remaining = async () =>
      (await testDb.db.writer.query<{ id: string }>(`SELECT id FROM outbox WHERE topic LIKE 'retained%' ORDER BY id`)).rows.map((r) => r.id);

    // Two statements of two rows at most: four rows go, the oldest first.
    const deleted = await deleteInBatches((limit) => deleteSentOutboxRows(testDb.db.writer, 'retained', SENT_OUTBOX_RETENTION_SECONDS, limit), {
      batchRows: 2,
      maxBatches: 2,
    });
    expect(deleted).toBe(4);
    expect(await remaining()).toEqual([old[0], recent, pending, parked, otherTopic]);

    // The next pass finishes the backlog and stops at the first short batch.
    const batches: number[] = [];
    await deleteInBatches(
      async (limit) => {
        const n = await deleteSentOutboxRows(testDb.db.writer, 'retained', SENT_OUTBOX_RETENTION_SECONDS, limit);
        batches.push(n);
        return n;
      },
      { batchRows: 2, maxBatches: 10 },
    );
    expect(batches).toEqual([1]);
    expect(await remaining()).toEqual([recent, pending, parked, otherTopic]);
  });

  it('finds the sent rows to delete through an index, not by reading the table', async () => {
    const client = await testDb.db.writer.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM outbox WHERE topic = 'x' AND sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => 1)
          ORDER BY sent_at LIMIT 10 FOR UPDATE SKIP LOCKED`,
      );
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/Index Scan using outbox_sent/);
      const parked = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT count(*) FROM outbox WHERE topic = 'x' AND parked_at IS NOT NULL`);
      expect(parked.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/outbox_parked/);
      const keys = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT user_id, key FROM order_idempotency_keys WHERE created_at < now() - make_interval(secs => 1) LIMIT 10`,
      );
      expect(keys.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/order_idempotency_keys_created/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('deletes Idempotency-Keys past their replay window; the same key is then placed as a new order', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer, { stock: 10 });
    const userId = newUserId();
    const items = [{ productId: product.id, quantity: 1 }];
    const first = await placeOrder(db, { userId, idempotencyKey: 'old-key', items });
    await placeOrder(db, { userId, idempotencyKey: 'fresh-key', items });
    await db.writer.query(
      `UPDATE order_idempotency_keys SET created_at = now() - make_interval(secs => $2) WHERE user_id = $1 AND key = 'old-key'`,
      [userId, IDEMPOTENCY_KEY_RETENTION_SECONDS + 60],
    );
    // Within the window it replays.
    expect(await placeOrder(db, { userId, idempotencyKey: 'old-key', items })).toMatchObject({ replayed: true, order: { id: first.order.id } });

    await deleteInBatches((limit) => deleteExpiredIdempotencyKeys(db.writer, IDEMPOTENCY_KEY_RETENTION_SECONDS, limit));

    const keys = await db.writer.query<{ key: string }>('SELECT key FROM order_idempotency_keys WHERE user_id = $1', [userId]);
    expect(keys.rows.map((r) => r.key)).toEqual(['fresh-key']);
    // The order itself stays; only the key is forgotten.
    expect(await countRows(db.writer, 'SELECT 1 FROM orders WHERE id = $1', [first.order.id])).toBe(1);
    const again = await placeOrder(db, { userId, idempotencyKey: 'old-key', items });
    expect(again.replayed).toBe(false);
    expect(again.order.id).not.toBe(first.order.id);
  });
});

describe('the order worker\'s upkeep', () => {
  it('deletes expired rows and reports parked order-placed rows as OutboxParked on its schedule', async () => {
    const { queueUrl: orderPlaced } = await sqsEmulator.createQueue(`upkeep-order-placed-${randomUUID().slice(0, 8)}`);
    const { queueUrl: paymentResult } = await sqsEmulator.createQueue(`upkeep-payment-result-${randomUUID().slice(0, 8)}`);
    const database = await createTestDatabase();
    const ctx = await createTestContext({
      databaseUrl: database.url,
      sqsEndpoint: sqsEmulator.endpoint,
      queueUrls: { orderPlaced, paymentResult },
    });
    const count = jest.spyOn(ctx.metrics, 'count');
    const { writer } = database.db;
    try {
      await writer.query(
        `INSERT INTO outbox (topic, payload, sent_at) VALUES ('order-placed', '{}', now() - interval '25 hours'), ('order-placed', '{}', now() - interval '1 hour')`,
      );
      await writer.query(`INSERT INTO outbox (topic, payload, attempts, parked_at) VALUES ('order-placed', '{}', 5, now()), ('order-placed', '{}', 5, now())`);
      await writer.query(
        `INSERT INTO order_idempotency_keys (user_id, key, request_hash, created_at)
         VALUES (gen_random_uuid(), 'expired', 'h', now() - interval '25 hours'), (gen_random_uuid(), 'recent', 'h', now())`,
      );
      const workers = startOrderWorkers(ctx, { upkeepIntervalMs: 100, queue: { waitTimeSeconds: 1 } });
      try {
        const deadline = Date.now() + 10_000;
        while (
          (await countRows(writer, `SELECT 1 FROM outbox WHERE sent_at < now() - interval '24 hours'`)) +
            (await countRows(writer, `SELECT 1 FROM order_idempotency_keys WHERE key = 'expired'`)) >
            0 ||
          !count.mock.calls.some(([name]) => name === 'OutboxParked')
        ) {
          if (Date.now() > deadline) throw new Error('upkeep did not run within 10 s');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await workers.stop();
      }
      expect(await countRows(writer, `SELECT 1 FROM outbox WHERE topic = 'order-placed' AND sent_at IS NOT NULL`)).toBe(1);
      expect(await countRows(writer, `SELECT 1 FROM order_idempotency_keys WHERE key = 'recent'`)).toBe(1);
      expect(count).toHaveBeenCalledWith('OutboxParked', { Topic: 'order-placed' }, 2);
    } finally {
      await ctx.close();
      await database.drop();
    }
  }, 30_000);
});
