// Rate limiting: a token bucket per (policy, client). What every limiter answers, the bucket keys,
// and which policies may fail open. The Redis limiter (redis-limiter.ts) keeps the buckets in Redis,
// shared by every instance; the memory limiter (memory-limiter.ts) keeps them in this process, for
// local runs and as the fallback while Redis cannot be asked. hook.ts applies them to routes and
// headers.ts writes the answer's headers.
//
// If Redis is down the `default` policy FAILS OPEN: requests pass and a warning is logged (at most
// every 10 s), because refusing all traffic during a cache outage hurts more than letting a burst
// through to a database that has its own pool limits. The other policies (login, loginAccount,
// register, orders) guard against password guessing, hash floods and order floods, so they fall back
// to the same bucket in process memory instead: per instance rather than shared, but never unlimited.
import type { RateLimitPolicy } from '../config';

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

/** Only the high-rate `default` policy may let requests through unchecked while Redis is away. */
export const failsOpen = (policy: RateLimitPolicy) => policy.name === 'default';

/** The bucket of `who` (`ip:<address>`, `user:<id>` or a route's own key) under `policy`. */
export function rateLimitKey(policy: RateLimitPolicy, who: string): string {
  return `rl:${policy.name}:${who}`;
}

/** Who a request with a valid Bearer token is: the token's user. */
export function userIdentity(userId: string): string {
  return `user:${userId}`;
}

/** Who a request without a Bearer token is: its client address (after the trusted proxies). */
export function addressIdentity(ip: string): string {
  return `ip:${ip}`;
}

/** A limiter's answer: `remaining` whole tokens, the wait for one when refused, the time until full. */
export function decision(allowed: boolean, remaining: number, waitMs: number, fullMs: number): RateLimitDecision {
  return {
    allowed,
    remaining,
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(waitMs / 1000)),
    resetSeconds: Math.ceil(fullMs / 1000),
  };
}
