// `npm start`: the whole Surge system in one process on http://localhost:3000 (PORT overrides),
// with the paths the ALB routes (/api/users*, /api/orders*, /api/products*, /api/waiting-room*,
// /api/payments*) plus /health/ready, and the storefront (web/, built on start) at `/`. Engines:
// DATABASE_URL, SQS_ENDPOINT and REDIS_URL when set; otherwise PGlite (data in .surge/pgdata, or
// SURGE_PGDATA), fauxqs in process, and an in-memory cache and rate limiter.
// It migrates and seeds the catalog (SEED_PRODUCTS, default 10,000) on first start, and runs a demo
// sale event behind the waiting room (SKU-000010 and SKU-000011) unless WAITING_ROOM_EVENTS or
// WAITING_ROOM_DEMO=off says otherwise.
import { join } from 'node:path';
import { loadConfig, type SaleEventConfig, type ServiceConfig, type WaitingRoomConfig } from '../platform/config';
import { createDatabase } from '../platform/db';
import { migrate } from '../platform/migrate';
import { createSqsClient } from '../platform/queue';
import { startService, type RunningService } from '../platform/server';
import { startOrderWorkers } from '../order/worker';
import { orderRoutes } from '../order/routes';
import { seedCatalog } from '../order/seed';
import { startPaymentWorkers } from '../payment/worker';
import { paymentRoutes } from '../payment/routes';
import { userRoutes } from '../user/routes';
import { buildStorefront } from '../../web/build';
import { storefrontRoutes } from './storefront';
import { ensureQueueWithDlq, startEmbeddedPostgres, startEmbeddedSqs, type EmbeddedEngine } from './engines';

const REPO_ROOT = join(__dirname, '..', '..');

// Node 20 is this project's runtime; the SDK's notice about its future Node 22 floor is noise in a demo.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const started = Date.now();
  const env = { ...process.env };
  const embedded: EmbeddedEngine[] = [];
  const engines: string[] = [];

  let service: RunningService | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    const deadline = setTimeout(() => process.exit(1), Number(env.SHUTDOWN_DEADLINE_MS ?? 20000));
    deadline.unref();
    try {
      await service?.shutdown();
      // Embedded engines last: the workers and pools above use them until they stop.
      for (const engine of embedded.reverse()) await engine.stop();
    } finally {
      process.exit(code);
    }
  };
  // `on`, not `once`: Ctrl-C reaches both tsx and this process, and a repeated signal must not kill the drain.
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));

  try {
    if (env.DATABASE_URL) {
      engines.push(`PostgreSQL at ${redact(env.DATABASE_URL)}`);
    } else {
      const dataDir = env.SURGE_PGDATA ?? join(REPO_ROOT, '.surge', 'pgdata');
      const pg = await startEmbeddedPostgres(dataDir);
      embedded.push(pg);
      env.DATABASE_URL = pg.url;
      // PGlite has one backend: concurrent connections interleave their protocol messages (unnamed
      // prepared statements and portals collide, giving 500s under load), so use exactly one.
      env.DB_POOL_MAX ??= '1';
      engines.push(`PGlite (embedded PostgreSQL, data in ${dataDir})`);
    }

    if (env.SQS_ENDPOINT) {
      engines.push(`SQS at ${env.SQS_ENDPOINT}`);
    } else if (env.ORDER_PLACED_QUEUE_URL && env.PAYMENT_RESULT_QUEUE_URL) {
      engines.push('SQS (AWS, from the queue URLs)');
    } else {
      const sqs = await startEmbeddedSqs();
      embedded.push(sqs);
      env.SQS_ENDPOINT = sqs.url;
      engines.push(`fauxqs (embedded SQS at ${sqs.url})`);
    }
    engines.push(env.REDIS_URL ? `Redis at ${redact(env.REDIS_URL)}` : 'in-memory cache and rate limiter (REDIS_URL unset)');

    const config = await loadConfig({ ...env, SURGE_ENV: 'local', MIGRATE_ON_START: 'false' });
    const queueUrls = await ensureQueues(config, env);
    const finalConfig = { ...config, sqs: { ...config.sqs, ...queueUrls } };

    const seeded = await prepareDatabase(finalConfig.database, Number(env.SEED_PRODUCTS ?? 10000));
    const waitingRoom = await demoWaitingRoom(finalConfig, env);

    service = await startService({
      name: 'surge-local',
      plugins: [userRoutes, orderRoutes, paymentRoutes, storefrontRoutes(buildStorefront())],
      workers: [startPaymentWorkers, startOrderWorkers],
      config: { ...finalConfig, waitingRoom },
    });
    const port = new URL(service.address).port;
    console.log(`Surge is listening on http://localhost:${port} (storefront at /; started in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(`  engines: ${engines.join('; ')}`);
    console.log(`  database: ${seeded}`);
    for (const event of waitingRoom.events) {
      console.log(`  sale event "${event.eventId}" (waiting room, ${event.inletPerSecond}/s) until ${event.endsAt}: products ${event.productIds.join(', ')}`);
    }
    console.log(`  try: curl http://localhost:${port}/api/products?limit=3   (API: http://localhost:${port}/openapi.json)`);
  } catch (err) {
    console.error('surge: failed to start:', err instanceof Error ? err.message : err);
    await stop(1);
  }
}

/** Queue URLs from the environment, or the queues created (with DLQs) on the configured endpoint. */
async function ensureQueues(config: Awaited<ReturnType<typeof loadConfig>>, env: NodeJS.ProcessEnv) {
  if (env.ORDER_PLACED_QUEUE_URL && env.PAYMENT_RESULT_QUEUE_URL) {
    return { orderPlacedQueueUrl: env.ORDER_PLACED_QUEUE_URL, paymentResultQueueUrl: env.PAYMENT_RESULT_QUEUE_URL };
  }
  const sqs = createSqsClient(config);
  try {
    return {
      orderPlacedQueueUrl: await ensureQueueWithDlq(sqs, 'order-placed'),
      paymentResultQueueUrl: await ensureQueueWithDlq(sqs, 'payment-result'),
    };
  } finally {
    sqs.destroy();
  }
}

/** Applies migrations and seeds the catalog when it is empty; says what it did. */
async function prepareDatabase(database: Parameters<typeof createDatabase>[0], products: number): Promise<string> {
  const db = createDatabase(database);
  try {
    const applied = await migrate(db.writer);
    const { rows } = await db.writer.query<{ n: string }>('SELECT count(*) AS n FROM products');
    let seed = `${rows[0].n} products`;
    if (Number(rows[0].n) === 0 && products > 0) {
      const { inserted } = await seedCatalog(db, products);
      seed = `seeded ${inserted} products`;
    }
    return `${applied.length ? `applied migrations ${applied.join(', ')}` : 'migrations up to date'}; ${seed}`;
  } finally {
    await db.close();
  }
}

/** The SKUs of the demo sale event (prices N.99, which the sandbox approves). */
const DEMO_SALE_SKUS = ['SKU-000010', 'SKU-000011'];

/**
 * The waiting room's events: WAITING_ROOM_EVENTS when set; else, unless WAITING_ROOM_DEMO=off, a demo
 * sale of two seeded products that opens now for a day and admits one shopper a second, so the
 * storefront has a queue to show.
 */
async function demoWaitingRoom(config: ServiceConfig, env: NodeJS.ProcessEnv): Promise<WaitingRoomConfig> {
  if (env.WAITING_ROOM_EVENTS || env.WAITING_ROOM_DEMO === 'off') return config.waitingRoom;
  const db = createDatabase(config.database);
  try {
    const { rows } = await db.writer.query<{ id: string }>('SELECT id FROM products WHERE sku = ANY($1) ORDER BY sku', [DEMO_SALE_SKUS]);
    if (rows.length === 0) return config.waitingRoom;
    const now = Date.now();
    const event: SaleEventConfig = {
      eventId: 'demo-sale',
      name: 'Demo sale',
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 24 * 3600_000).toISOString(),
      productIds: rows.map((row) => row.id),
      inletPerSecond: 1,
    };
    return { ...config.waitingRoom, events: [event] };
  } finally {
    await db.close();
  }
}

/** A URL without its password, for printing. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

void main();
