// The writer stops under checkout load (an Aurora failover or outage) on a THROWAWAY PostgreSQL: the
// order service and both workers run in this process against it, with the SQS emulator.
// Readiness side (issue 14.2): /health/live stays 200 throughout, so no instance would be reported
// unhealthy to Auto Scaling; requests that need the database get 503 + Retry-After in the project's
// error shape; /health/ready reports the database down; after the restart the same process serves
// 2xx again. Queue side (issue 14.5): no message is dead-lettered and every accepted order settles.
//
// Scale: production's queues have a 60 s visibility timeout, 5 receives and a retry backoff of
// 15 s doubling to 300 s, and the outage is 5 minutes. Here every duration is 1/30 of that:
// visibility 2 s, backoff doubling to 10 s, outage 10 s, same 5 receives (SQS counts whole seconds,
// so the backoff starts at 1 s, not 0.5). Without pausing and backing off (the old consumer) the
// messages in flight are received every 2 s and dead-lettered within the outage;
// `npm run drill -- postgres-stop --down 300` runs the unscaled case.
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import pg from 'pg';
import { startPaymentWorkers } from '../../payment/worker';
import { buildApp, type SurgeApp } from '../../platform/app';
import type { ServiceContext } from '../../platform/context';
import { createDatabase } from '../../platform/db';
import { migrate } from '../../platform/migrate';
import {
  createTestContext,
  listenForTest,
  needsRealEngine,
  startSqsEmulator,
  throwawayCluster,
  type SqsEmulator,
  type TestClient,
  type ThrowawayCluster,
} from '../../test-support/testing';
import { orderRoutes } from '../../order/routes';
import { startOrderWorkers } from '../../order/worker';
import { startCheckoutLoad, statusCounts } from '../../order/test/checkout-load';
import { addProduct } from '../../order/test/fixtures';
import { searchPathOption } from '../../platform/ownership';

jest.setTimeout(180_000);

const SCALE = 1 / 30;
const OUTAGE_MS = 300_000 * SCALE; // 10 s
const VISIBILITY_SECONDS = 60 * SCALE; // 2 s
const MAX_RECEIVE_COUNT = 5;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

needsRealEngine('postgres', 'it stops and starts its own PostgreSQL cluster')('when the database stops under checkout load', () => {
  let cluster: ThrowawayCluster;
  let emulator: SqsEmulator;
  let queues: Record<'orderPlaced' | 'paymentResult', { queueUrl: string; dlqUrl?: string }>;
  let ctx: ServiceContext;
  let app: SurgeApp;
  let client: TestClient;
  let workers: Array<{ stop(): Promise<void> }> = [];

  beforeAll(async () => {
    cluster = await throwawayCluster();
    const db = createDatabase({ writerUrl: cluster.url, readerUrl: cluster.url, poolMax: 1 });
    await migrate(db.writer);
    await db.close();
    emulator = await startSqsEmulator();
    const queue = { dlq: true, maxReceiveCount: MAX_RECEIVE_COUNT, visibilityTimeout: VISIBILITY_SECONDS };
    queues = {
      orderPlaced: await emulator.createQueue('order-placed', queue),
      paymentResult: await emulator.createQueue('payment-result', queue),
    };
    ctx = await createTestContext({
      databaseUrl: cluster.url,
      sqsEndpoint: emulator.endpoint,
      queueUrls: { orderPlaced: queues.orderPlaced.queueUrl, paymentResult: queues.paymentResult.queueUrl },
      env: {
        DB_POOL_MAX: '6',
        RATE_LIMIT_ORDERS_PER_MINUTE: '1000000',
        // Slow enough that charges queue up: messages are in flight when the database stops.
        PAYMENT_SANDBOX_LATENCY_MS: '250',
        QUEUE_HANDLER_TIMEOUT_MS: '1500',
        QUEUE_VISIBILITY_TIMEOUT_SECONDS: String(VISIBILITY_SECONDS),
        QUEUE_MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
        QUEUE_RETRY_BASE_SECONDS: String(Math.ceil(15 * SCALE)),
        QUEUE_RETRY_MAX_SECONDS: String(300 * SCALE),
      },
    });
    app = await buildApp(ctx, [orderRoutes]);
    client = await listenForTest(app);
    const tuning = { queue: { waitTimeSeconds: 1 }, relayIdleDelayMs: 25, databaseProbeMs: 500 };
    workers = [startPaymentWorkers(ctx, tuning), startOrderWorkers(ctx, tuning)];
  });

  afterAll(async () => {
    for (const w of workers) await w.stop().catch(() => undefined);
    await app?.close();
    await ctx?.close();
    await emulator?.stop();
    cluster?.destroy();
  });

  const messagesIn = async (queueUrl: string) => {
    const { Attributes = {} } = await emulator.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
  };

  it('stays live, answers 503 + Retry-After, recovers without a restart, dead-letters nothing and settles every accepted order', async () => {
    const admin = new pg.Client({ connectionString: cluster.url, options: searchPathOption() });
    await admin.connect();
    const product = await addProduct(admin, { stock: 1_000_000 });
    await admin.end();

    // Health, probed every 250 ms throughout, as the target group and an operator would.
    // `sentAt` and `at` (answered) both: on a loaded machine a probe sent before the stop can be
    // answered well after it, with the database still up when it looked.
    const health: Array<{ sentAt: number; at: number; live: number; ready: number; database?: string }> = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const sentAt = Date.now();
        const [live, ready] = await Promise.all([client.request('/health/live'), client.request('/health/ready')]);
        health.push({ sentAt, at: Date.now(), live: live.statusCode, ready: ready.statusCode, database: ready.json().database });
        await sleep(250);
      }
    })();
    const authFor = async () => ({ authorization: `Bearer ${(await ctx.tokens.issue(randomUUID())).token}` });
    const load = startCheckoutLoad({ baseUrl: client.baseUrl, productId: product.id, authFor, shoppers: 4, pauseMs: 50 });

    await sleep(2000);
    cluster.stop();
    const stoppedAt = Date.now();
    const inFlightAtStop = (await messagesIn(queues.orderPlaced.queueUrl)) + (await messagesIn(queues.paymentResult.queueUrl));
    await sleep(OUTAGE_MS);
    // pg_ctl blocks this process (the service's too) while it starts the server: a request sent just
    // before is served after, so the outage window ends a second before.
    const restartingAt = Date.now() - 1000;
    cluster.start();
    const startedAt = Date.now();
    await sleep(4000);
    const answers = await load.stop();
    probing = false;
    await prober;

    // The outage was real and had messages in flight.
    expect(inFlightAtStop).toBeGreaterThan(0);
    const during = answers.filter((a) => a.sentAt > stoppedAt + 500 && a.sentAt < restartingAt);
    expect(during.length).toBeGreaterThan(10);
    // Every request that needed the database while it was down: 503, Retry-After, a body naming it.
    expect({ stoppedAt, restartingAt, notRefused: during.filter((a) => a.status !== 503) }).toEqual({ stoppedAt, restartingAt, notRefused: [] });
    for (const a of during) {
      expect(a.retryAfter).toMatch(/^\d+$/);
      expect(JSON.parse(a.body!)).toEqual({ error: 'service_unavailable', message: 'The database is unavailable; try again shortly' });
    }
    // Never a 500 or a cut connection, before, during or after.
    expect(answers.filter((a) => a.status === 0 || (a.status >= 500 && a.status !== 503))).toEqual([]);
    // The same process takes orders again once the database is back.
    expect(answers.filter((a) => a.sentAt > startedAt + 2000 && a.status === 202).length).toBeGreaterThan(10);

    // Liveness never failed (Auto Scaling would replace nothing); readiness told the truth.
    expect(health.filter((h) => h.live !== 200)).toEqual([]);
    const downProbes = health.filter((h) => h.sentAt > stoppedAt + 500 && h.at < restartingAt);
    expect(downProbes.length).toBeGreaterThan(10);
    expect(downProbes.every((h) => h.ready === 503 && h.database === 'down')).toBe(true);
    expect(health.at(-1)).toMatchObject({ live: 200, ready: 200, database: 'up' });

    // Nothing dead-lettered; every accepted order settles.
    const accepted = answers.filter((a) => a.status === 202).map((a) => a.orderId!);
    const check = new pg.Client({ connectionString: cluster.url, options: searchPathOption() });
    await check.connect();
    try {
      const settled = async () => {
        const { rows } = await check.query<{ n: string }>(
          "SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND status IN ('PAID', 'PAYMENT_FAILED')",
          [accepted],
        );
        return Number(rows[0].n);
      };
      const deadline = Date.now() + 90_000;
      while ((await settled()) < accepted.length && Date.now() < deadline) await sleep(500);
      expect({ settled: await settled(), accepted: accepted.length }).toEqual({ settled: accepted.length, accepted: accepted.length });
    } finally {
      await check.end();
    }
    expect({
      orderPlaced: await messagesIn(queues.orderPlaced.dlqUrl!),
      paymentResult: await messagesIn(queues.paymentResult.dlqUrl!),
    }).toEqual({ orderPlaced: 0, paymentResult: 0 });
  });
});
