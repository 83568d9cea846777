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
//
// A caller may pass `encode` (a route: its response serializer) to get the value's encoding with each
// read. The L1 encodes once per fill and hands the same frozen answer to every hit, so on a hot read
// the cache neither serializes nor allocates.
import type { Breaker, RedisClient } from './redis';

/** A cache answer: the value (`null` = does not exist) and whether it came from the cache. */
export interface CacheRead<T> {
  readonly value: T | null;
  readonly hit: boolean;
  /** `encode(value)` when the caller passed `encode` and the value exists (L1 hits share one). */
  readonly encoded?: string;
}

/** Renders a value for the caller (e.g. a route's response serializer); the same function per key. */
export type CacheEncoder<T> = (value: T) => string;

export interface Cache {
  /**
   * The cached value for `key`, else the loader's (stored for up to `ttlSeconds`; `null`, meaning
   * "does not exist", is cached too). Values must survive JSON round trips. Answered at once (no
   * promise) when the in-process L1 holds the key, as the hot path of a sale does. With `encode`, each
   * answer carries the existing value's encoding too.
   */
  getOrLoad<T>(
    key: string,
    ttlSeconds: number,
    load: () => Promise<T | null>,
    encode?: CacheEncoder<T>,
  ): CacheRead<T> | Promise<CacheRead<T>>;
  /**
   * Offers the in-process copy of `key` to `serve` without any I/O (as `getOrLoad` would answer it,
   * ageing copies reloaded in the background alike). A hit is counted only if `serve` returns true.
   * False when there is no usable copy or `serve` declined: the caller goes on to `getOrLoad`.
   */
  serveLocal<T>(key: string, ttlSeconds: number, load: () => Promise<T | null>, serve: (read: CacheRead<T>) => boolean): boolean;
  delete(key: string): Promise<void>;
}

/** Receives cache hits and misses (metrics); `namespace` is the key's part before the first ':'. */
export type CacheObserver = (namespace: string, hit: boolean) => void;

const JITTER_FRACTION = 0.2;

/** TTL in milliseconds with jitter that only ever shortens it. */
export function jitteredTtlMs(ttlSeconds: number, random: () => number = Math.random): number {
  return Math.max(1, Math.floor(ttlSeconds * 1000 * (1 - JITTER_FRACTION * random())));
}

/** The answer for `value`, with its encoding when the caller asked for one. */
function answer<T>(value: T | null, hit: boolean, encode: CacheEncoder<T> | undefined): CacheRead<T> {
  return encode && value !== null ? { value, hit, encoded: encode(value) } : { value, hit };
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
  /**
   * `until`: served up to then; `window`: the life it was given, for the refresh-ahead point; `hit`:
   * the answer every hit returns, encoded by `encode`, the encoder of the read that filled it (kept for
   * the background reload); `namespace`: the key's, for `observe`, cut once per fill rather than per hit.
   */
  const local = new Map<
    string,
    { until: number; window: number; hit: CacheRead<unknown>; namespace: string; encode: CacheEncoder<never> | undefined }
  >();

  const remember = <T>(key: string, stored: { v: T | null; at: number }, ttlMs: number, encode: CacheEncoder<T> | undefined) => {
    if (localEntries <= 0) return;
    const t = now();
    const until = Math.min(stored.at + ttlMs, t + localMaxAgeMs);
    if (until <= t) return;
    local.delete(key);
    // Maps iterate in insertion order: dropping the first key evicts the oldest write.
    if (local.size >= localEntries) local.delete(local.keys().next().value as string);
    const hit = Object.freeze(answer(deepFreeze(stored.v), true, encode));
    local.set(key, { until, window: until - t, hit, namespace: namespaceOf(key), encode });
  };

  /** The Redis copy if it has at least `minLifeMs` of its TTL left (by its read time), else MISSING. */
  const readRedis = async <T>(
    key: string,
    ttlMs: number,
    minLifeMs: number,
    encode: CacheEncoder<T> | undefined,
  ): Promise<Stored<T> | typeof MISSING> => {
    const cached = await breaker.run<string | null | typeof MISSING>(
      () => redis.get(key),
      () => MISSING,
    );
    if (cached === MISSING || cached === null) return MISSING;
    const stored = JSON.parse(cached as string) as Stored<T>;
    // Redis's TTL already bounds the age; `at` is checked as well because another instance wrote it.
    if (stored.at !== undefined && stored.at + ttlMs - now() < minLifeMs) return MISSING;
    if (stored.at !== undefined) remember(key, stored as { v: T | null; at: number }, ttlMs, encode);
    return stored;
  };

  /** Loads from the database and stores the value in Redis and the L1 (run inside the key's flight). */
  const loadAndStore = async <T>(
    key: string,
    ttlSeconds: number,
    load: () => Promise<T | null>,
    encode: CacheEncoder<T> | undefined,
  ): Promise<T | null> => {
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
    if (stored !== null) remember(key, { v: loaded, at }, ttlSeconds * 1000, encode);
    return loaded;
  };

  /** Replaces an ageing L1 entry: a copy from Redis with at least half a window left, else the database. */
  const refreshInBackground = <T>(
    key: string,
    ttlSeconds: number,
    window: number,
    load: () => Promise<T | null>,
    encode: CacheEncoder<T> | undefined,
  ) => {
    flight(key, async () => {
      const shared = await readRedis<T>(key, ttlSeconds * 1000, window / 2, encode);
      return shared !== MISSING ? shared.v : loadAndStore(key, ttlSeconds, load, encode);
    }).catch((err: unknown) => onError?.(err, 'reload'));
  };

  /** Not in the L1: Redis, else the loader (one load per key at a time). */
  const readThrough = async <T>(
    key: string,
    ttlSeconds: number,
    load: () => Promise<T | null>,
    encode: CacheEncoder<T> | undefined,
  ): Promise<CacheRead<T>> => {
    const shared = await readRedis<T>(key, ttlSeconds * 1000, 0, encode);
    if (shared !== MISSING) {
      observe?.(namespaceOf(key), true);
      return answer(shared.v, true, encode);
    }
    observe?.(namespaceOf(key), false);
    return answer(await flight(key, () => loadAndStore(key, ttlSeconds, load, encode)), false, encode);
  };

  /** The L1 entry of `key` while it may be served; an ageing one starts its background reload. */
  const localEntry = <T>(key: string, ttlSeconds: number, load: () => Promise<T | null>, encode: CacheEncoder<T> | undefined) => {
    const entry = local.get(key);
    if (!entry) return undefined;
    const left = entry.until - now();
    if (left < 0) return undefined;
    if (left < entry.window * REFRESH_AHEAD_FRACTION && !flight.has(key)) {
      refreshInBackground(key, ttlSeconds, entry.window, load, encode ?? (entry.encode as CacheEncoder<T> | undefined));
    }
    return entry;
  };

  return {
    getOrLoad<T>(
      key: string,
      ttlSeconds: number,
      load: () => Promise<T | null>,
      encode?: CacheEncoder<T>,
    ): CacheRead<T> | Promise<CacheRead<T>> {
      const entry = localEntry(key, ttlSeconds, load, encode);
      if (!entry) return readThrough(key, ttlSeconds, load, encode);
      observe?.(entry.namespace, true);
      const hit = entry.hit as CacheRead<T>;
      // Filled by a read without an encoder (not the case for one key's usual callers): encode now.
      return encode && hit.encoded === undefined && hit.value !== null ? answer(hit.value, true, encode) : hit;
    },
    serveLocal<T>(key: string, ttlSeconds: number, load: () => Promise<T | null>, serve: (read: CacheRead<T>) => boolean): boolean {
      // A background reload started here encodes with the encoder the copy was filled with.
      const entry = localEntry(key, ttlSeconds, load, undefined);
      if (!entry || !serve(entry.hit as CacheRead<T>)) return false;
      observe?.(entry.namespace, true);
      return true;
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
    async getOrLoad<T>(key: string, ttlSeconds: number, load: () => Promise<T | null>, encode?: CacheEncoder<T>) {
      const entry = entries.get(key);
      if (entry && entry.expiresAt > now()) {
        options.observe?.(namespaceOf(key), true);
        return answer((JSON.parse(entry.json) as { v: T | null }).v, true, encode);
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
      return answer(value, false, encode);
    },
    // No synchronous copy here (entries are parsed per read): callers always go on to getOrLoad.
    serveLocal: () => false,
    async delete(key) {
      entries.delete(key);
    },
  };
}
