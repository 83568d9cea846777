// HTTP routes of the user service (the ALB sends /api/users* here).
import type { FastifyRequest } from 'fastify';
import type { ServicePlugin } from '../platform/app';
import { requireUser } from '../platform/auth';
import { getProfile, logIn, registerUser } from './use-cases/accounts';
import { getMyProfileSchema, logInSchema, registerSchema } from './schemas';

/** Login attempts are limited per client address and email, so one attacker cannot lock out a user everywhere. */
const loginKey = (request: FastifyRequest) => `${request.ip}:${String((request.body as { email?: unknown }).email).toLowerCase()}`;

export const userRoutes: ServicePlugin = async (app, ctx) => {
  app.post(
    '/api/users',
    { schema: registerSchema },
    async (request, reply) => reply.status(201).send(await registerUser(ctx.db, request.body)),
  );

  app.post(
    '/api/users/login',
    {
      config: { rateLimit: { policy: 'login', key: loginKey } },
      schema: logInSchema,
    },
    async (request) => logIn(ctx, request.body),
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
