// HTTP routes of the user service (the ALB sends /api/users* here).
import type { FastifyRequest } from 'fastify';
import type { ServicePlugin } from '../platform/app';
import { requireUser } from '../platform/auth';
import { getProfile, logIn, registerUser } from './use-cases/accounts';
import { ErrorBody, LoginBody, Profile, RegisterBody, Token } from './schemas';

/** Login attempts are limited per client address and email, so one attacker cannot lock out a user everywhere. */
const loginKey = (request: FastifyRequest) => `${request.ip}:${String((request.body as { email?: unknown }).email).toLowerCase()}`;

export const userRoutes: ServicePlugin = async (app, ctx) => {
  app.post(
    '/api/users',
    {
      schema: { tags: ['users'], body: RegisterBody, response: { 201: Profile, 400: ErrorBody, 409: ErrorBody } },
    },
    async (request, reply) => reply.status(201).send(await registerUser(ctx.db, request.body)),
  );

  app.post(
    '/api/users/login',
    {
      config: { rateLimit: { policy: 'login', key: loginKey } },
      schema: { tags: ['users'], body: LoginBody, response: { 200: Token, 401: ErrorBody, 429: ErrorBody } },
    },
    async (request) => logIn(ctx, request.body),
  );

  app.get(
    '/api/users/me',
    {
      preHandler: requireUser,
      schema: { tags: ['users'], security: [{ bearer: [] }], response: { 200: Profile, 401: ErrorBody } },
    },
    async (request) => getProfile(ctx.db, request.userId),
  );
};
