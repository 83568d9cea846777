// Test helpers for every services test: a fresh migrated database per call on the real PostgreSQL,
// a Redis client with its own key prefix on the real Redis, an SQS emulator (fauxqs) in a child
// process, a throwaway redis-server a test may kill, and a ServiceContext wired to all of them.
// Engines that cannot be reached make the test FAIL with a message saying what to start; jest runs
// test files in parallel, so nothing here flushes, stops or drops anything it did not create.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import Redis from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { loadConfig, type SecretSource } from './config';
import { createServiceContext, type ServiceContext } from './context';
import { createDatabase, type Database } from './db';
import { migrate } from './migrate';

/** Server-level connection used to create and drop test databases. */
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const STALE_DATABASE_SECONDS = 3600;

export interface TestDatabase {
  /** Connection string of the new database (hand it to a child process as DATABASE_URL). */
  url: string;
  db: Database;
  /** Closes the pools and drops the database. */
  drop(): Promise<void>;
}

async function adminClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${ADMIN_URL} (${(err as Error).message}). The services tests need a real ` +
        'PostgreSQL: start it (`.ci/run` does) or set TEST_DATABASE_ADMIN_URL.',
    );
  }
  return client;
}

/** A new database `surge_t_<time>_<random>` on the real PostgreSQL, with every migration applied. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = await adminClient();
  const now = Math.floor(Date.now() / 1000);
  const name = `surge_t_${now}_${randomBytes(4).toString('hex')}`;
  try {
    await dropStaleDatabases(admin, now);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = createDatabase({ writerUrl: url.toString(), readerUrl: url.toString(), poolMax: 20 });
  try {
    await migrate(db.writer);
  } catch (err) {
    await db.close();
    await dropDatabase(name);
    throw err;
  }
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.close();
      await dropDatabase(name);
    },
  };
}

async function dropDatabase(name: string): Promise<void> {
  const admin = await adminClient();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Databases left by crashed runs more than an hour ago; never touches one a running test may use. */
async function dropStaleDatabases(admin: pg.Client, now: number): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'surge\\_t\\_%'");
  for (const { datname } of rows) {
    const created = Number(/^surge_t_(\d+)_/.exec(datname)?.[1]);
    if (created && now - created > STALE_DATABASE_SECONDS) {
      await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
    }
  }
}

function uniquePrefix(): string {
  return `surge-test:${randomBytes(6).toString('hex')}:`;
}

/** A client of the shared Redis whose keys all carry a unique prefix; close it with `quit()`. */
export async function createTestRedis(): Promise<Redis> {
  const redis = new Redis(TEST_REDIS_URL, { keyPrefix: uniquePrefix(), lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new Error(
      `Redis is not reachable at ${TEST_REDIS_URL} (${(err as Error).message}). The services tests need a real Redis: ` +
        'start it (`.ci/run` does) or set TEST_REDIS_URL.',
    );
  }
  return redis;
}

/** A free TCP port on the loopback interface (there is a small race until the caller binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface SqsEmulator {
  /** Pass as SQS_ENDPOINT / the client's `endpoint`. */
  endpoint: string;
  /** An SQS client pointed at the emulator. */
  sqs: SQSClient;
  createQueue(
    name: string,
    options?: { dlq?: boolean; maxReceiveCount?: number; visibilityTimeout?: number },
  ): Promise<{ queueUrl: string; dlqUrl?: string }>;
  stop(): Promise<void>;
}

const EMULATOR_SCRIPT = join(__dirname, 'support', 'sqs-emulator.mjs');

/** fauxqs 1.9.2 in a child process on 127.0.0.1 and a free port (jest cannot load ESM-only fauxqs). */
export async function startSqsEmulator(): Promise<SqsEmulator> {
  const child = spawn(process.execPath, [EMULATOR_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the SQS emulator (fauxqs) did not start within 10 s')), 10000);
    child.once('exit', (code) => reject(new Error(`the SQS emulator (fauxqs) exited with code ${code} before it listened`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { endpoint: string }).endpoint);
    });
  });
  const sqs = new SQSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  return {
    endpoint,
    sqs,
    async createQueue(name, options = {}) {
      const attributes: Record<string, string> = {};
      if (options.visibilityTimeout !== undefined) attributes.VisibilityTimeout = String(options.visibilityTimeout);
      let dlqUrl: string | undefined;
      if (options.dlq) {
        dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
        const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes!
          .QueueArn!;
        attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount ?? 3 });
      }
      const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
      return { queueUrl, dlqUrl };
    },
    async stop() {
      sqs.destroy();
      await stopChild(child);
    },
  };
}

export interface RedisServer {
  url: string;
  port: number;
  /** Kills the server (a Redis outage); `start()` brings it back on the same port, empty. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** A throwaway redis-server on a free loopback port, for tests that stop Redis. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    child = proc;
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (err) => reject(new Error(`cannot run redis-server (is it on PATH?): ${err.message}`)));
      proc.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`)));
    });
    failed.catch(() => undefined);
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 300, disconnectTimeout: 100 });
    probe.on('error', () => undefined);
    const deadline = Date.now() + 5000;
    try {
      for (;;) {
        try {
          await Promise.race([probe.connect().then(() => probe.ping()), failed]);
          return;
        } catch (err) {
          if (Date.now() > deadline || proc.exitCode !== null) throw err;
          probe.disconnect();
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      probe.disconnect();
    }
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    async stop() {
      if (child) await stopChild(child, 'SIGKILL');
      child = undefined;
    },
  };
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}

export interface TestContextOptions {
  /** From createTestDatabase(). */
  databaseUrl: string;
  /** A Redis URL, or true for the shared test Redis; omitted = in-memory cache and limiter. */
  redis?: string | true;
  sqsEndpoint?: string;
  queueUrls?: { orderPlaced?: string; paymentResult?: string };
  /** Extra environment variables, e.g. { RATE_LIMIT_ORDERS_PER_MINUTE: '1000' }. */
  env?: Record<string, string>;
  service?: string;
}

/** No test may reach Secrets Manager. */
const NO_SECRETS: SecretSource = {
  async getSecretString(arn) {
    throw new Error(`tests do not read secrets (asked for ${arn})`);
  },
};

/**
 * A ServiceContext as a service would build it from its environment, pointed at test engines.
 * Logs are silent unless TEST_LOG_LEVEL is set. Redis keys get a unique prefix. Close it with ctx.close().
 */
export async function createTestContext(options: TestContextOptions): Promise<ServiceContext> {
  const env: Record<string, string> = {
    SURGE_ENV: 'local',
    DATABASE_URL: options.databaseUrl,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...(options.redis ? { REDIS_URL: options.redis === true ? TEST_REDIS_URL : options.redis } : {}),
    ...(options.sqsEndpoint ? { SQS_ENDPOINT: options.sqsEndpoint } : {}),
    ...(options.queueUrls?.orderPlaced ? { ORDER_PLACED_QUEUE_URL: options.queueUrls.orderPlaced } : {}),
    ...(options.queueUrls?.paymentResult ? { PAYMENT_RESULT_QUEUE_URL: options.queueUrls.paymentResult } : {}),
    ...options.env,
  };
  const config = await loadConfig(env, NO_SECRETS);
  if (options.redis === true) {
    // Fail loudly (not degrade) when the shared Redis the test asked for is missing.
    await (await createTestRedis()).quit();
  }
  return createServiceContext(config, {
    service: options.service ?? 'test',
    logger: pino({ level: config.logLevel }),
    redisKeyPrefix: uniquePrefix(),
  });
}

export interface TestResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  json(): any;
}

export interface TestRequest {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings as they are. */
  payload?: unknown;
}

export interface TestClient {
  /** Same shape as fastify's inject, over a real socket. */
  request(req: TestRequest | string): Promise<TestResponse>;
  baseUrl: string;
}

/**
 * Listens on 127.0.0.1 and a free port and returns an inject-like client using fetch. fastify's
 * `inject` cannot run under jest here: light-my-request loads the ESM-only `cookie@2`, which jest's
 * require refuses on Node 20 (see services/README.md).
 */
export async function listenForTest(app: { listen(opts: { port: number; host: string }): Promise<string> }): Promise<TestClient> {
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    baseUrl,
    async request(req) {
      const r = typeof req === 'string' ? { url: req } : req;
      const headers: Record<string, string> = { ...r.headers };
      let body: string | undefined;
      if (r.payload !== undefined) {
        body = typeof r.payload === 'string' ? r.payload : JSON.stringify(r.payload);
        if (typeof r.payload !== 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
          headers['content-type'] = 'application/json';
        }
      }
      const res = await fetch(`${baseUrl}${r.url}`, { method: r.method ?? 'GET', headers, body });
      const text = await res.text();
      return {
        statusCode: res.status,
        headers: Object.fromEntries(res.headers),
        body: text,
        json: () => JSON.parse(text),
      };
    },
  };
}
