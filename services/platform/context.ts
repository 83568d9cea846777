// Everything a service's routes and workers use, built once from the configuration: database pools,
// cache, rate limiter, token service, logger, metrics and the SQS client. With REDIS_URL unset the
// cache and limiter live in process memory (local runs only; config refuses that in dev and prod).
// The database pools connect as the service's own role (./ownership.ts). A process hosting several
// services (the worker fleet, `npm start`) hands each of them `ctx.as(service)`: the same context with
// pools of that service's role; every service's routes and workers ask for their own that way.
import type { SQSClient } from '@aws-sdk/client-sqs';
import pino, { type Logger } from 'pino';
import { createTokenService, type TokenService } from './auth';
import { createMemoryCache, createRedisCache, type Cache } from './cache';
import type { ServiceConfig } from './config';
import { createDatabase, type Database } from './db';
import { createMetrics, type Metrics } from './metrics';
import { ownerDatabaseConfig, DATA_OWNERS, type DataOwner } from './ownership';
import { createSqsClient } from './queue';
import { leaseSizeFor } from './rate-limit/leases';
import { type RateLimiter } from './rate-limit/limiter';
import { createMemoryRateLimiter } from './rate-limit/memory-limiter';
import { createRedisRateLimiter } from './rate-limit/redis-limiter';
import { connectRedis, createBreaker, createRedisClient, type RedisClient } from './redis';

/** Entries of the in-process cache in front of Redis: a few MB at product size. */
const LOCAL_CACHE_ENTRIES = 10_000;

export interface ServiceContext {
  readonly service: string;
  /** The service whose tables `db` reaches; undefined in a process hosting several, until `as(owner)`. */
  readonly owner?: DataOwner;
  readonly config: ServiceConfig;
  /**
   * Pools connected as `owner`'s role, seeing its schema alone; without an owner, as the configured
   * login (the admin locally), seeing every service's schema (for tests and tools).
   */
  readonly db: Database;
  readonly cache: Cache;
  readonly limiter: RateLimiter;
  readonly tokens: TokenService;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly sqs: SQSClient;
  /** The shared Redis connection (one node or a cluster); undefined when running with in-memory engines. */
  readonly redis?: RedisClient;
  /**
   * This context with `db` connected as `owner`'s role (itself when it is already `owner`'s). The pools
   * are made on the first call per owner and closed with the context.
   */
  as(owner: DataOwner): ServiceContext;
  /** What readiness reports: the database must answer; Redis is reported but optional (see README). */
  checkHealth(): Promise<HealthReport>;
  /** Closes pools and clients; call after the HTTP server and workers have stopped. */
  close(): Promise<void>;
}

export interface HealthReport {
  ready: boolean;
  database: 'up' | 'down';
  redis: 'up' | 'down' | 'not configured';
}

export interface ServiceContextOptions {
  /** Service name for logs and metrics. @default 'surge' */
  service?: string;
  /** Whose tables `db` reaches. @default the service `service` names, if it owns tables (user, order, payment) */
  owner?: DataOwner;
  logger?: Logger;
  /** Prefix for every Redis key (tests use a unique one). */
  redisKeyPrefix?: string;
}

export async function createServiceContext(config: ServiceConfig, options: ServiceContextOptions = {}): Promise<ServiceContext> {
  const service = options.service ?? 'surge';
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service } });
  const metrics = createMetrics({ service, flushMs: config.metricsFlushMs });
  const owner = options.owner ?? DATA_OWNERS.find((o) => o === service);
  const connect = (as?: DataOwner) =>
    createDatabase(as ? ownerDatabaseConfig(config.database, as) : config.database, {
      onIdleError: (err) => logger.warn({ err }, 'idle database connection failed'),
    });
  const db = connect(owner);
  // One pair of bound counters per cache namespace (a handful), looked up by name per read.
  const cacheCounters = new Map<string, { hit: () => void; miss: () => void }>();
  const observe = (cache: string, hit: boolean) => {
    let counters = cacheCounters.get(cache);
    if (!counters) {
      const dims = { Cache: cache };
      counters = { hit: metrics.counter('CacheHit', dims), miss: metrics.counter('CacheMiss', dims) };
      cacheCounters.set(cache, counters);
    }
    (hit ? counters.hit : counters.miss)();
  };

  let redis: RedisClient | undefined;
  let cache: Cache;
  let limiter: RateLimiter;
  if (config.redisUrl) {
    const client = createRedisClient(config.redisUrl, { keyPrefix: options.redisKeyPrefix, cluster: config.redisCluster });
    redis = client;
    // Reconnect attempts emit 'error' events; the breaker reports the outage once instead.
    client.on('error', () => undefined);
    const breaker = createBreaker({
      onStateChange: (state, cause) =>
        state === 'open'
          ? logger.error({ err: cause }, 'Redis unavailable: cache reads go to the database; the default rate limit FAILS OPEN, login, registration and order limits hold per process')
          : logger.info('Redis answers again: cache and rate limiting restored'),
    });
    let lastFailOpenLog = 0;
    let lastFallbackLog = 0;
    cache = createRedisCache({
      redis: client,
      breaker,
      observe,
      onError: (err, operation) => logger.debug({ err, operation }, 'cache write or background reload skipped'),
      // Hot keys answered from process memory without a Redis round trip (values stay within their TTL).
      localEntries: LOCAL_CACHE_ENTRIES,
    });
    limiter = createRedisRateLimiter({
      redis: client,
      breaker,
      leaseSize: leaseSizeFor,
      fallback: createMemoryRateLimiter(),
      onFallback: (policy) => {
        metrics.count('RateLimitFallback', { Policy: policy });
        if (Date.now() - lastFallbackLog > 10000) {
          lastFallbackLog = Date.now();
          logger.warn('rate limiter: Redis is unavailable, login, registration and order limits are kept in process memory');
        }
      },
      onFailOpen: () => {
        metrics.count('RateLimitFailOpen', {});
        if (Date.now() - lastFailOpenLog > 10000) {
          lastFailOpenLog = Date.now();
          logger.warn('rate limiter failing open: Redis is unavailable, requests are not limited');
        }
      },
    });
    if (!(await connectRedis(client))) logger.error('Redis did not answer at start; continuing without it until it does');
  } else {
    cache = createMemoryCache({ observe });
    limiter = createMemoryRateLimiter();
  }

  const tokens = await createTokenService({ keys: config.tokenKeys, ttlSeconds: config.tokenTtlSeconds });
  const sqs = createSqsClient(config);
  // The pools of the owners other services of this process asked for with as().
  const owned = new Map<DataOwner, ServiceContext>();
  let closed: Promise<void> | undefined;
  const root: ServiceContext = {
    service,
    config,
    cache,
    limiter,
    tokens,
    logger,
    metrics,
    sqs,
    redis,
    owner,
    db,
    as(as) {
      if (as === owner) return root;
      let view = owned.get(as);
      if (!view) {
        view = { ...root, owner: as, db: connect(as) };
        owned.set(as, view);
      }
      return view;
    },
    async checkHealth() {
      // Every database the process serves with: a process whose services all use as() (the worker
      // fleet) never opens `db`, so that is not asked then.
      const used = [...(owner !== undefined || owned.size === 0 ? [db] : []), ...[...owned.values()].map((view) => view.db)];
      const database = await Promise.all(used.map((d) => d.writer.query('SELECT 1')))
        .then(() => 'up' as const)
        .catch(() => 'down' as const);
      const redisState = !redis ? ('not configured' as const) : redis.status === 'ready' ? ('up' as const) : ('down' as const);
      return { ready: database === 'up', database, redis: redisState };
    },
    close() {
      closed ??= (async () => {
        metrics.stop();
        sqs.destroy();
        if (redis) await redis.quit().catch(() => redis?.disconnect());
        await Promise.all([db.close(), ...[...owned.values()].map((v) => v.db.close())]);
      })();
      return closed;
    },
  };
  return root;
}
