// The outbox relay against the real PostgreSQL and fauxqs: every pending event is published once per
// relay pass, parallel relays never send the same row, and SQS being down only delays events.
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createTestDatabase, needsRealEngine, startSqsEmulator, countRows } from '../../test-support/testing';
import { enqueueEvent, relayOutboxBatch, startOutboxRelay } from '../../platform/messaging/outbox';

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let sqsEmulator: Awaited<ReturnType<typeof startSqsEmulator>>;
let sqs: SQSClient;
const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };

beforeAll(async () => {
  [testDb, sqsEmulator] = await Promise.all([createTestDatabase(), startSqsEmulator()]);
  sqs = sqsEmulator.sqs;
});
afterAll(async () => {
  await sqsEmulator?.stop();
  await testDb?.drop();
});

async function receiveAll(queueUrl: string, expected: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let polls = 0; polls < 20 && bodies.length < expected; polls++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }),
    );
    bodies.push(...Messages.map((m) => m.Body!));
  }
  return bodies;
}

const pendingOf = (topic: string) =>
  countRows(testDb.db.writer, 'SELECT 1 FROM outbox WHERE topic = $1 AND sent_at IS NULL', [topic]);

describe('outbox relay', () => {
  it('publishes each pending event of its topic and marks it sent, leaving other topics alone', async () => {
    const { queueUrl: url } = await sqsEmulator.createQueue('relay-basic');
    for (let i = 0; i < 23; i++) await enqueueEvent(testDb.db.writer, 'basic', { n: i });
    await enqueueEvent(testDb.db.writer, 'other-topic', { n: -1 });

    const sent: number[] = [];
    for (let batch = await relayOutboxBatch({ pool: testDb.db.writer, sqs, topic: 'basic', queueUrl: url, logger }); batch > 0; ) {
      sent.push(batch);
      batch = await relayOutboxBatch({ pool: testDb.db.writer, sqs, topic: 'basic', queueUrl: url, logger });
    }

    expect(sent).toEqual([10, 10, 3]);
    expect(await pendingOf('basic')).toBe(0);
    expect(await pendingOf('other-topic')).toBe(1);
    const bodies = await receiveAll(url, 23);
    expect(bodies.map((b) => JSON.parse(b).n).sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
  });

  needsRealEngine('postgres', 'relays must overlap on SKIP LOCKED; embedded transactions never overlap')('relays on several instances', () => {
    it('never sends a row twice when relays on several instances run at once', async () => {
      const { queueUrl: url } = await sqsEmulator.createQueue('relay-parallel');
      for (let i = 0; i < 60; i++) await enqueueEvent(testDb.db.writer, 'parallel', { n: i });

      const drain = async () => {
        while ((await relayOutboxBatch({ pool: testDb.db.writer, sqs, topic: 'parallel', queueUrl: url, logger })) > 0);
      };
      await Promise.all([drain(), drain(), drain()]);

      expect(await pendingOf('parallel')).toBe(0);
      const bodies = await receiveAll(url, 60);
      expect(bodies).toHaveLength(60);
      expect(new Set(bodies).size).toBe(60);
    });
  });

  it('keeps events pending while SQS is unreachable and publishes them once it answers again', async () => {
    const { queueUrl: url } = await sqsEmulator.createQueue('relay-outage');
    for (let i = 0; i < 5; i++) await enqueueEvent(testDb.db.writer, 'outage', { n: i });
    const unreachable = new SQSClient({
      endpoint: 'http://127.0.0.1:9', // discard port: connection refused
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });

    const failing = startOutboxRelay({ pool: testDb.db.writer, sqs: unreachable, topic: 'outage', queueUrl: url, logger, idleDelayMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await failing.stop();
    unreachable.destroy();
    expect(logger.error).toHaveBeenCalledWith(expect.objectContaining({ topic: 'outage' }), expect.stringContaining('relay failed'));
    expect(await pendingOf('outage')).toBe(5);

    const relay = startOutboxRelay({ pool: testDb.db.writer, sqs, topic: 'outage', queueUrl: url, logger, idleDelayMs: 20 });
    const bodies = await receiveAll(url, 5);
    await relay.stop();
    expect(bodies).toHaveLength(5);
    expect(await pendingOf('outage')).toBe(0);
  });
});
