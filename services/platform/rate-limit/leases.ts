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
import type { RateLimitPolicy } from '../config';

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

export interface Lease {
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

/** A key's lease before its first top-up. */
export function newLease(at: number): Lease {
  return { tokens: 0, expiresAt: 0, bucketRemaining: 0, fullMs: 0, size: 0, countedSince: at, spent: 0 };
}

/** The tokens the key spent in the last LEASE_RATE_WINDOW_MS, within [FIRST_LEASE_TOKENS, largest]. */
export function nextLeaseSize(held: Lease, largest: number, at: number): number {
  const recent = Math.ceil((held.spent * LEASE_RATE_WINDOW_MS) / Math.max(1, at - held.countedSince));
  return Math.min(largest, Math.max(FIRST_LEASE_TOKENS, recent));
}
