// The Redis client every service shares (one node, or a Redis Cluster for ElastiCache cluster mode),
// tuned so that a Redis outage costs a request milliseconds, not seconds: no offline queue, short
// command timeouts, and a breaker that stops calling Redis for a while after consecutive failures.
// Callers (cache, rate limiter) pass a fallback to the breaker.
import Redis, { Cluster } from 'ioredis';

/**
 * What every Redis caller (cache, rate limiter, readiness) depends on: one node, or a Redis Cluster
 * when REDIS_CLUSTER is true. Only single-key commands are used, so the two behave alike.
 */
export type RedisClient = Redis | Cluster;

export interface RedisOptions {
  /** Prefix for every key; tests use a unique one per file. */
  keyPrefix?: string;
  /** Per-command timeout; a slower Redis counts as down. */
  commandTimeoutMs?: number;
  /**
   * Speak the cluster protocol: `url` names one seed node (the ElastiCache configuration endpoint)
   * and the client follows the slot map from there. @default false - a single node
   */
  cluster?: boolean;
}

export function createRedisClient(url: string, options: RedisOptions = {}): RedisClient {
  // Settings of every connection: the single node's, or each cluster node's.
  const connection = {
    keyPrefix: options.keyPrefix,
    commandTimeout: options.commandTimeoutMs ?? 250,
    connectTimeout: 1000,
    // disconnect() of a dead stream arms a timer this long; keep it short so shutdown is quick.
    disconnectTimeout: 200,
    maxRetriesPerRequest: 1,
    // Commands issued in the same event-loop turn (one per concurrent request: rate-limit scripts, cache
    // reads) go out in one write instead of one write each: under a sale's load the per-command socket
    // write was most of the rate limiter's cost (profiled on the flash-sale drill).
    enableAutoPipelining: true,
  };
  const retryDelay = (attempt: number) => Math.min(attempt * 200, 2000);
  // Queued commands would wait for a reconnect that may take seconds; failing at once lets the
  // caller fall back to the database (cache) or fail open (rate limiter).
  if (!options.cluster) return new Redis(url, { ...connection, lazyConnect: true, enableOfflineQueue: false, retryStrategy: retryDelay });

  const seed = new URL(url);
  return new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: retryDelay,
    // ioredis resolves node names to IPs by default, and ElastiCache's TLS certificates name hosts,
    // not IPs: connect by name (ioredis's documented setting for ElastiCache clusters with TLS).
    dnsLookup: (address, callback) => callback(null, address),
    redisOptions: {
      ...connection,
      username: seed.username ? decodeURIComponent(seed.username) : undefined,
      password: seed.password ? decodeURIComponent(seed.password) : undefined,
      tls: seed.protocol === 'rediss:' ? {} : undefined,
    },
  });
}

/** Connects, but never fails the caller: a service starts (degraded) even when Redis does not answer. */
export async function connectRedis(redis: RedisClient, timeoutMs = 2000): Promise<boolean> {
  if (redis.status === 'ready') return true;
  const ready = new Promise<boolean>((resolve) => {
    redis.once('ready', () => resolve(true));
    setTimeout(() => resolve(false), timeoutMs).unref();
  });
  if (redis.status === 'wait') redis.connect().catch(() => undefined);
  return ready;
}

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. @default 3 */
  failureThreshold?: number;
  /** How long an open breaker skips Redis before one trial call. @default 5000 ms */
  openMs?: number;
  onStateChange?: (state: 'open' | 'closed', cause?: unknown) => void;
}

export interface Breaker {
  /** Runs `call`; when the breaker is open or `call` fails, returns `fallback(err)` instead. */
  run<T>(call: () => Promise<T>, fallback: (err?: unknown) => T | Promise<T>): Promise<T>;
  readonly isOpen: boolean;
}

export function createBreaker(options: BreakerOptions = {}): Breaker {
  const threshold = options.failureThreshold ?? 3;
  const openMs = options.openMs ?? 5000;
  let failures = 0;
  let openUntil = 0;
  let trialInFlight = false;

  return {
    get isOpen() {
      return failures >= threshold;
    },
    async run(call, fallback) {
      const open = failures >= threshold;
      if (open && (Date.now() < openUntil || trialInFlight)) return fallback();
      const trial = open;
      if (trial) trialInFlight = true;
      try {
        const result = await call();
        if (failures >= threshold) options.onStateChange?.('closed');
        failures = 0;
        return result;
      } catch (err) {
        failures += 1;
        if (failures >= threshold) {
          if (failures === threshold) options.onStateChange?.('open', err);
          openUntil = Date.now() + openMs;
        }
        return fallback(err);
      } finally {
        if (trial) trialInFlight = false;
      }
    },
  };
}
