// How a decision is answered: `RateLimit-Policy` and `RateLimit` (IETF draft structured-field
// syntax), by the route hook and the hot paths alike.
import type { RateLimitPolicy } from '../config';
import type { RateLimitDecision } from './limiter';

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
