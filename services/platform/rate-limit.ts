// Rate limiting: a token bucket per (policy, client), kept in Redis and updated by one Lua script so
// that concurrent requests on many instances cannot overspend it; an in-memory twin for local runs.
// The client is the token's user when a valid Bearer token is present, else the IP; routes may name
// their own key (login: IP + email). Over the limit: 429 with Retry-After, RateLimit and
// RateLimit-Policy (IETF draft structured-field syntax). If Redis is down the limiter FAILS OPEN:
// requests pass and a warning is logged (at most every 10 s), because refusing all traffic during a
// cache outage hurts more than letting a burst through to a database that has its own pool limits.
import type { FastifyRequest } from 'fastify';
import type Redis from 'ioredis';
import type { SurgeApp } from './app';
import { bearerToken, verifyBearer } from './auth';
import type { RateLimitPolicy, RateLimitPolicyName } from './config';
import { tooManyRequests } from './errors';
import type { Breaker } from './redis';

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
  take(key: string, policy: RateLimitPolicy): Promise<RateLimitDecision>;
}

export interface RouteRateLimit {
  policy: RateLimitPolicyName;
  /** Who is limited; default: `user:<id>` for a valid Bearer token, else `ip:<address>`. */
  key?: (request: FastifyRequest) => string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's rate limit policy (default: 'default'); false exempts it (health checks). */
    rateLimit?: RouteRateLimit | false;
  }
}

// KEYS[1] bucket; ARGV[1] capacity; ARGV[2] refill per second. Redis's own clock, so instance clock
// skew cannot mint tokens. Returns {allowed, whole tokens left, ms until a token, ms until full}.
const TOKEN_BUCKET_LUA = `
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2]) / 1000
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
local allowed = 0
local waitMs = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  waitMs = math.ceil((1 - tokens) / perMs)
end
local fullMs = math.ceil((capacity - tokens) / perMs)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], fullMs + 1000)
return { allowed, math.floor(tokens), waitMs, fullMs }
`;

type TokenBucketCommand = (key: string, capacity: number, refillPerSecond: number) => Promise<[number, number, number, number]>;

export interface RedisRateLimiterOptions {
  redis: Redis;
  breaker: Breaker;
  /** Called when a request is let through because Redis could not be asked. */
  onFailOpen?: (err: unknown) => void;
}

export function createRedisRateLimiter({ redis, breaker, onFailOpen }: RedisRateLimiterOptions): RateLimiter {
  // defineCommand uses EVALSHA and falls back to EVAL once per script cache miss.
  if (!(redis as unknown as { surgeTokenBucket?: unknown }).surgeTokenBucket) {
    redis.defineCommand('surgeTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
  }
  const bucket = (redis as unknown as { surgeTokenBucket: TokenBucketCommand }).surgeTokenBucket.bind(redis);
  return {
    take(key, policy) {
      return breaker.run(
        async () => {
          const [allowed, remaining, waitMs, fullMs] = await bucket(key, policy.capacity, policy.refillPerSecond);
          return decision(allowed === 1, remaining, waitMs, fullMs);
        },
        (err) => {
          onFailOpen?.(err);
          return decision(true, policy.capacity, 0, 0);
        },
      );
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

/** `RateLimit-Policy` value: quota `q` per window `w` seconds (the time an empty bucket takes to fill). */
export function policyHeader(policy: RateLimitPolicy): string {
  return `"${policy.name}";q=${policy.capacity};w=${Math.ceil(policy.capacity / policy.refillPerSecond)}`;
}

export interface RateLimitPluginOptions {
  limiter: RateLimiter;
  policies: Readonly<Record<RateLimitPolicyName, RateLimitPolicy>>;
  onLimited?: (policy: RateLimitPolicyName) => void;
}

/**
 * Installs the limiter as a preHandler (after body validation, so a route key may use the body).
 * It runs before route-level preHandlers such as requireUser, so it reads the Bearer token itself.
 */
export function installRateLimit(app: SurgeApp, { limiter, policies, onLimited }: RateLimitPluginOptions): void {
  // The policies are fixed at start, so their RateLimit-Policy values are built once, not per request.
  const policyHeaders = new Map(Object.values(policies).map((policy) => [policy, policyHeader(policy)]));
  app.addHook('preHandler', async (request, reply) => {
    const setting = request.routeOptions.config?.rateLimit;
    if (setting === false) return;
    const policy = policies[setting?.policy ?? 'default'];
    const who = setting?.key ? setting.key(request) : await clientIdentity(request);
    const result = await limiter.take(`rl:${policy.name}:${who}`, policy);
    reply.header('ratelimit-policy', policyHeaders.get(policy)!);
    reply.header('ratelimit', `"${policy.name}";r=${result.remaining};t=${result.allowed ? result.resetSeconds : result.retryAfterSeconds}`);
    if (!result.allowed) {
      onLimited?.(policy.name);
      throw tooManyRequests(`Rate limit "${policy.name}" exceeded; retry in ${result.retryAfterSeconds} s`, result.retryAfterSeconds);
    }
  });
}

async function clientIdentity(request: FastifyRequest): Promise<string> {
  const token = bearerToken(request);
  if (token) {
    try {
      return `user:${(await verifyBearer(request, token)).userId}`;
    } catch {
      // An invalid token is limited by IP; the route's own auth answers 401.
    }
  }
  return `ip:${request.ip}`;
}
