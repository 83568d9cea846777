// Rate limiting: a token bucket per (policy, client), kept in Redis and updated by one Lua script so
// that concurrent requests on many instances cannot overspend it; an in-memory twin for local runs.
// The client is the token's user when a valid Bearer token is present, else the IP; routes may name
// their own key and stack several limits (login: per address and per account). Over the limit: 429
// with Retry-After, RateLimit and RateLimit-Policy (IETF draft structured-field syntax). If Redis is
// down the `default` policy FAILS OPEN: requests pass and a warning is logged (at most every 10 s),
// because refusing all traffic during a cache outage hurts more than letting a burst through to a
// database that has its own pool limits. The other policies (login, loginAccount, register, orders)
// guard against password guessing, hash floods and order floods, so they fall back to the same
// bucket in process memory instead: per instance rather than shared, but never unlimited.
//
// Token leases: for a policy with a largest lease above 1 (the context leases only the high-rate
// `default` policy, never `orders` or `login`), a process takes several tokens from the Redis bucket
// in one script call and spends them locally, topping up in the background when half are gone, so a
// busy client costs one Redis call per lease rather than per request. A lease asks for what the key
// spent in the last LEASE_RATE_WINDOW_MS (at least FIRST_LEASE_TOKENS, at most the largest lease), so
// a hot key costs a few dozen Redis calls per second at any request rate and its top-up arrives long
// before the lease runs out. Every request is still checked against tokens taken from the shared
// bucket, so one process admits exactly what the bucket allows. A lease lives LEASE_MS; tokens unspent
// by then are dropped (the client loses them, never gains). Across N processes the only extra is
// timing: tokens leased up to LEASE_MS before a window may be spent inside it, so any window admits at
// most the bucket's own bound plus min(N x largest lease, refillPerSecond x LEASE_MS / 1000).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SurgeApp } from './app';
import { bearerToken, verifyBearer } from './auth';
import type { RateLimitPolicy, RateLimitPolicyName } from './config';
import { tooManyRequests } from './errors';
import type { Breaker, RedisClient } from './redis';

export interface RateLimitDecision {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** When refused: seconds until one token is available. */
  retryAfterSeconds: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
}

export interface RateLimiter {
  /** Spends one token of `key`'s bucket; decided at once (no promise) when a local lease covers it. */
  take(key: string, policy: RateLimitPolicy): RateLimitDecision | Promise<RateLimitDecision>;
  /**
   * Spends one token only if this process holds a leased one for `key` (no Redis call, no wait), as
   * `take` would; undefined otherwise, and nothing is spent. For hot paths that answer without Fastify.
   */
  takeLeased(key: string, policy: RateLimitPolicy): RateLimitDecision | undefined;
}

export interface RouteRateLimit {
  policy: RateLimitPolicyName;
  /** Who is limited; default: `user:<id>` for a valid Bearer token, else `ip:<address>`. */
  key?: (request: FastifyRequest) => string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route's rate limit (default: the 'default' policy); several are checked in order and the
     * first refusal answers 429; false exempts the route (health checks).
     */
    rateLimit?: RouteRateLimit | RouteRateLimit[] | false;
  }
}

// KEYS[1] bucket; ARGV[1] capacity; ARGV[2] refill per second; ARGV[3] tokens wanted (a lease; 1 for
// one request). Redis's own clock, so instance clock skew cannot mint tokens. Takes as many whole
// tokens as it can, up to the number wanted. Returns {tokens taken, whole tokens left, ms until a
// token (when none was taken), ms until full}.
const TOKEN_BUCKET_LUA = `
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2]) / 1000
local wanted = tonumber(ARGV[3] or '1')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * perMs)
local allowed = math.min(wanted, math.floor(tokens))
local waitMs = 0
if allowed >= 1 then
  tokens = tokens - allowed
else
  allowed = 0
  waitMs = math.ceil((1 - tokens) / perMs)
end
local fullMs = math.ceil((capacity - tokens) / perMs)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], fullMs + 1000)
return { allowed, math.floor(tokens), waitMs, fullMs }
`;

type TokenBucketCommand = (
  key: string,
  capacity: number,
  refillPerSecond: number,
  wanted: number,
) => Promise<[number, number, number, number]>;

/** How long a lease's tokens may be spent; bounds both staleness and cross-process over-admission. */
export const LEASE_MS = 1000;

/** Hard cap on a lease, whatever the policy's refill: what one process may hold beyond the bucket. */
export const MAX_LEASE_TOKENS = 1000;
/** A key's first lease (and the smallest), unless the largest lease is smaller. */
export const FIRST_LEASE_TOKENS = 100;
/** A lease asks for the tokens the key spent in this long (at its rate since the last lease). */
export const LEASE_RATE_WINDOW_MS = 100;

/**
 * The largest lease for a policy: a tenth of a second of refill, at most MAX_LEASE_TOKENS, for the
 * `default` policy; 1 (no lease, one script call per request) for `orders` and `login`, whose small
 * per-user quotas must stay exact across instances.
 */
export function leaseSizeFor(policy: RateLimitPolicy): number {
  if (policy.name !== 'default') return 1;
  return Math.max(1, Math.min(MAX_LEASE_TOKENS, Math.floor(policy.refillPerSecond / 10)));
}

export interface RedisRateLimiterOptions {
  redis: RedisClient;
  breaker: Breaker;
  /** Called when a request is let through because Redis could not be asked. */
  onFailOpen?: (err: unknown) => void;
  /**
   * Decides for every policy but `default` when Redis cannot be asked (the in-process limiter), so
   * login, registration and order limits hold through a Redis outage. @default every policy fails open
   */
  fallback?: RateLimiter;
  /** Called when a request is decided by `fallback` because Redis could not be asked. */
  onFallback?: (policy: RateLimitPolicyName, err: unknown) => void;
  /** The largest lease (tokens per Redis call) for a policy; 1 = no lease. @default 1 for every policy */
  leaseSize?: (policy: RateLimitPolicy) => number;
  /** Clock in ms, for tests. @default Date.now */
  now?: () => number;
}

interface Lease {
  /** Tokens this process may still spend. */
  tokens: number;
  expiresAt: number;
  /** Whole tokens the Redis bucket had left at the last lease (for the RateLimit header). */
  bucketRemaining: number;
  fullMs: number;
  /** What the last top-up asked for: the next one starts when half of it is left. */
  size: number;
  /** Since when `spent` counts, for the key's spend rate. */
  countedSince: number;
  spent: number;
  /** A top-up or renewal under way, shared by the requests that wait for it. */
  pending?: Promise<boolean>;
}

/** Only the high-rate `default` policy may let requests through unchecked while Redis is away. */
export const failsOpen = (policy: RateLimitPolicy) => policy.name === 'default';

export function createRedisRateLimiter({ redis, breaker, onFailOpen, fallback, onFallback, leaseSize = () => 1, now = Date.now }: RedisRateLimiterOptions): RateLimiter {
  // defineCommand uses EVALSHA and falls back to EVAL once per script cache miss.
  if (!(redis as unknown as { surgeTokenBucket?: unknown }).surgeTokenBucket) {
    redis.defineCommand('surgeTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
  }
  const bucket = (redis as unknown as { surgeTokenBucket: TokenBucketCommand }).surgeTokenBucket.bind(redis);
  const failOpen = (policy: RateLimitPolicy, err?: unknown) => {
    onFailOpen?.(err);
    return decision(true, policy.capacity, 0, 0);
  };

  /** Redis could not be asked: the in-process bucket decides, or the request passes (`default`). */
  const unasked = (key: string, policy: RateLimitPolicy, err?: unknown) => {
    if (!fallback || failsOpen(policy)) return failOpen(policy, err);
    onFallback?.(policy.name, err);
    return fallback.take(key, policy);
  };

  const takeOne = (key: string, policy: RateLimitPolicy) =>
    breaker.run(
      async () => {
        const [taken, remaining, waitMs, fullMs] = await bucket(key, policy.capacity, policy.refillPerSecond, 1);
        return decision(taken === 1, remaining, waitMs, fullMs);
      },
      (err) => unasked(key, policy, err),
    );

  const leases = new Map<string, Lease>();
  let nextSweep = now() + LEASE_MS;

  /** The tokens the key spent in the last LEASE_RATE_WINDOW_MS, within [FIRST_LEASE_TOKENS, largest]. */
  const nextLeaseSize = (held: Lease, largest: number, at: number) => {
    const recent = Math.ceil((held.spent * LEASE_RATE_WINDOW_MS) / Math.max(1, at - held.countedSince));
    return Math.min(largest, Math.max(FIRST_LEASE_TOKENS, recent));
  };

  /** Adds tokens from Redis to the lease (one call per key at a time); false if Redis could not be asked. */
  const refill = (key: string, policy: RateLimitPolicy, largest: number, held: Lease): Promise<boolean> => {
    if (held.pending) return held.pending;
    const asked = now();
    const size = nextLeaseSize(held, largest, asked);
    held.size = size;
    held.countedSince = asked;
    held.spent = 0;
    held.pending = breaker
      .run(
        () => bucket(key, policy.capacity, policy.refillPerSecond, size),
        () => undefined,
      )
      .then((answer) => {
        if (!answer) return false;
        const [taken, remaining, , fullMs] = answer;
        const at = now();
        // Unspent tokens of an expired lease are dropped, never carried over.
        held.tokens = (held.expiresAt > at ? held.tokens : 0) + taken;
        held.expiresAt = at + LEASE_MS;
        held.bucketRemaining = remaining;
        held.fullMs = fullMs;
        return true;
      })
      .finally(() => {
        held.pending = undefined;
      });
    return held.pending;
  };

  const usable = (held: Lease) => held.tokens >= 1 && held.expiresAt > now();
  const spend = (held: Lease) => {
    held.tokens -= 1;
    held.spent += 1;
    return decision(true, held.bucketRemaining + held.tokens, 0, held.fullMs);
  };

  /** No local token: wait for a new lease, shared by every request of this key that is waiting. */
  const renewAndSpend = async (key: string, policy: RateLimitPolicy, largest: number, held: Lease) => {
    if (!(await refill(key, policy, largest, held))) return unasked(key, policy);
    if (usable(held)) return spend(held);
    // The lease came back short (the bucket is nearly empty) or other waiters took it: ask for this
    // request alone, so a refusal carries Redis's own wait and remaining figures.
    return takeOne(key, policy);
  };

  /** Spends a token of a usable lease, topping it up in the background once half of it is spent. */
  const spendLeased = (key: string, policy: RateLimitPolicy, largest: number, held: Lease) => {
    // So a busy client never waits on Redis.
    if (held.tokens <= held.size / 2 && !held.pending) void refill(key, policy, largest, held);
    return spend(held);
  };

  return {
    take(key, policy) {
      const largest = leaseSize(policy);
      if (largest <= 1) return takeOne(key, policy);
      const t = now();
      if (t >= nextSweep) {
        for (const [k, held] of leases) if (held.expiresAt <= t && !held.pending) leases.delete(k);
        nextSweep = t + LEASE_MS;
      }
      let held = leases.get(key);
      if (!held) {
        held = { tokens: 0, expiresAt: 0, bucketRemaining: 0, fullMs: 0, size: 0, countedSince: t, spent: 0 };
        leases.set(key, held);
      }
      if (!usable(held)) return renewAndSpend(key, policy, largest, held);
      return spendLeased(key, policy, largest, held);
    },
    takeLeased(key, policy) {
      const largest = leaseSize(policy);
      const held = largest > 1 ? leases.get(key) : undefined;
      return held && usable(held) ? spendLeased(key, policy, largest, held) : undefined;
    },
  };
}

/** The same bucket in process memory (used when REDIS_URL is unset: one local process). */
export function createMemoryRateLimiter(now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number; fullAt: number }>();
  let nextSweep = now() + 60000;
  return {
    async take(key, policy) {
      const t = now();
      if (t >= nextSweep) {
        // Full buckets carry no information; dropping them bounds memory.
        for (const [k, b] of buckets) if (b.fullAt <= t) buckets.delete(k);
        nextSweep = t + 60000;
      }
      const perMs = policy.refillPerSecond / 1000;
      const state = buckets.get(key) ?? { tokens: policy.capacity, at: t, fullAt: t };
      let tokens = Math.min(policy.capacity, state.tokens + Math.max(0, t - state.at) * perMs);
      let allowed = false;
      let waitMs = 0;
      if (tokens >= 1) {
        tokens -= 1;
        allowed = true;
      } else {
        waitMs = Math.ceil((1 - tokens) / perMs);
      }
      const fullMs = Math.ceil((policy.capacity - tokens) / perMs);
      buckets.set(key, { tokens, at: t, fullAt: t + fullMs });
      return decision(allowed, Math.floor(tokens), waitMs, fullMs);
    },
    // No leases here: every token is decided by `take`.
    takeLeased: () => undefined,
  };
}

function decision(allowed: boolean, remaining: number, waitMs: number, fullMs: number): RateLimitDecision {
  return {
    allowed,
    remaining,
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(waitMs / 1000)),
    resetSeconds: Math.ceil(fullMs / 1000),
  };
}

/** Each policy's RateLimit-Policy value, built once: policies are fixed at start. */
const policyValues = new WeakMap<RateLimitPolicy, string>();

/**
 * The fields a decision is answered with, by the route hook and hot paths alike: `RateLimit-Policy`
 * and `RateLimit` (the policy, `r` tokens remaining, `t` seconds until full when allowed or until a
 * token when refused).
 */
export function rateLimitHeaders(policy: RateLimitPolicy, result: RateLimitDecision): { 'ratelimit-policy': string; ratelimit: string } {
  let policyValue = policyValues.get(policy);
  if (policyValue === undefined) policyValues.set(policy, (policyValue = policyHeader(policy)));
  return {
    'ratelimit-policy': policyValue,
    ratelimit: `"${policy.name}";r=${result.remaining};t=${result.allowed ? result.resetSeconds : result.retryAfterSeconds}`,
  };
}

/** `RateLimit-Policy` value: quota `q` per window `w` seconds (the time an empty bucket takes to fill). */
export function policyHeader(policy: RateLimitPolicy): string {
  return `"${policy.name}";q=${policy.capacity};w=${Math.ceil(policy.capacity / policy.refillPerSecond)}`;
}

export interface RateLimitPluginOptions {
  limiter: RateLimiter;
  policies: Readonly<Record<RateLimitPolicyName, RateLimitPolicy>>;
  onLimited?: (policy: RateLimitPolicyName) => void;
}

type PreHandler = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;

/**
 * Installs the limiter as a preHandler of every route (after body validation, so a route key may use
 * the body), placed before the route's own preHandlers. Each route's policy is resolved once, when the
 * route is added, not per request. Returns the hook for the not-found handler, which has no route.
 * The limiter reads the Bearer token itself (requireUser may not have run yet).
 */
export function installRateLimit(app: SurgeApp, { limiter, policies, onLimited }: RateLimitPluginOptions): PreHandler {
  const apply = (reply: FastifyReply, policy: RateLimitPolicy, result: RateLimitDecision) => {
    reply.headers(rateLimitHeaders(policy, result));
    if (!result.allowed) {
      onLimited?.(policy.name);
      throw tooManyRequests(`Rate limit "${policy.name}" exceeded; retry in ${result.retryAfterSeconds} s`, result.retryAfterSeconds);
    }
  };
  // A callback-style hook, so that the common case - no Bearer token to verify, tokens leased
  // locally - finishes without allocating a promise.
  const hookFor = (setting: RouteRateLimit | RouteRateLimit[] | undefined): PreHandler => {
    if (!Array.isArray(setting)) return oneLimit(setting);
    // Several limits: each in turn; one that refuses (throws 429) stops the chain, so later buckets
    // are not spent by a request that an earlier one refused.
    const limits = setting.map(oneLimit);
    return (request, reply, done) => {
      let next = 0;
      const step = (err?: Error) => (err || next === limits.length ? done(err) : limits[next++](request, reply, step));
      step();
    };
  };
  const oneLimit = (setting: RouteRateLimit | undefined): PreHandler => {
    const policy = policies[setting?.policy ?? 'default'];
    const keyOf = setting?.key;
    return (request, reply, done) => {
      try {
        const who = keyOf ? keyOf(request) : clientIdentity(request);
        const result =
          typeof who === 'string'
            ? limiter.take(rateLimitKey(policy, who), policy)
            : who.then((id) => limiter.take(rateLimitKey(policy, id), policy));
        if (!(result instanceof Promise)) {
          apply(reply, policy, result);
          return done();
        }
        result.then((decided) => apply(reply, policy, decided)).then(() => done(), done);
      } catch (err) {
        done(err as Error);
      }
    };
  };
  app.addHook('onRoute', (route) => {
    const setting = route.config?.rateLimit;
    if (setting === false) return;
    const own = route.preHandler === undefined ? [] : [route.preHandler].flat();
    route.preHandler = [hookFor(setting) as (typeof own)[number], ...own];
  });
  return hookFor(undefined);
}

/** The bucket of `who` (`ip:<address>`, `user:<id>` or a route's own key) under `policy`. */
export function rateLimitKey(policy: RateLimitPolicy, who: string): string {
  return `rl:${policy.name}:${who}`;
}

/** Who a request without a Bearer token is: its client address (after the trusted proxies). */
export function addressIdentity(ip: string): string {
  return `ip:${ip}`;
}

/** `user:<id>` for a valid Bearer token (verified, hence a promise), else `ip:<address>` at once. */
function clientIdentity(request: FastifyRequest): string | Promise<string> {
  const token = bearerToken(request);
  if (!token) return addressIdentity(request.ip);
  return verifyBearer(request, token).then(
    ({ userId }) => `user:${userId}`,
    // An invalid token is limited by IP; the route's own auth answers 401.
    () => addressIdentity(request.ip),
  );
}
