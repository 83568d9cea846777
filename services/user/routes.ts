// HTTP routes of the user service (the ALB sends /api/users* here).
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { ServicePlugin } from '../platform/app';
import { requireUser } from '../platform/auth';
import { type RouteRateLimit } from '../platform/rate-limit/hook';
import { addressIdentity } from '../platform/rate-limit/limiter';
import { createPasswordHasher } from './passwords';
import { getProfile, logIn, registerUser } from './use-cases/accounts';
import { getMyProfileSchema, logInSchema, registerSchema } from './schemas';

const byAddress = (request: FastifyRequest) => addressIdentity(request.ip);

/**
 * The account a login names, as a hash: Redis keys never hold an email address. (Emails are matched
 * case-insensitively, so the hash is of the lower-cased address.)
 */
export function accountIdentity(email: string): string {
  return `account:${createHash('sha256').update(email.trim().toLowerCase()).digest('base64url')}`;
}

/**
 * Logins: the default policy, then per client address (one address trying many accounts), then per
 * account (many addresses trying one account). Checked in that order, so an address over its limit
 * does not spend the account's attempts.
 */
const LOGIN_LIMITS: RouteRateLimit[] = [
  { policy: 'default' },
  { policy: 'login', key: byAddress },
  { policy: 'loginAccount', key: (request) => accountIdentity((request.body as { email: string }).email) },
];

/** Registration costs a password hash: its own low limit per client address, after the default. */
const REGISTER_LIMITS: RouteRateLimit[] = [{ policy: 'default' }, { policy: 'register', key: byAddress }];

export const userRoutes: ServicePlugin = async (app, host) => {
  // The user service's tables, through its own role, whichever process hosts these routes.
  const ctx = host.as('user');
  const passwords = createPasswordHasher(ctx.config.passwordHashLog2N);
  app.post(
    '/api/users',
    { schema: registerSchema, config: { rateLimit: REGISTER_LIMITS } },
    async (request, reply) => reply.status(201).send(await registerUser({ db: ctx.db, passwords }, request.body)),
  );

  app.post(
    '/api/users/login',
    {
      config: { rateLimit: LOGIN_LIMITS },
      schema: logInSchema,
    },
    async (request) => logIn({ db: ctx.db, tokens: ctx.tokens, passwords }, request.body),
  );

  app.get(
    '/api/users/me',
    {
      preHandler: requireUser,
      schema: getMyProfileSchema,
    },
    async (request) => getProfile(ctx.db, request.userId),
  );
};
