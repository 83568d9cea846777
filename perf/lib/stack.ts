// The Surge system on this machine for benchmarks and drills: a fresh migrated and seeded database
// on the real PostgreSQL, a throwaway redis-server, fauxqs, and each service as its own child process
// running its production entry point (services/<name>/main.ts), exactly as on its AWS fleet. Only
// loopback is used; everything started here is stopped by `stop()`.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { BUNDLE_ENTRY, bundleFleet, FLEET_NODE_FLAGS } from '../../lib/deploy/bundle';
import { seedCatalog } from '../../services/order/seed';
import { createTokenService } from '../../services/platform/auth';
import { LOCAL_TOKEN_KEYS } from '../../services/platform/config';
import {
  createTestDatabase,
  freePort,
  startRedisServer,
  startSqsEmulator,
  type RedisServer,
  type SqsEmulator,
  type TestDatabase,
} from '../../services/test-support/testing';

export type ServiceName = 'user' | 'order' | 'payment' | 'worker';

export const LOG_DIR = join(process.env.TMPDIR ?? '/tmp', 'surge-perf-logs');
const REPO = join(__dirname, '..', '..');

/** Rate limits raised far above any load this machine can make: every request is checked, none refused. */
export const RAISED_LIMITS: Record<string, string> = {
  RATE_LIMIT_ORDERS_PER_MINUTE: '1000000',
  RATE_LIMIT_LOGIN_PER_MINUTE: '1000000',
  RATE_LIMIT_DEFAULT_PER_SECOND: '1000000',
  RATE_LIMIT_DEFAULT_BURST: '1000000',
};

export interface Engines {
  databaseUrl: string;
  database?: TestDatabase;
  redis?: RedisServer;
  sqs: SqsEmulator;
  queueUrls: { orderPlaced: string; paymentResult: string; orderPlacedDlq: string; paymentResultDlq: string };
  /** How the queues were made; serviceEnv hands it to the consumers, as the stack does on AWS. */
  queue: { visibilityTimeoutSeconds: number; maxReceiveCount: number };
  stop(): Promise<void>;
}

export interface EngineOptions {
  /** Products to seed. @default 10000 */
  products?: number;
  /** false = no Redis (in-memory cache and limiter). @default a throwaway redis-server */
  redis?: boolean;
  /** Use this database (e.g. a throwaway cluster) instead of a fresh one on the shared PostgreSQL. */
  databaseUrl?: string;
  /** Deliveries before a message is dead-lettered. @default 3 */
  maxReceiveCount?: number;
}

export async function startEngines(options: EngineOptions = {}): Promise<Engines> {
  const stops: Array<() => Promise<unknown>> = [];
  try {
    let database: TestDatabase | undefined;
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      database = await createTestDatabase();
      stops.push(() => database!.drop());
      databaseUrl = database.url;
      await seedCatalog(database.db, options.products ?? 10_000);
    }
    const redis = options.redis === false ? undefined : await startRedisServer();
    if (redis) stops.push(() => redis.stop());
    const sqs = await startSqsEmulator();
    stops.push(() => sqs.stop());
    const maxReceiveCount = options.maxReceiveCount ?? 3;
    // EventQueue's visibility timeout for the services' default 30 s handler timeout (2 x).
    const visibilityTimeout = 60;
    const placed = await sqs.createQueue('order-placed', { dlq: true, maxReceiveCount, visibilityTimeout });
    const result = await sqs.createQueue('payment-result', { dlq: true, maxReceiveCount, visibilityTimeout });
    return {
      databaseUrl,
      database,
      redis,
      sqs,
      queueUrls: {
        orderPlaced: placed.queueUrl,
        paymentResult: result.queueUrl,
        orderPlacedDlq: placed.dlqUrl!,
        paymentResultDlq: result.dlqUrl!,
      },
      queue: { visibilityTimeoutSeconds: visibilityTimeout, maxReceiveCount },
      stop: () => stopAll(stops),
    };
  } catch (err) {
    await stopAll(stops);
    throw err;
  }
}

async function stopAll(stops: Array<() => Promise<unknown>>): Promise<void> {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}

/** The environment a service gets from the engines (what the CDK app sets on an instance). */
export function serviceEnv(engines: Engines, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SURGE_ENV: 'local',
    HOST: '127.0.0.1',
    DATABASE_URL: engines.databaseUrl,
    ...(engines.redis ? { REDIS_URL: engines.redis.url } : {}),
    SQS_ENDPOINT: engines.sqs.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    ORDER_PLACED_QUEUE_URL: engines.queueUrls.orderPlaced,
    PAYMENT_RESULT_QUEUE_URL: engines.queueUrls.paymentResult,
    QUEUE_VISIBILITY_TIMEOUT_SECONDS: String(engines.queue.visibilityTimeoutSeconds),
    QUEUE_MAX_RECEIVE_COUNT: String(engines.queue.maxReceiveCount),
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'info',
    METRICS_FLUSH_MS: '0',
    ...extra,
  };
}

/**
 * The fleet's production artifact: services/<name>/main.ts bundled by esbuild exactly as the CDK app
 * ships it (cached per change), to run on plain node as each instance's process does.
 */
export function serviceBundle(name: ServiceName): string {
  return join(bundleFleet(name), BUNDLE_ENTRY);
}

export interface ServiceProcess {
  name: string;
  url: string;
  child: ChildProcess;
  logFile: string;
  /** Resident memory now, in MB (VmRSS from /proc). */
  rssMb(): number;
  /** The most resident memory the process has had so far, in MB (VmHWM from /proc: the kernel's own peak). */
  peakRssMb(): number;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string>;
  /** Whether the process is still running (a drill checks its services survived the fault). */
  alive(): boolean;
  /** SIGTERM (or `signal`) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Starts `services/<name>/main.ts` (or another entry file) in its own Node process and waits until
 * `GET /health/ready` answers 200. stdout/stderr go to a log file (logging stays on, as in production).
 */
export async function startServiceProcess(
  name: ServiceName | string,
  env: Record<string, string>,
  options: { entry?: string; port?: number; tag?: string } = {},
): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `${options.tag ?? name}-${port}.log`);
  const log = createWriteStream(logFile);
  const entry = options.entry ?? join(REPO, 'services', name, 'main.ts');
  // node --import tsx runs a TypeScript entry in this very process, so the pid is the service's; a
  // bundled .js entry (the production artifact) runs on plain node. Either way with the V8 flags
  // every fleet process runs with, so memory measured here is what the fleet uses.
  const child = spawn(process.execPath, [...FLEET_NODE_FLAGS, ...(entry.endsWith('.js') ? [entry] : ['--import', 'tsx', entry])], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  child.once('exit', () => setTimeout(() => log.end(), 100));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  let exitCode: number | string | undefined;
  void exited.then((c) => (exitCode = c));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${name} exited with ${exitCode} before it was ready; see ${logFile}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} was not ready within 30 s; see ${logFile}`);
    }
    const ready = await answersReady(`${url}/health/ready`);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name,
    url,
    child,
    logFile,
    exited,
    rssMb: () => readRssMb(child.pid!),
    peakRssMb: () => readRssMb(child.pid!, 'VmHWM'),
    alive: () => exitCode === undefined,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (exitCode === undefined) child.kill(signal);
      return exited;
    },
  };
}

const CLOCK_TICKS_PER_SECOND = 100;

/** A process's name and user + system CPU so far in ms, from /proc/<pid>/stat; undefined once it has gone. */
export function readProcessCpu(pid: number): { name: string; cpuMs: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name is in parentheses and may hold spaces; the fields after it are space-separated.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** A process's resident memory in MB: now (VmRSS) or its peak so far (VmHWM); 0 once it has gone. */
export function readRssMb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}

/** Bearer tokens for `count` fresh buyer ids, signed with the services' local key (orders need no users row). */
export async function mintBuyerTokens(count: number): Promise<string[]> {
  // The services run with the local key set (no TOKEN_KEYS): tokens signed with it verify there.
  const tokens = await createTokenService({ keys: async () => LOCAL_TOKEN_KEYS, ttlSeconds: 86400 });
  const buyers: string[] = [];
  for (let i = 0; i < count; i++) buyers.push((await tokens.issue(randomUUID())).token);
  return buyers;
}

/**
 * One readiness probe on a connection of its own, closed after the answer: a keep-alive connection
 * left idle in fetch's pool would hold the service's drain for its KEEP_ALIVE_DRAIN_MS when it stops.
 */
function answersReady(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    }).on('error', () => resolve(false));
  });
}
