// RDS rotates the master password every 7 days. Here the same thing on a throwaway PostgreSQL whose
// non-superuser roles log in with a password: `ALTER ROLE ... PASSWORD` while the order service
// serves checkouts and its workers settle orders, the app's connections are cut (what idle
// timeouts, failovers and restarts do over a week; open sessions outlive a password change), and
// two seconds later the secret source returns the new password. From the moment the secret changes no request may get a 5xx, and every accepted order
// settles through the workers, who use the same rotating pools.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startPaymentWorkers } from '../../payment/worker';
import { buildApp, type SurgeApp } from '../../platform/app';
import type { SecretSource } from '../../platform/config';
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

jest.setTimeout(90_000);

const ROLE = 'surge_app';
const OLD_PASSWORD = 'old-password-0123456789';
const NEW_PASSWORD = 'new-password-9876543210';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:surge-db';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

needsRealEngine('postgres', 'it runs its own PostgreSQL cluster with password authentication')('database password rotation', () => {
  let cluster: ThrowawayCluster;
  let admin: pg.Client;
  let emulator: SqsEmulator;
  let ctx: ServiceContext;
  let app: SurgeApp;
  let client: TestClient;
  let workers: Array<{ stop(): Promise<void> }> = [];
  /** What Secrets Manager would return for DB_SECRET_ARN. */
  const secret = { username: ROLE, password: OLD_PASSWORD };
  const secretReads: string[] = [];
  const secrets: SecretSource = {
    async getSecretString(arn) {
      if (arn !== SECRET_ARN) throw new Error(`unexpected secret ${arn}`);
      secretReads.push(secret.password);
      return JSON.stringify(secret);
    },
  };

  /** Ends every session of the app role: its pools must open new connections with the password they hold. */
  const cutAppConnections = () => admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [ROLE]);

  beforeAll(async () => {
    cluster = await throwawayCluster();
    admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${OLD_PASSWORD}'`);
    await admin.query(`ALTER DATABASE surge OWNER TO ${ROLE}`);
    const appUrl = `postgres://${ROLE}:${OLD_PASSWORD}@127.0.0.1:${cluster.port}/surge`;
    const asApp = createDatabase({ writerUrl: appUrl, readerUrl: appUrl, poolMax: 1 });
    await migrate(asApp.writer);
    await asApp.close();

    emulator = await startSqsEmulator();
    const orderPlaced = await emulator.createQueue('order-placed', { dlq: true, maxReceiveCount: 5, visibilityTimeout: 10 });
    const paymentResult = await emulator.createQueue('payment-result', { dlq: true, maxReceiveCount: 5, visibilityTimeout: 10 });
    ctx = await createTestContext({
      secrets,
      sqsEndpoint: emulator.endpoint,
      queueUrls: { orderPlaced: orderPlaced.queueUrl, paymentResult: paymentResult.queueUrl },
      env: {
        // The stack's settings for the database (lib/stack/surge-stack.ts), TLS off for the local server.
        DB_WRITER_HOST: '127.0.0.1',
        DB_PORT: String(cluster.port),
        DB_NAME: 'surge',
        DB_SECRET_ARN: SECRET_ARN,
        DB_TLS: 'false',
        DB_POOL_MAX: '4',
        DB_SECRET_REFRESH_MIN_MS: '500',
        RATE_LIMIT_ORDERS_PER_MINUTE: '1000000',
        PAYMENT_SANDBOX_LATENCY_MS: '5',
        QUEUE_VISIBILITY_TIMEOUT_SECONDS: '10',
        QUEUE_HANDLER_TIMEOUT_MS: '5000',
        QUEUE_RETRY_BASE_SECONDS: '1',
        QUEUE_RETRY_MAX_SECONDS: '2',
      },
    });
    app = await buildApp(ctx, [orderRoutes]);
    client = await listenForTest(app);
    const tuning = { queue: { waitTimeSeconds: 1 }, relayIdleDelayMs: 25 };
    workers = [startPaymentWorkers(ctx, tuning), startOrderWorkers(ctx, tuning)];
  });

  afterAll(async () => {
    for (const w of workers) await w.stop().catch(() => undefined);
    await app?.close();
    await ctx?.close();
    await emulator?.stop();
    await admin?.end().catch(() => undefined);
    cluster?.destroy();
  });

  it('serves checkouts without a 5xx once the secret holds the new password, and every accepted order settles', async () => {
    const writer = new pg.Client({ connectionString: cluster.url });
    await writer.connect();
    const product = await addProduct(writer, { stock: 1_000_000 });
    await writer.end();
    const authFor = async () => ({ authorization: `Bearer ${(await ctx.tokens.issue(randomUUID())).token}` });
    const load = startCheckoutLoad({ baseUrl: client.baseUrl, productId: product.id, authFor });

    await sleep(1500);
    // The rotation: the database takes the new password first; the secret follows a moment later.
    await admin.query(`ALTER ROLE ${ROLE} PASSWORD '${NEW_PASSWORD}'`);
    await cutAppConnections();
    await sleep(2000);
    // No connection could be opened since the cut (the old password is refused): every request
    // from now on needs a new one.
    secret.password = NEW_PASSWORD;
    const secretChangedAt = Date.now();
    // At least 40 checkouts sent after the change (however slow this machine is today), for 3 s at least.
    await sleep(3000);
    const enoughBy = Date.now() + 30_000;
    while (load.answers.filter((a) => a.sentAt >= secretChangedAt).length < 40 && Date.now() < enoughBy) await sleep(100);
    const answers = await load.stop();

    const before = answers.filter((a) => a.sentAt < secretChangedAt);
    const after = answers.filter((a) => a.sentAt >= secretChangedAt);
    // While the database and the secret disagree the service may only say "try again shortly".
    expect(before.filter((a) => a.status >= 500 && a.status !== 503)).toEqual([]);
    for (const a of before.filter((b) => b.status === 503)) {
      expect(a.retryAfter).toBeDefined();
      expect(JSON.parse(a.body!)).toEqual({ error: 'service_unavailable', message: expect.stringMatching(/database/) });
    }
    expect({ after: statusCounts(after) }).toEqual({ after: { 202: after.length } });
    expect(after.length).toBeGreaterThanOrEqual(40);
    expect(statusCounts(before)['503']).toBeGreaterThan(0);
    // The new password was read from the secret (not guessed), and not once per failed connection.
    expect(secretReads).toContain(NEW_PASSWORD);
    expect(secretReads.length).toBeLessThan(20);

    // The workers settle every accepted order with the rotated credentials as well.
    const accepted = answers.filter((a) => a.status === 202).map((a) => a.orderId!);
    const settled = async () => {
      const { rows } = await admin.query<{ n: string }>(
        "SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND status IN ('PAID', 'PAYMENT_FAILED')",
        [accepted],
      );
      return Number(rows[0].n);
    };
    const deadline = Date.now() + 30_000;
    while ((await settled()) < accepted.length && Date.now() < deadline) await sleep(250);
    expect(await settled()).toBe(accepted.length);
  });
});
