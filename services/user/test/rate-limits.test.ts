// Login and registration limits against the real Redis: login per client address AND per account
// (many addresses on one account), registration per address, no email address in any Redis key, and
// through a Redis outage (a throwaway redis-server) the limits hold in process memory instead of
// letting everything through.
import { buildApp, type SurgeApp } from '../../platform/app';
import type { ServiceContext } from '../../platform/context';
import { createTestContext, createTestDatabase, startRedisServer, type TestDatabase } from '../../test-support/testing';
import { accountIdentity, userRoutes } from '../routes';

const LIMITS = { RATE_LIMIT_LOGIN_PER_MINUTE: '3', RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE: '4', RATE_LIMIT_REGISTER_PER_MINUTE: '2' };

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

async function userService(redis: string | true): Promise<{ ctx: ServiceContext; app: SurgeApp }> {
  const ctx = await createTestContext({ databaseUrl: t.url, redis, env: LIMITS });
  return { ctx, app: await buildApp(ctx, [userRoutes]) };
}

const login = (app: SurgeApp, from: string, email: string, password = 'wrong password') =>
  app.inject({ method: 'POST', url: '/api/users/login', remoteAddress: from, payload: { email, password } });
const register = (app: SurgeApp, from: string, email: string) =>
  app.inject({ method: 'POST', url: '/api/users', remoteAddress: from, payload: { email, password: 'long enough', name: 'N' } });

/**
 * Sent at once, so every request meets the limiter (which runs before the password hash) within
 * milliseconds: sent one after another, the slow hashes would let the buckets refill in between.
 */
const atOnce = <T,>(requests: Array<Promise<T>>) => Promise.all(requests);
const statuses = (answers: Array<{ statusCode: number }>) => answers.map((a) => a.statusCode).sort();

describe('with Redis', () => {
  let ctx: ServiceContext;
  let app: SurgeApp;
  beforeAll(async () => {
    ({ ctx, app } = await userService(true));
    await register(app, '10.9.9.9', 'owner@example.com');
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.close();
  });

  it('limits logins per client address, across accounts', async () => {
    const answers = await atOnce(['a', 'b', 'c', 'd', 'e'].map((name) => login(app, '10.0.0.1', `${name}@example.com`)));
    expect(statuses(answers)).toEqual([401, 401, 401, 429, 429]);
    const refused = answers.find((a) => a.statusCode === 429)!;
    expect(refused.headers['ratelimit-policy']).toBe('"login";q=3;w=60');
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.json()).toEqual({ error: 'too_many_requests', message: expect.stringMatching(/Rate limit "login" exceeded/) });
    // Another address is not affected.
    expect((await login(app, '10.0.0.2', 'a@example.com')).statusCode).toBe(401);
  });

  it('limits logins per account, whatever the address', async () => {
    const answers = await atOnce([1, 2, 3, 4, 5, 6].map((i) => login(app, `10.1.0.${i}`, i % 2 ? 'Owner@Example.com' : 'owner@example.com')));
    expect(statuses(answers)).toEqual([401, 401, 401, 401, 429, 429]);
    expect(answers.find((a) => a.statusCode === 429)!.headers['ratelimit-policy']).toBe('"loginAccount";q=4;w=60');
    // Other accounts from a fresh address still log in.
    expect((await login(app, '10.1.0.100', 'someone-else@example.com')).statusCode).toBe(401);
  });

  it('keeps email addresses out of Redis keys (the account is a hash)', async () => {
    // KEYS does not apply the client's prefix to its pattern: ask for this context's keys only.
    const prefix = ctx.redis!.options.keyPrefix as string;
    const keys = await ctx.redis!.keys(`${prefix}*`);
    const accountKeys = keys.filter((key) => key.includes('rl:loginAccount:'));
    expect(accountKeys.length).toBeGreaterThan(0);
    expect(keys.filter((key) => key.includes('@') || key.toLowerCase().includes('example.com'))).toEqual([]);
    expect(accountKeys).toContain(`${prefix}rl:loginAccount:${accountIdentity('OWNER@example.com ')}`);
  });

  it('limits registrations per address with their own low limit', async () => {
    const answers = await atOnce([0, 1, 2, 3].map((i) => register(app, '10.2.0.1', `reg-${i}-${Date.now()}@example.com`)));
    expect(statuses(answers)).toEqual([201, 201, 429, 429]);
    expect(answers.find((a) => a.statusCode === 429)!.headers['ratelimit-policy']).toBe('"register";q=2;w=60');
    expect((await register(app, '10.2.0.2', `reg-y-${Date.now()}@example.com`)).statusCode).toBe(201);
  });
});

describe('while Redis cannot be asked', () => {
  it('keeps login and registration limits in process memory; the default policy stays open', async () => {
    const server = await startRedisServer();
    const { ctx, app } = await userService(server.url);
    try {
      await server.stop();
      const logins = await atOnce(['a', 'b', 'c', 'd'].map((name) => login(app, '10.3.0.1', `${name}@example.com`)));
      expect(statuses(logins)).toEqual([401, 401, 401, 429]);
      const accountLogins = await atOnce([1, 2, 3, 4, 5].map((i) => login(app, `10.4.0.${i}`, 'victim@example.com')));
      expect(statuses(accountLogins)).toEqual([401, 401, 401, 401, 429]);
      const registrations = await atOnce([0, 1, 2].map((i) => register(app, '10.5.0.1', `outage-${i}-${Date.now()}@example.com`)));
      expect(statuses(registrations)).toEqual([201, 201, 429]);
      // The default policy (100 at once) fails open: far more requests than its burst all pass it.
      const profile = await Promise.all(Array.from({ length: 150 }, () => app.inject({ url: '/api/users/me', remoteAddress: '10.6.0.1' })));
      expect(new Set(profile.map((r) => r.statusCode))).toEqual(new Set([401]));
    } finally {
      await app.close();
      await ctx.close();
      await server.stop();
    }
  });
});
