// Everything a service's routes and workers use, built once from the configuration: database pools,
// cache, rate limiter, token service, logger, metrics and the SQS client. With REDIS_URL unset the
// cache and limiter live in process memory (local runs only; config refuses that in dev and prod).
import type { SQSClient } from '@aws-sdk/client-sqs';
import pino, { type Logger } from 'pino';
import { createTokenService, type TokenService } from './auth';
import { createMemoryCache, createRedisCache, type Cache } from './cache';
import type { ServiceConfig } from './config';
import { createDatabase, type Database } from './db';
import { createMetrics, type Metrics } from './metrics';
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
  readonly config: ServiceConfig;
  readonly db: Database;
  readonly cache: Cache;
  readonly limiter: RateLimiter;
  readonly tokens: TokenService;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly sqs: SQSClient;
  /** The shared Redis connection (one node or a cluster); undefined when running with in-memory engines. */
  readonly redis?: RedisClient;
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
  logger?: Logger;
  /** Prefix for every Redis key (tests use a unique one). */
  redisKeyPrefix?: string;
}

export async function createServiceContext(config: ServiceConfig, options: ServiceContextOptions = {}): Promise<ServiceContext> {
  const service = options.service ?? 'surge';
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service } });
  const metrics = createMetrics({ service, flushMs: config.metricsFlushMs });
  const db = createDatabase(config.database, {
    onIdleError: (err) => logger.warn({ err }, 'idle database connection failed'),
  });
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
  let closed: Promise<void> | undefined;
  return {
    service,
    config,
    db,
    cache,
    limiter,
    tokens,
    logger,
    metrics,
    sqs,
    redis,
    async checkHealth() {
      const database = await db.writer
        .query('SELECT 1')
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
        await db.close();
      })();
      return closed;
    },
  };
}
