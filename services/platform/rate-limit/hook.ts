// The rate limit of every route: a preHandler that takes a token of the route's policy (or each of
// several, in order) for the client - the token's user when a valid Bearer token is present, else the
// address - and answers 429 with Retry-After and the RateLimit headers when a bucket is empty.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, verifyBearer } from '../auth';
import type { RateLimitPolicy, RateLimitPolicyName } from '../config';
import { tooManyRequests } from '../errors';
import { rateLimitHeaders } from './headers';
import { addressIdentity, rateLimitKey, userIdentity, type RateLimitDecision, type RateLimiter } from './limiter';

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

export interface RateLimitPluginOptions {
  limiter: RateLimiter;
  policies: Readonly<Record<RateLimitPolicyName, RateLimitPolicy>>;
  onLimited?: (policy: RateLimitPolicyName) => void;
}

type PreHandler = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;

/** The function name of every rate-limit preHandler, by which the app tells it from other hooks (hot paths). */
export const RATE_LIMIT_HOOK = 'rateLimit';
const named = (hook: PreHandler): PreHandler => Object.defineProperty(hook, 'name', { value: RATE_LIMIT_HOOK });

/**
 * Installs the limiter as a preHandler of every route (after body validation, so a route key may use
 * the body), placed before the route's own preHandlers. Each route's policy is resolved once, when the
 * route is added, not per request. Returns the hook for the not-found handler, which has no route.
 * The limiter reads the Bearer token itself (requireUser may not have run yet).
 */
export function installRateLimit(app: FastifyInstance, { limiter, policies, onLimited }: RateLimitPluginOptions): PreHandler {
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
    if (!Array.isArray(setting)) return named(oneLimit(setting));
    // Several limits: each in turn; one that refuses (throws 429) stops the chain, so later buckets
    // are not spent by a request that an earlier one refused.
    const limits = setting.map(oneLimit);
    return named((request, reply, done) => {
      let next = 0;
      const step = (err?: Error) => (err || next === limits.length ? done(err) : limits[next++](request, reply, step));
      step();
    });
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

/** `user:<id>` for a valid Bearer token (verified, hence a promise), else `ip:<address>` at once. */
function clientIdentity(request: FastifyRequest): string | Promise<string> {
  const token = bearerToken(request);
  if (!token) return addressIdentity(request.ip);
  return verifyBearer(request, token).then(
    ({ userId }) => userIdentity(userId),
    // An invalid token is limited by IP; the route's own auth answers 401.
    () => addressIdentity(request.ip),
  );
}
