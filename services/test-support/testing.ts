// Test helpers for every services test: a fresh migrated database per call on the test PostgreSQL
// (each service's schema, with pools as the admin and as each service's role; a clone of a database
// migrated once),
// a Redis client with its own key prefix on the test Redis, an SQS emulator (fauxqs) in a child
// process, a throwaway redis-server a test may kill, a throwaway PostgreSQL cluster a test may stop,
// a throwaway Redis Cluster, and a ServiceContext wired to all of them.
// Where the run's engines come from is decided once (engines.ts): real ones when they answer;
// in CI, a missing one makes the test FAIL with a message saying what to start; elsewhere PGlite
// and an ioredis-mock server stand in (support/embedded-*.ts). Jest runs test files in parallel,
// so nothing here flushes, stops or drops anything it did not create.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SHARED_SQS_VARIABLE, spawnSqsEmulator, stopChild } from './child-processes';
import Redis from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { loadConfig, type SecretSource } from '../platform/config';
import { createServiceContext, type ServiceContext } from '../platform/context';
import { createDatabase, type Database, type Queryable } from '../platform/db';
import { migrate } from '../platform/migrate';
import { listMigrations, MIGRATION_FOLDERS } from '../platform/migration-files';
import { ALL_SCHEMAS, ownerDatabaseConfig, type DataOwner } from '../platform/ownership';
import { embeddedPostgresHost, type EmbeddedPostgresHost } from './embedded-postgres';
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis';
import { ADMIN_URL, SHARED_REDIS_URL, testEngines } from './engines';

export { needsRealEngine } from './engines';

const STALE_DATABASE_SECONDS = 3600;

export interface TestDatabase {
  /** Connection string of the new database, as the admin (hand it to a child process as DATABASE_URL). */
  url: string;
  /**
   * Pools as the admin, seeing every service's schema: for setting up and checking across services
   * (`outbox` is in two schemas: name it qualified, e.g. payment_service.outbox).
   */
  db: Database;
  /** Pools as `owner`'s role, seeing its schema alone, as the service connects (made on first use). */
  as(owner: DataOwner): Database;
  /** Closes the pools and drops the database. */
  drop(): Promise<void>;
}

/** A TestDatabase around `db` (the admin's pools of `url`); `release` drops what holds the database. */
function testDatabase(url: string, db: Database, release: () => Promise<void>): TestDatabase {
  const owned = new Map<DataOwner, Database>();
  return {
    url,
    db,
    as(owner) {
      let pools = owned.get(owner);
      if (!pools) {
        pools = createDatabase(ownerDatabaseConfig({ writerUrl: url, readerUrl: url, poolMax: 20 }, owner));
        owned.set(owner, pools);
      }
      return pools;
    },
    async drop() {
      await Promise.all([db.close(), ...[...owned.values()].map((pools) => pools.close())]);
      await release();
    },
  };
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

export interface TestDatabaseOptions {
  /** Apply every migration. @default true; false gives an empty database (e.g. for a worker to migrate) */
  migrated?: boolean;
}

/**
 * A new database with every migration applied (every service's schema and role): `surge_t_<time>_<random>`
 * on the real PostgreSQL, cloned from the migrated template (see migratedTemplate), or its own PGlite when
 * PostgreSQL is embedded (which ignores roles: every pool there is the admin, seeing every schema).
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const migrated = options.migrated ?? true;
  if ((await testEngines()).postgres === 'embedded') return createEmbeddedTestDatabase(migrated);
  const template = migrated ? await (migratedTemplateName ??= migratedTemplate()) : undefined;
  const admin = await adminClient();
  const now = Math.floor(Date.now() / 1000);
  const name = `surge_t_${now}_${randomBytes(4).toString('hex')}`;
  try {
    await dropStaleDatabases(admin, now);
    // PostgreSQL 15's default strategy, WAL_LOG, copies the template's few MB through the WAL: it was
    // faster here (1.3-2x, more so with clones at once) than FILE_COPY, which checkpoints the cluster twice.
    await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = createDatabase({ writerUrl: url.toString(), readerUrl: url.toString(), poolMax: 20 });
  return testDatabase(url.toString(), db, () => dropDatabase(name));
}

// Any fixed 64-bit number other than migrate.ts's lock; this one is "surget" in ASCII.
const TEMPLATE_LOCK_ID = 0x737572676574;

// This test file's template: jest gives each file its own modules, so each file checks it once.
let migratedTemplateName: Promise<string> | undefined;

/**
 * The database every migrated test database is cloned from: running the migrations took 0.3-1 s per
 * database here (about 80 of them a run), a clone about 0.1 s. Its name is `surge_tpl_<hash>` of all that
 * decides what migrate() makes of an empty database (the migration files, the code applying them, the
 * role and grant SQL, the admin who owns it all), so a changed migration gets a template of its own
 * while a run of the old code may still be cloning the old one. It is built once, under an advisory lock
 * so that jest workers and concurrent runs starting together do not race, and marked a template only
 * when fully migrated. CREATE DATABASE ... TEMPLATE fails while anyone is connected to the template, so
 * it then refuses connections. The roles are cluster-wide, made while it was built; its grants to them
 * are copied with it.
 */
async function migratedTemplate(): Promise<string> {
  const hash = createHash('sha256');
  const platform = join(__dirname, '..', 'platform');
  for (const file of ['migrate.ts', 'migration-files.ts', 'ownership.ts', 'ownership-upgrade.ts']) {
    hash.update(`${file}\0${readFileSync(join(platform, file), 'utf8')}\0`);
  }
  for (const { owner, dir } of MIGRATION_FOLDERS) {
    for (const m of listMigrations(dir)) hash.update(`${owner}/${m.version}_${m.name}\0${m.sql}\0`);
  }
  const url = new URL(ADMIN_URL);
  hash.update(decodeURIComponent(url.username));
  const name = `surge_tpl_${hash.digest('hex').slice(0, 16)}`;
  const admin = await adminClient();
  try {
    // Held until admin.end(), even when this process dies mid-way.
    await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_ID]);
    const now = Math.floor(Date.now() / 1000);
    await dropStaleTemplates(admin, name, now);
    const { rows } = await admin.query<{ ready: boolean }>('SELECT datistemplate AS ready FROM pg_database WHERE datname = $1', [name]);
    if (!rows[0]?.ready) {
      // Not a template yet: its builder died or failed before the end (it held the lock), so start over.
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
      url.pathname = `/${name}`;
      // migrate() uses the pool's settings only, on a connection of its own that it closes.
      const pool = new pg.Pool({ connectionString: url.toString() });
      try {
        await migrate(pool);
      } finally {
        await pool.end();
      }
      await admin.query(`ALTER DATABASE ${name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    }
    // When a run last used it, for dropStaleTemplates.
    await admin.query(`COMMENT ON DATABASE ${name} IS '${now}'`);
    return name;
  } finally {
    await admin.end();
  }
}

/**
 * Other templates (older migrations) no test file has used for an hour, and half-built ones (the lock
 * held means nobody is building one). A DROP waits for a CREATE DATABASE cloning the template to finish.
 */
async function dropStaleTemplates(admin: pg.Client, current: string, now: number): Promise<void> {
  const { rows } = await admin.query<{ datname: string; ready: boolean; used: string | null }>(
    "SELECT datname, datistemplate AS ready, shobj_description(oid, 'pg_database') AS used FROM pg_database WHERE datname LIKE 'surge\\_tpl\\_%'",
  );
  for (const { datname, ready, used } of rows) {
    if (datname === current || (ready && now - Number(used) <= STALE_DATABASE_SECONDS)) continue;
    await admin
      .query(`ALTER DATABASE ${datname} WITH IS_TEMPLATE false`)
      .then(() => admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`))
      .catch(() => undefined);
  }
}

// One host process serves the run's embedded databases (jest cannot run PGlite itself); the global
// setup starts it, a process without one starts its own.
let embeddedPostgres: Promise<EmbeddedPostgresHost> | undefined;

async function createEmbeddedTestDatabase(migrated: boolean): Promise<TestDatabase> {
  embeddedPostgres ??= embeddedPostgresHost();
  const engine = await (await embeddedPostgres).createDatabase(migrated);
  // Several connections are fine: the embedded server hands PGlite's one backend to one exchange at a time.
  const db = createDatabase({ writerUrl: engine.url, readerUrl: engine.url, poolMax: 20 });
  return testDatabase(engine.url, db, () => engine.drop());
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

// The embedded stand-in for the shared Redis: one per test process, left running until it exits.
let sharedEmbeddedRedis: Promise<EmbeddedRedis> | undefined;

/** URL of the shared test Redis: the real one, or this process's embedded one. */
export async function testRedisUrl(): Promise<string> {
  if ((await testEngines()).redis !== 'embedded') return SHARED_REDIS_URL;
  sharedEmbeddedRedis ??= startEmbeddedRedis(0, { unref: true });
  return (await sharedEmbeddedRedis).url;
}

/** A client of the shared Redis whose keys all carry a unique prefix; close it with `quit()`. */
export async function createTestRedis(): Promise<Redis> {
  const url = await testRedisUrl();
  const redis = new Redis(url, { keyPrefix: uniquePrefix(), lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new Error(
      `Redis is not reachable at ${url} (${(err as Error).message}). The services tests need a real Redis: ` +
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

/**
 * An SQS emulator for a test or a local drill: under jest the run's shared one (queue names prefixed,
 * so files never see each other's queues; `stop()` leaves it running), otherwise one of its own.
 */
export async function startSqsEmulator(): Promise<SqsEmulator> {
  const shared = process.env[SHARED_SQS_VARIABLE];
  const own = shared ? undefined : await spawnSqsEmulator();
  const endpoint = shared ?? own!.endpoint;
  const prefix = shared ? `${randomUUID().slice(0, 8)}-` : '';
  const sqs = new SQSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  return {
    endpoint,
    sqs,
    async createQueue(name, options = {}) {
      const attributes: Record<string, string> = {};
      if (options.visibilityTimeout !== undefined) attributes.VisibilityTimeout = String(options.visibilityTimeout);
      let dlqUrl: string | undefined;
      if (options.dlq) {
        dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}${name}-dlq` }))).QueueUrl!;
        const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes!
          .QueueArn!;
        attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount ?? 3 });
      }
      const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}${name}`, Attributes: attributes }))).QueueUrl!;
      return { queueUrl, dlqUrl };
    },
    async stop() {
      sqs.destroy();
      await own?.stop();
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

/** A throwaway redis-server on a free loopback port (an embedded one without redis-server), for tests that stop Redis. */
export async function startRedisServer(): Promise<RedisServer> {
  if ((await testEngines())['redis-server'] === 'embedded') return startEmbeddedRedis();
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

/** Where the PostgreSQL 15 programs are (Debian's layout); PG_BIN overrides. */
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface ThrowawayCluster {
  /** `postgres://postgres@127.0.0.1:<port>/surge`: the superuser, trusted on loopback (as are the services' roles). */
  url: string;
  port: number;
  /** pg_ctl stop -m fast: the outage. */
  stop(): void;
  /** pg_ctl start on the same port and data. */
  start(): void;
  /** Stops it (if running) and removes its files. */
  destroy(): void;
}

/**
 * A PostgreSQL 15 cluster of its own (initdb in a temp dir, run as the `postgres` user on a free
 * loopback port) with a database `surge`, for tests and drills that stop the database or change a
 * password: the shared server on 5432 is never touched. The superuser `postgres` and the services' roles
 * (which have no password locally, ./ownership.ts) are trusted; every other role must log in with its
 * password (scram-sha-256), as on RDS.
 */
export async function throwawayCluster(): Promise<ThrowawayCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'surge-pg-'));
  const port = await freePort();
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const asPostgres = (bin: string, args: string[]) =>
    execFileSync('runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args], { stdio: 'pipe', encoding: 'utf8' });
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  writeFileSync(
    join(data, 'pg_hba.conf'),
    [
      'local all all trust',
      `host all postgres,${ALL_SCHEMAS.join(',')} 127.0.0.1/32 trust`,
      'host all all 127.0.0.1/32 scram-sha-256',
      '',
    ].join('\n'),
  );
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = () => void asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
  const stop = () => void asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  try {
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await admin.connect();
    await admin.query('CREATE DATABASE surge');
    await admin.end();
  } catch (err) {
    stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/surge`,
    port,
    stop,
    start,
    destroy() {
      try {
        stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestContextOptions {
  /** From createTestDatabase(); omit it to configure the database through `env` (DB_WRITER_HOST, ...). */
  databaseUrl?: string;
  /** Where DB_SECRET_ARN and the other secret ARNs in `env` are read. @default none: a test asking for a secret fails */
  secrets?: SecretSource;
  /** A Redis URL, or true for the shared test Redis; omitted = in-memory cache and limiter. */
  redis?: string | true;
  sqsEndpoint?: string;
  queueUrls?: { orderPlaced?: string; paymentResult?: string };
  /** Extra environment variables, e.g. { RATE_LIMIT_ORDERS_PER_MINUTE: '1000' }. */
  env?: Record<string, string>;
  service?: string;
}

/**
 * scrypt at N=2^10 for the services the tests start: the flows around a password (registration, login,
 * rehash) are the same at any cost, and at the product's 2^17 (128 MiB, most of a second) the suite's
 * sign-ups were an eighth of its CPU. services/user/test/users.test.ts tests the product's cost.
 */
export const TEST_PASSWORD_HASH_LOG2_N = '10';

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
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // The cheapest password hash config allows locally: a file that tests the hash itself sets 17.
    PASSWORD_HASH_LOG2_N: TEST_PASSWORD_HASH_LOG2_N,
    ...(options.redis ? { REDIS_URL: options.redis === true ? await testRedisUrl() : options.redis } : {}),
    ...(options.sqsEndpoint ? { SQS_ENDPOINT: options.sqsEndpoint } : {}),
    ...(options.queueUrls?.orderPlaced ? { ORDER_PLACED_QUEUE_URL: options.queueUrls.orderPlaced } : {}),
    ...(options.queueUrls?.paymentResult ? { PAYMENT_RESULT_QUEUE_URL: options.queueUrls.paymentResult } : {}),
    ...options.env,
  };
  const config = await loadConfig(env, options.secrets ?? NO_SECRETS);
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

export interface RedisCluster {
  /** One node's URL, the seed: pass it as REDIS_URL with REDIS_CLUSTER=true. */
  url: string;
  /** Client ports of the masters (each owns a third of the slots with three). */
  ports: number[];
  /** Kills every node and removes their files. */
  close(): Promise<void>;
}

/**
 * A throwaway Redis Cluster like ElastiCache cluster mode: `masters` redis-server processes with
 * cluster mode on, on free loopback ports, without replicas or persistence, their node files in a
 * temporary directory. Needs redis-server and redis-cli on PATH; suites using it are marked
 * needsRealEngine('redis-server', ...), since the embedded stand-in speaks no cluster protocol.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'surge-redis-cluster-'));
  const children: ChildProcess[] = [];
  const close = async () => {
    await Promise.all(children.map((child) => stopChild(child, 'SIGKILL')));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Each node needs a client port and a cluster bus port; the bus default (port + 10000) may be
    // taken or above 65535, so both are picked.
    const taken = new Set<number>();
    while (taken.size < masters * 2) taken.add(await freePort());
    const [ports, busPorts] = [[...taken].slice(0, masters), [...taken].slice(masters)];
    ports.forEach((port, i) => {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
      args.push('--cluster-enabled', 'yes', '--cluster-port', String(busPorts[i]), '--cluster-config-file', `nodes-${port}.conf`);
      const child = spawn('redis-server', args, { stdio: 'ignore' });
      child.once('error', () => undefined); // reported below as a node that never answers
      children.push(child);
    });
    await untilNodesSay(children, ports, ['PING'], (reply) => reply === 'PONG', 'answer PING');
    await promisify(execFile)(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 20000 },
    ).catch((err: Error & { stdout?: string }) => {
      throw new Error(`redis-cli --cluster create failed: ${err.message}\n${err.stdout ?? ''}`);
    });
    // redis-cli returns once the nodes agree on the slots; each node reports ok a moment later.
    await untilNodesSay(children, ports, ['CLUSTER', 'INFO'], (reply) => reply.includes('cluster_state:ok'), 'report cluster_state:ok');
    return { url: `redis://127.0.0.1:${ports[0]}`, ports, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Polls every node with `command` until `ok(reply)` holds for all, for at most 10 s. */
async function untilNodesSay(children: ChildProcess[], ports: number[], command: string[], ok: (reply: string) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10000;
  for (const [i, port] of ports.entries()) {
    for (;;) {
      const reply = await askRedisNode(port, command);
      if (reply !== undefined && ok(reply)) break;
      if (children[i].exitCode !== null || children[i].signalCode !== null || children[i].pid === undefined) {
        throw new Error(`redis-server on port ${port} is not running (is redis-server on PATH?)`);
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not ${what} within 10 s (last reply: ${reply})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** One command on one node over a fresh connection; undefined when the node does not answer. */
async function askRedisNode(port: number, command: string[]): Promise<string | undefined> {
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 300, disconnectTimeout: 100 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return String(await probe.call(command[0], ...command.slice(1)));
  } catch {
    return undefined;
  } finally {
    probe.disconnect();
  }
}

/** What became of one HTTP request sent while a server drains. */
export type RequestOutcome =
  | { kind: 'answered'; status: number; body: string }
  /** Nothing was listening, or the connection failed before any of the request was written: never accepted. */
  | { kind: 'refused' }
  /** Written, then the connection failed before the answer: a request lost in flight. */
  | { kind: 'cut' };

/** Sends one request (on `options.agent`, e.g. a keep-alive agent) and tells refused from cut. */
export function requestOutcome(options: http.RequestOptions, body?: string): Promise<RequestOutcome> {
  return new Promise((resolve) => {
    let sent = false;
    const req = http.request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ kind: 'answered', status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', () => resolve({ kind: 'cut' }));
    });
    req.on('finish', () => (sent = true));
    // A reused keep-alive socket the server closed before reading our request counts as refused only
    // if nothing was written on it.
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' || !sent ? { kind: 'refused' } : { kind: 'cut' }));
    req.end(body);
  });
}

/** Rows `sql` returns: the truth straight from the database, for assertions. */
export async function countRows(db: Queryable, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM (${sql}) AS counted`, params);
  return Number(rows[0].n);
}
