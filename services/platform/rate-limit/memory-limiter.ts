// The bucket in process memory: the limiter of a local run without Redis, and the fallback of the
// Redis limiter for the policies that must not fail open.
import { decision, type RateLimiter } from './limiter';

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
