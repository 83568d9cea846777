// Cache-aside for hot reads (product pages). A miss runs the loader once per key per process even
// under a stampede (in-process single-flight; with N instances at most N loads per key per expiry,
// which the database absorbs easily). Entries live `ttlSeconds` minus up to 20% random jitter, so
// keys written together do not expire together and an entry is never older than `ttlSeconds`.
// If Redis fails, the breaker sends reads straight to the loader: slower, but the service stays up.
import type Redis from 'ioredis';
import type { Breaker } from './redis';

export interface Cache {
  /**
   * The cached value for `key`, else the loader's (stored for up to `ttlSeconds`; `null`, meaning
   * "does not exist", is cached too). Values must survive JSON round trips.
   */
  getOrLoad<T>(key: string, ttlSeconds: number, load: () => Promise<T | null>): Promise<{ value: T | null; hit: boolean }>;
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
  return <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const existing = flights.get(key) as Promise<T> | undefined;
    if (existing) return existing;
    const flight = work().finally(() => flights.delete(key));
    flights.set(key, flight);
    return flight;
  };
}

export interface RedisCacheOptions {
  redis: Redis;
  breaker: Breaker;
  observe?: CacheObserver;
  /** Logs failed writes; reads fall back silently (the breaker reports its state). */
  onError?: (err: unknown, operation: string) => void;
}

export function createRedisCache({ redis, breaker, observe, onError }: RedisCacheOptions): Cache {
  const flight = singleFlight();
  const MISSING = Symbol('missing');
  return {
    async getOrLoad<T>(key: string, ttlSeconds: number, load: () => Promise<T | null>) {
      const cached = await breaker.run<string | null | typeof MISSING>(
        () => redis.get(key),
        () => MISSING,
      );
      if (cached !== MISSING && cached !== null) {
        observe?.(namespaceOf(key), true);
        return { value: (JSON.parse(cached as string) as { v: T | null }).v, hit: true };
      }
      observe?.(namespaceOf(key), false);
      const value = await flight(key, async () => {
        const loaded = await load();
        // Write in the background of the response path but inside the flight, so joiners wait once.
        await breaker.run(
          () => redis.set(key, JSON.stringify({ v: loaded }), 'PX', jitteredTtlMs(ttlSeconds)),
          (err) => {
            if (err) onError?.(err, 'set');
            return null;
          },
        );
        return loaded;
      });
      return { value, hit: false };
    },
    async delete(key) {
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
