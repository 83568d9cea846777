// What the browser tests drive: `npm start` (services/local/main.ts, which builds and serves the
// storefront at /) in a child process, on a fresh migrated database of the real PostgreSQL, a
// throwaway redis-server and fauxqs - the engines the services tests use (embedded stand-ins only
// outside CI, see services/test-support/engines.ts). Only loopback; `stop()` ends all of it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser } from 'playwright-core';
import { seedCatalog } from '../../services/order/seed';
import { CHROMIUM_PATH } from '../../services/test-support/engines';
import { createTestDatabase, startRedisServer, startSqsEmulator, TEST_PASSWORD_HASH_LOG2_N, type TestDatabase } from '../../services/test-support/testing';

const REPO = join(__dirname, '..', '..');

/** The flags the project drives Chromium with: headless, and nothing that reaches the network by itself. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

export interface LocalStack {
  baseUrl: string;
  database: TestDatabase;
  /** The runner's output so far (for failure messages). */
  output: string[];
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  /** Products to seed. */
  products: number;
  /** More environment for `npm start`, given the seeded database (e.g. sale events naming product ids). */
  env?: (database: TestDatabase) => Promise<Record<string, string>>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const database = await createTestDatabase();
    stops.push(() => database.drop());
    await seedCatalog(database.db, options.products);
    const redis = await startRedisServer();
    stops.push(() => redis.stop());
    const sqs = await startSqsEmulator();
    stops.push(() => sqs.stop());
    const placed = await sqs.createQueue('order-placed', { dlq: true, maxReceiveCount: 3, visibilityTimeout: 30 });
    const result = await sqs.createQueue('payment-result', { dlq: true, maxReceiveCount: 3, visibilityTimeout: 30 });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: '0',
      LOG_LEVEL: 'warn',
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      SQS_ENDPOINT: sqs.endpoint,
      ORDER_PLACED_QUEUE_URL: placed.queueUrl,
      PAYMENT_RESULT_QUEUE_URL: result.queueUrl,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      SEED_PRODUCTS: '0',
      METRICS_FLUSH_MS: '0',
      PASSWORD_HASH_LOG2_N: TEST_PASSWORD_HASH_LOG2_N,
      ...(await options.env?.(database)),
    };
    const runner = await startRunner(env);
    stops.push(() => runner.stop());
    return { baseUrl: runner.baseUrl, database, output: runner.output, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** `npm start` as node with tsx's loader (so the pid is the program's and SIGTERM reaches it). */
function startRunner(env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<{ baseUrl: string; output: string[]; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'services', 'local', 'main.ts')], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`npm start did not listen within ${timeoutMs} ms:\n${output.join('\n')}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code} before listening:\n${output.join('\n')}`));
    });
    let baseUrl: string | undefined;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      baseUrl ??= /Surge is listening on (http:\/\/localhost:\d+)/.exec(line)?.[1];
      if (baseUrl && line.startsWith('  try:')) {
        clearTimeout(timer);
        resolve({ baseUrl, output, stop });
      }
    });
  });
}
