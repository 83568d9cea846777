// Each fleet's BUNDLED artifact (what the instance downloads), started the way systemd starts it:
// `node FLEET_NODE_FLAGS cluster-launcher.js` with the environment the synthesized stack writes for
// it - of a fork's environment (`staging`, as docs/FORKING.md adds one), so SURGE_ENV is whatever
// name the CDK config accepted - except that local engines replace AWS (the test PostgreSQL and
// Redis, real or embedded, and fauxqs) and a local key replaces the secret ARNs. It must answer 200
// on /health/ready within the time limit, then stop cleanly on SIGTERM.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type FleetName, validateConfig } from '../../lib/config';
import { dev } from '../../lib/config/dev';
import { BUNDLE_ENTRY, BUNDLE_LAUNCHER, bundleFleet, FLEET_NODE_FLAGS } from '../../lib/deploy/bundle';
import { SurgeStack } from '../../lib/stack/surge-stack';
import {
  createTestDatabase,
  freePort,
  type SqsEmulator,
  startSqsEmulator,
  type TestDatabase,
  testRedisUrl,
} from '../../services/test-support/testing';
import { generateTokenKey } from '../../services/platform/token-keys';
import { cdkContext, fleetEnvironment } from '../helpers/app';

const READY_WITHIN_MS = 20_000;

jest.setTimeout(60_000);

let sqs: SqsEmulator;
let queues: { orderPlaced: string; paymentResult: string };
let database: TestDatabase;
let redisUrl: string;
let stack: SurgeStack;
let template: Template;

beforeAll(async () => {
  // A fork's environment: dev's config under a name the services have never heard of.
  stack = new SurgeStack(new App({ context: cdkContext }), 'Surge-staging', {
    config: validateConfig({ ...dev, envName: 'staging' }),
    env: { region: dev.region },
  });
  template = Template.fromStack(stack);
  redisUrl = await testRedisUrl();
  sqs = await startSqsEmulator();
  queues = {
    orderPlaced: (await sqs.createQueue('order-placed', { dlq: true })).queueUrl,
    paymentResult: (await sqs.createQueue('payment-result', { dlq: true })).queueUrl,
  };
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
  await sqs?.stop();
});

/** Settings that name AWS resources (endpoints, secret ARNs, the RDS CA bundle path, queue URLs): local engines replace them. */
const AWS_BOUND = /^(DB_|REDIS_|TOKEN_SIGNING_|TOKEN_PUBLIC_KEYS_|WAITING_ROOM_ADMISSION_)|_QUEUE_URL$/;

/** The instances' token keys, in place of the stack's secret. */
const TOKEN_KEYS = JSON.stringify({ keys: [generateTokenKey('bundled-service-test')] });

/** The instance's environment from the synthesized stack, with local engines and a test token key. */
function instanceEnvironment(fleet: FleetName, port: number, databaseUrl: string): NodeJS.ProcessEnv {
  const fromStack = Object.fromEntries(Object.entries(fleetEnvironment(stack, fleet, template)).filter(([key]) => !AWS_BOUND.test(key)));
  expect(fromStack.SURGE_ENV).toBe('staging');
  return {
    ...fromStack,
    PATH: process.env.PATH,
    PORT: String(port),
    HOST: '127.0.0.1',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    TOKEN_KEYS,
    SHUTDOWN_DEADLINE_MS: '5000',
    METRICS_FLUSH_MS: '0',
    LOG_LEVEL: 'warn',
    SURGE_WORKERS: '1',
    ...(fleet === 'worker'
      ? { SQS_ENDPOINT: sqs.endpoint, ORDER_PLACED_QUEUE_URL: queues.orderPlaced, PAYMENT_RESULT_QUEUE_URL: queues.paymentResult }
      : {}),
  };
}

async function waitForReady(url: string, child: ChildProcess, output: () => string): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < READY_WITHIN_MS) {
    if (child.exitCode !== null) throw new Error(`the bundle exited with code ${child.exitCode}:\n${output()}`);
    try {
      const response = await fetch(url);
      if (response.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no 200 from ${url} within ${READY_WITHIN_MS} ms:\n${output()}`);
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

async function runBundle(fleet: FleetName, databaseUrl: string): Promise<void> {
  const dir = bundleFleet(fleet);
  const port = await freePort();
  const child = spawn(process.execPath, [...FLEET_NODE_FLAGS, join(dir, BUNDLE_LAUNCHER)], { env: instanceEnvironment(fleet, port, databaseUrl), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  try {
    await waitForReady(`http://127.0.0.1:${port}/health/ready`, child, () => output);
    const live = await fetch(`http://127.0.0.1:${port}/health/live`);
    expect(live.status).toBe(200);
    // The service process (the launcher's one node:cluster worker) runs with the launcher's V8 flags.
    const workers = execFileSync('ps', ['-A', '-ww', '-o', 'ppid=,args='], { encoding: 'utf8' })
      .split('\n')
      .filter((row) => row.trim().startsWith(`${child.pid} `));
    expect(workers).toEqual([expect.stringContaining(`${[...FLEET_NODE_FLAGS, join(dir, BUNDLE_ENTRY)].join(' ')}`)]);
  } finally {
    expect(await stop(child)).toBe(0);
  }
}

// Every fleet starts with MIGRATE_ON_START=false (the deployment's migration step migrates: see
// test/deploy/migration-step.test.ts), so each bundle gets ready against a migrated database.
test.each(['user', 'order', 'payment', 'worker'] as const)('the bundled %s service gets ready against local engines', async (fleet) => {
  await runBundle(fleet, database.url);
});

test('a bundle that cannot start exits non-zero quickly, so systemd restarts it (no silent fork loop)', async () => {
  const dir = bundleFleet('user');
  const env = instanceEnvironment('user', await freePort(), database.url);
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [join(dir, BUNDLE_LAUNCHER)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  child.stdout!.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the launcher kept running without a database:\n${output}`));
    }, 15_000);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  expect(code).toBe(1);
  expect(output).toMatch(/DATABASE_URL/);
  expect(output).toMatch(/worker failed during startup/);
});
