// The stock gate: refuses an order for a product known to be short without asking PostgreSQL, so a
// sale's stampede of "sold out" attempts costs a map look-up instead of a database statement.
//
// The database stays the source of truth. The gate only repeats what it said: when PostgreSQL refuses
// an order for stock, the use case records a shortage marker for that product - the stock it saw, and
// the Idempotency-Keys of the orders that hold it - and the gate refuses an order only while it asks for
// more units of the product than that marker says are left. A marker therefore never sells a unit (orders that
// pass go to the database as before: exactly N sold, never more), and it can keep a unit unsold only
// while it is stale, which is bounded:
//   - Markers live in Redis (a hash, one field per product, shared by the fleet) with REDIS_MARKER_MS
//     to live, and every process keeps a copy it re-reads every LOCAL_REFRESH_MS (one small Redis call
//     per process, whatever the order rate; the hash is fetched only when its version changed). A copy
//     lasts until the marker's expiry in Redis; a process's own marker REDIS_MARKER_MS.
//   - Stock put back (payment failure, cancel) replaces the product's marker with a tombstone right after
//     the commit (`stockReleased`) and bumps the product's release count. A marker is written only if the count
//     did not move since before the database read it comes from (one Lua script), so a refusal that
//     read the stock before a release cannot bring back a marker the release cleared.
//   - So a returned unit is sellable again within RELEASE_SEEN_MS (200 ms) of the release's clear reaching
//     Redis (right after its commit) in every process that Redis answers, and within LONGEST_STALE_MS
//     (5.1 s) in any case (Redis down or slow, or stock raised outside the order service, e.g. by an
//     operator or an import: nothing clears the marker then, it expires).
// Redis down: each process keeps only the markers it learnt from its own refusals (REDIS_MARKER_MS each);
// everything else goes to the database, which decides alone, as without the gate.
//
// While a product stays short and attempts keep coming, one attempt per process (another after
// RENEW_RETRY_MS if it did not renew) goes to the database in a marker's last RENEW_BEFORE_MS (the
// others are still refused): its refusal renews the marker, so it does not lapse under a stampede and
// let a burst through to the database every REDIS_MARKER_MS.
//
// Why the keys: a retry of an order that was accepted (same Idempotency-Key, response lost) must get its
// stored 202 back even when the product has sold out since. Only the database knows the keys, so the
// marker carries the keys of the orders holding the product (each with the first 32 bits of its buyer's
// id; a collision only sends an attempt to the database), and an attempt with one of them is never
// refused here. A product with more than MAX_ORDERS such orders gets no marker (the database answers).
// A key used after the marker was read from the database can only have placed an order if stock came
// back in between, which clears the marker (see above).
import type { RedisClient } from '../platform/redis';

/**
 * How long a shortage marker lives in Redis unless stock put back clears it first. It bounds only what
 * nothing clears: stock raised outside the order service, or a release while Redis was down.
 */
export const REDIS_MARKER_MS = 5000;
/** How often a process re-reads the fleet's markers. */
export const LOCAL_REFRESH_MS = 100;
/** Stock put back is sellable again in every process Redis answers within this long of the release. */
export const RELEASE_SEEN_MS = 2 * LOCAL_REFRESH_MS;
/** ...and in every process within this long, whatever Redis does. */
export const LONGEST_STALE_MS = REDIS_MARKER_MS + LOCAL_REFRESH_MS;
/** A product held by more orders than this gets no marker: their keys would be too many to share. */
export const MAX_ORDERS = 10_000;
/**
 * In a marker's last this many ms, one attempt per process goes to the database to renew it (long
 * enough for its few round trips on a database slowed by the sale itself).
 */
export const RENEW_BEFORE_MS = 3000;
/** A renewal that has not come back in this long (its attempt failed or was accepted) lets another go. */
export const RENEW_RETRY_MS = 500;

/** A marker's lifetime and renewal, as a gate uses them (the constants above unless a test shortens them). */
export interface StockGateTiming {
  markerMs: number;
  renewBeforeMs: number;
  renewRetryMs: number;
}
const DEFAULT_TIMING: StockGateTiming = { markerMs: REDIS_MARKER_MS, renewBeforeMs: RENEW_BEFORE_MS, renewRetryMs: RENEW_RETRY_MS };

// One hash tag, so the scripts' keys share a slot on a Redis Cluster.
const MARKERS_KEY = 'stock-gate:{sold-out}:markers';
const VERSION_KEY = 'stock-gate:{sold-out}:version';
const RELEASES_KEY = 'stock-gate:{sold-out}:releases';

// Marker value: "<expires at, Redis ms>|<JSON: units left, product name, order keys>". Expiry is kept in
// Redis's clock (TIME), so instances' clocks do not matter.
const WRITE_MARKER_LUA = `
if (redis.call('HGET', KEYS[3], ARGV[1]) or '0') ~= ARGV[2] then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if tonumber(string.match(all[i + 1], '^(%d+)|')) <= now then redis.call('HDEL', KEYS[1], all[i]) end
end
redis.call('HSET', KEYS[1], ARGV[1], (now + tonumber(ARGV[3])) .. '|' .. ARGV[4])
redis.call('INCR', KEYS[2])
return 1`;

// A released product's field becomes a tombstone ("<expires at>|released") for a marker's lifetime, so
// every process drops its copy - including one its own refusal recorded that never reached Redis.
const RELEASE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do
  redis.call('HINCRBY', KEYS[3], ARGV[i], 1)
  redis.call('HSET', KEYS[1], ARGV[i], (now + tonumber(ARGV[1])) .. '|released')
end
redis.call('INCR', KEYS[2])
return 1`;

// Returns Redis's time and the version; the markers too when the version is not the caller's.
const READ_MARKERS_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local version = redis.call('GET', KEYS[2]) or '0'
if version == ARGV[1] then return {now, version} end
return {now, version, redis.call('HGETALL', KEYS[1])}`;

interface GateCommands {
  surgeStockGateWrite(k1: string, k2: string, k3: string, id: string, releases: string, ttlMs: number, value: string): Promise<number>;
  surgeStockGateRelease(k1: string, k2: string, k3: string, ttlMs: number, ...ids: string[]): Promise<number>;
  surgeStockGateRead(k1: string, k2: string, k3: string, version: string): Promise<[number, string, string[]?]>;
}

/** What the gate knows of one product: units left when the database last refused it, and its orders' keys. */
interface Marker {
  available: number;
  name: string;
  /** `orderKey(userId, key)` of every order holding the product. */
  keys: Set<string>;
  /** When an attempt was last let through to the database to renew this marker. */
  renewingSince?: number;
  /** That attempt (`orderKey`): asked again (the hot path, then the route), it is let through again. */
  renewingBy?: string;
  /** Local clock time at which the marker expires (as in Redis, by Redis's clock). */
  expiresAt: number;
}

/** The stock the database reported when it refused an order, with what the marker needs. */
export interface Shortage {
  productId: string;
  name: string;
  available: number;
  /** The Idempotency-Keys (with their users) of the orders holding the product, when the database was asked. */
  orders: Array<{ userId: string; key: string }>;
  /** The product's release count read before the database was asked (`releaseCounts`). */
  releases: string;
}

/** Why the gate refuses an order: the 409 message (placeOrder throws it as outOfStock; the hot path sends it). */
export interface StockRefusal {
  message: string;
}

export interface StockGate {
  /**
   * The 409 for the first line (in id order) asking for more than a marker says is left, unless the
   * attempt's key placed an order of that product; undefined when the database must decide. No I/O.
   * The same attempt asked again gets the same answer, also when it holds a marker's renewal pass.
   */
  refusal(
    attempt: { userId: string; idempotencyKey: string; items: ReadonlyArray<{ productId: string; quantity: number }> },
    options?: {
      /**
       * false: hand out no renewal pass, and ignore a marker being renewed (so the attempt that holds
       * the pass is not refused when it is asked again). @default true
       */
      renew?: boolean;
    },
  ): StockRefusal | undefined;
  /** Whether this process holds any marker: false means `refusal` refuses nothing (no I/O). */
  knowsShortages(): boolean;
  /** The products' release counts, read before the database is asked why an order was refused. */
  releaseCounts(productIds: string[]): Promise<string[] | undefined>;
  /** Whether a shortage of this product is being recorded by this process (one at a time is enough). */
  isRecording(productId: string): boolean;
  /** Records a shortage the database reported (locally at once; in Redis unless a release came between). */
  recordShortage(shortage: Shortage): Promise<void>;
  /** Stock of these products was put back (committed): their markers go, here and in Redis. */
  stockReleased(productIds: string[]): Promise<void>;
  /** Stops re-reading Redis (started by the first `refusal` call). */
  stop(): void;
}

export interface StockGateOptions {
  /** Where markers are shared; undefined = this process's markers only (local runs without Redis). */
  redis?: RedisClient;
  /** Called when Redis could not be asked (the gate then knows less, never more). */
  onRedisError?: (err: unknown) => void;
  now?: () => number;
  /** @default REDIS_MARKER_MS, RENEW_BEFORE_MS and RENEW_RETRY_MS */
  timing?: StockGateTiming;
}

/** An order's key as a marker holds it: the first 32 bits of the buyer's id and the Idempotency-Key. */
const orderKey = (userId: string, key: string) => `${userId.slice(0, 8).toLowerCase()} ${key}`;

export function createStockGate({ redis, onRedisError = () => undefined, now = Date.now, timing = DEFAULT_TIMING }: StockGateOptions): StockGate {
  const { markerMs, renewBeforeMs, renewRetryMs } = timing;
  const markers = new Map<string, Marker>();
  const recording = new Set<string>();
  let version = '';
  let timer: NodeJS.Timeout | undefined;
  const commands = redis ? defineCommands(redis) : undefined;
  const redisKeys = [MARKERS_KEY, VERSION_KEY, RELEASES_KEY] as const;

  const refresh = async () => {
    if (!commands || redis!.status !== 'ready') return;
    try {
      const [redisNow, current, fields] = await commands.surgeStockGateRead(...redisKeys, version);
      const localNow = now();
      if (fields) {
        // The fleet's markers replace the copies held, and a release's tombstone drops one. A marker held
        // that Redis does not mention (recorded here while Redis did not answer) lives out its own expiry.
        for (let i = 0; i < fields.length; i += 2) {
          const marker = parseMarker(fields[i + 1], Number(redisNow), localNow);
          if (marker === 'released') markers.delete(fields[i]);
          else if (marker) markers.set(fields[i], marker);
        }
        version = current;
      }
      // Unchanged version: the copies held are still the fleet's.
    } catch (err) {
      onRedisError(err);
    }
  };

  return {
    refusal({ userId, idempotencyKey, items }, { renew = true } = {}) {
      // Markers are read only where orders are placed (the worker fleet only clears them).
      if (commands && !timer) {
        timer = setInterval(() => void refresh(), LOCAL_REFRESH_MS);
        timer.unref();
        void refresh();
      }
      if (markers.size === 0) return undefined;
      const at = now();
      const attempt = orderKey(userId, idempotencyKey);
      let found: StockRefusal | undefined;
      let foundId = '';
      for (const item of items) {
        const marker = markers.get(item.productId);
        if (!marker) continue;
        if (marker.expiresAt <= at) {
          markers.delete(item.productId);
          continue;
        }
        if (item.quantity <= marker.available || marker.keys.has(attempt)) continue;
        if (!renew && marker.renewingSince !== undefined) continue;
        const renewing = at - (marker.renewingSince ?? -Infinity) < renewRetryMs;
        if (renew && renewing && marker.renewingBy === attempt) return undefined;
        if (renew && marker.expiresAt - at < renewBeforeMs && !renewing) {
          // This attempt asks the database; its refusal records a fresh marker (a new object).
          marker.renewingSince = at;
          marker.renewingBy = attempt;
          return undefined;
        }
        // The database names the first short line in id order; so does the gate.
        if (found && foundId < item.productId) continue;
        foundId = item.productId;
        // Not an Error: building one (its stack) cost more than the rest of a hot-path refusal.
        found = { message: `product ${item.productId} (${marker.name}) is out of stock: requested ${item.quantity}, available ${marker.available}` };
      }
      return found;
    },

    knowsShortages: () => markers.size > 0,

    async releaseCounts(productIds) {
      if (!redis || redis.status !== 'ready') return undefined;
      try {
        return (await redis.hmget(RELEASES_KEY, ...productIds)).map((count) => count ?? '0');
      } catch (err) {
        onRedisError(err);
        return undefined;
      }
    },

    isRecording: (productId) => recording.has(productId),

    async recordShortage(shortage) {
      if (shortage.orders.length > MAX_ORDERS) return;
      const keys = shortage.orders.map((o) => orderKey(o.userId, o.key));
      const at = now();
      markers.set(shortage.productId, {
        available: shortage.available,
        name: shortage.name,
        keys: new Set(keys),
        expiresAt: at + markerMs,
      });
      if (!commands || redis!.status !== 'ready') return;
      recording.add(shortage.productId);
      try {
        const value = JSON.stringify({ available: shortage.available, name: shortage.name, keys });
        const written = await commands.surgeStockGateWrite(...redisKeys, shortage.productId, shortage.releases, markerMs, value);
        // A release came between the database's answer and now: what it said is stale.
        if (!written) markers.delete(shortage.productId);
      } catch (err) {
        onRedisError(err);
      } finally {
        recording.delete(shortage.productId);
      }
    },

    async stockReleased(productIds) {
      for (const id of productIds) markers.delete(id);
      if (!commands || productIds.length === 0 || redis!.status !== 'ready') return;
      try {
        await commands.surgeStockGateRelease(...redisKeys, markerMs, ...productIds);
      } catch (err) {
        // The marker lives out its REDIS_MARKER_MS: the bound the header states for this case.
        onRedisError(err);
      }
    },

    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

function defineCommands(redis: RedisClient): GateCommands {
  const scripts = redis as unknown as Partial<GateCommands>;
  if (!scripts.surgeStockGateWrite) {
    // defineCommand uses EVALSHA (EVAL once per script cache miss) and applies the client's key prefix.
    redis.defineCommand('surgeStockGateWrite', { numberOfKeys: 3, lua: WRITE_MARKER_LUA });
    redis.defineCommand('surgeStockGateRelease', { numberOfKeys: 3, lua: RELEASE_LUA });
    redis.defineCommand('surgeStockGateRead', { numberOfKeys: 3, lua: READ_MARKERS_LUA });
  }
  const bound = redis as unknown as GateCommands;
  return {
    surgeStockGateWrite: bound.surgeStockGateWrite.bind(redis),
    surgeStockGateRelease: bound.surgeStockGateRelease.bind(redis),
    surgeStockGateRead: bound.surgeStockGateRead.bind(redis),
  };
}

/** A marker from its Redis value, or a release's tombstone; undefined once expired (by Redis's clock). */
function parseMarker(value: string, redisNow: number, localNow: number): Marker | 'released' | undefined {
  const bar = value.indexOf('|');
  const left = Number(value.slice(0, bar)) - redisNow;
  if (value.endsWith('|released')) return 'released';
  if (!(left > 0)) return undefined;
  const { available, name, keys } = JSON.parse(value.slice(bar + 1)) as { available: number; name: string; keys: string[] };
  return {
    available,
    name,
    keys: new Set(keys),
    expiresAt: localNow + left,
  };
}
