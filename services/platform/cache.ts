// Cache-aside for hot reads (product pages). A miss runs the loader once per key per process even
// under a stampede (in-process single-flight; with N instances at most N loads per key per expiry,
// which the database absorbs easily). Entries live `ttlSeconds` minus up to 20% random jitter, so
// keys written together do not expire together and an entry is never older than `ttlSeconds`.
// If Redis fails, the breaker sends reads straight to the loader: slower, but the service stays up.
//
// The Redis cache can keep hot entries in process memory too (the L1, `localEntries`), so that a hot
// read makes no Redis round trip at all. Every value carries the time it was read from the database
// (`at`, taken before the query) through Redis and the L1, and no layer serves a value older than
// `ttlSeconds` from that moment: the staleness promise does not grow with the number of layers. An L1
// copy also lives at most `localMaxAgeMs` (1 s), because `delete` cannot reach other instances' L1s.
// An L1 entry in the last quarter of its life is still served while one background reload (sharing
// the key's single flight) replaces it, so hot keys never stall on an expiry. The L1 only holds what
// Redis holds: during a Redis outage its copies live out their last second, then reads go to the loader.
import type { Breaker, RedisClient } from './redis';

/** A cache answer: the value (`null` = does not exist) and whether it came from the cache. */
export interface CacheRead<T> {
  value: T | null;
  hit: boolean;
}

export interface Cache {
  /**
   * The cached value for `key`, else the loader's (stored for up to `ttlSeconds`; `null`, meaning
   * "does not exist", is cached too). Values must survive JSON round trips. Answered at once (no
   * promise) when the in-process L1 holds the key, as the hot path of a sale does.
   */
  getOrLoad<T>(key: string, ttlSeconds: number, load: () => Promise<T | null>): CacheRead<T> | Promise<CacheRead<T>>;
  delete(key: string): Promise<void>;
}

/** Receives cache hits and misses (metrics); `namespace` is the key's part before the first ':'. */
export type CacheObserver = (namespace: string, hit: boolean) => void;

const JITTER_FRACTION = 0.2;

/** TTL in milliseconds with jitter that only ever shortens it. */
export function jitteredTtlMs(ttlSeconds: number, random: () => number = Math.random): number {
  return Math.max(1, Math.floor(ttlSeconds * 1000 * (1 - JITTER_FRACTION * random())));
}

function namespaceOf(key: string): string {
  const i = key.indexOf(':');
  return i === -1 ? key : key.slice(0, i);
}

/** Wraps a cache lookup so concurrent misses on one key share one load. */
function singleFlight() {
  const flights = new Map<string, Promise<unknown>>();
  const run = <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const existing = flights.get(key) as Promise<T> | undefined;
    if (existing) return existing;
    const flight = work().finally(() => flights.delete(key));
    flights.set(key, flight);
    return flight;
  };
  return Object.assign(run, { has: (key: string) => flights.has(key) });
}

export interface RedisCacheOptions {
  redis: RedisClient;
  breaker: Breaker;
  observe?: CacheObserver;
  /** Logs failed writes and failed background reloads; reads fall back silently (the breaker reports its state). */
  onError?: (err: unknown, operation: string) => void;
  /** Entries kept in process memory in front of Redis (oldest write evicted first). @default 0 - no L1 */
  localEntries?: number;
  /** Longest an L1 copy is served after it entered the L1 (the TTL still applies). @default 1000 */
  localMaxAgeMs?: number;
  /** Clock in ms, for tests. @default Date.now */
  now?: () => number;
}

/** What Redis and the L1 hold: the value and when it was read from the database (ms since the epoch). */
interface Stored<T> {
  v: T | null;
  at?: number;
}

/** An L1 entry with less than this fraction of its life left is reloaded in the background. */
const REFRESH_AHEAD_FRACTION = 0.25;

/** Freezes a JSON value in place, so requests sharing one L1 copy cannot change it for each other. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

export function createRedisCache({
  redis,
  breaker,
  observe,
  onError,
  localEntries = 0,
  localMaxAgeMs = 1000,
  now = Date.now,
}: RedisCacheOptions): Cache {
  const flight = singleFlight();
  const MISSING = Symbol('missing');
  /** `until`: served up to then; `window`: the life it was given, for the refresh-ahead point. */
  const local = new Map<string, { v: unknown; until: number; window: number }>();

  const remember = (key: string, stored: { v: unknown; at: number }, ttlMs: number) => {
    if (localEntries <= 0) return;
    const t = now();
    const until = Math.min(stored.at + ttlMs, t + localMaxAgeMs);
    if (until <= t) return;
    local.delete(key);
    // Maps iterate in insertion order: dropping the first key evicts the oldest write.
    if (local.size >= localEntries) local.delete(local.keys().next().value as string);
    local.set(key, { v: deepFreeze(stored.v), until, window: until - t });
  };

  /** The Redis copy if it has at least `minLifeMs` of its TTL left (by its read time), else MISSING. */
  const readRedis = async <T>(key: string, ttlMs: number, minLifeMs = 0): Promise<Stored<T> | typeof MISSING> => {
    const cached = await breaker.run<string | null | typeof MISSING>(
      () => redis.get(key),
      () => MISSING,
    );
    if (cached === MISSING || cached === null) return MISSING;
    const stored = JSON.parse(cached as string) as Stored<T>;
    // Redis's TTL already bounds the age; `at` is checked as well because another instance wrote it.
    if (stored.at !== undefined && stored.at + ttlMs - now() < minLifeMs) return MISSING;
    if (stored.at !== undefined) remember(key, stored as { v: T | null; at: number }, ttlMs);
    return stored;
  };

  /** Loads from the database and stores the value in Redis and the L1 (run inside the key's flight). */
  const loadAndStore = async <T>(key: string, ttlSeconds: number, load: () => Promise<T | null>): Promise<T | null> => {
    const at = now();
    const loaded = await load();
    // The Redis TTL counts from the database read, so the Redis copy never outlives `ttlSeconds` either.
    const ttlLeftMs = jitteredTtlMs(ttlSeconds) - (now() - at);
    if (ttlLeftMs < 1) return loaded;
    const stored = await breaker.run(
      () => redis.set(key, JSON.stringify({ v: loaded, at } satisfies Stored<T>), 'PX', ttlLeftMs),
      (err) => {
        if (err) onError?.(err, 'set');
        return null;
      },
    );
    // The L1 is a near copy of Redis: while Redis is down, reads go to the database as documented.
    if (stored !== null) remember(key, { v: loaded, at }, ttlSeconds * 1000);
    return loaded;
  };

  /** Replaces an ageing L1 entry: a copy from Redis with at least half a window left, else the database. */
  const refreshInBackground = <T>(key: string, ttlSeconds: number, window: number, load: () => Promise<T | null>) => {
    flight(key, async () => {
      const shared = await readRedis<T>(key, ttlSeconds * 1000, window / 2);
      return shared !== MISSING ? shared.v : loadAndStore(key, ttlSeconds, load);
    }).catch((err: unknown) => onError?.(err, 'reload'));
  };

  /** Not in the L1: Redis, else the loader (one load per key at a time). */
  const readThrough = async <T>(key: string, ttlSeconds: number, load: () => Promise<T | null>): Promise<CacheRead<T>> => {
    const shared = await readRedis<T>(key, ttlSeconds * 1000);
    if (shared !== MISSING) {
      observe?.(namespaceOf(key), true);
      return { value: shared.v, hit: true };
    }
    observe?.(namespaceOf(key), false);
    return { value: await flight(key, () => loadAndStore(key, ttlSeconds, load)), hit: false };
  };

  return {
    getOrLoad<T>(key: string, ttlSeconds: number, load: () => Promise<T | null>): CacheRead<T> | Promise<CacheRead<T>> {
      const entry = local.get(key);
      if (entry) {
        const left = entry.until - now();
        if (left >= 0) {
          if (left < entry.window * REFRESH_AHEAD_FRACTION && !flight.has(key)) refreshInBackground(key, ttlSeconds, entry.window, load);
          observe?.(namespaceOf(key), true);
          return { value: entry.v as T | null, hit: true };
        }
      }
      return readThrough(key, ttlSeconds, load);
    },
    async delete(key) {
      local.delete(key);
      await breaker.run(
        () => redis.del(key),
        (err) => {
          onError?.(err, 'delete');
          return 0;
        },
      );
    },
  };
}

/** The in-process cache used when no Redis is configured (local runs); bounded to `maxEntries`. */
export function createMemoryCache(options: { maxEntries?: number; observe?: CacheObserver; now?: () => number } = {}): Cache {
  const maxEntries = options.maxEntries ?? 10000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { json: string; expiresAt: number }>();
  const flight = singleFlight();
  return {
    async getOrLoad<T>(key: string, ttlSeconds: number, load: () => Promise<T | null>) {
      const entry = entries.get(key);
      if (entry && entry.expiresAt > now()) {
        options.observe?.(namespaceOf(key), true);
        return { value: (JSON.parse(entry.json) as { v: T | null }).v, hit: true };
      }
      options.observe?.(namespaceOf(key), false);
      const value = await flight(key, async () => {
        const loaded = await load();
        entries.delete(key);
        // Maps iterate in insertion order: dropping the first key evicts the oldest write.
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
        // Stored as JSON so callers cannot mutate the cached copy and both caches behave the same.
        entries.set(key, { json: JSON.stringify({ v: loaded }), expiresAt: now() + jitteredTtlMs(ttlSeconds) });
        return loaded;
      });
      return { value, hit: false };
    },
    async delete(key) {
      entries.delete(key);
    },
  };
}
