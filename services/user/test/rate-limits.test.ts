// Login and registration limits against the real Redis: login per client address AND per account
// (many addresses on one account), registration per address, no email address in any Redis key, and
// through a Redis outage (a throwaway redis-server) the limits hold in process memory instead of
// letting everything through.
import { buildApp, type SurgeApp } from '../../platform/app';
import type { ServiceContext } from '../../platform/context';
import { createTestContext, createTestDatabase, startRedisServer, type TestDatabase } from '../../platform/testing';
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
    const codes = [];
    for (const name of ['a', 'b', 'c', 'd']) codes.push((await login(app, '10.0.0.1', `${name}@example.com`)).statusCode);
    expect(codes).toEqual([401, 401, 401, 429]);
    const refused = await login(app, '10.0.0.1', 'e@example.com');
    expect(refused.headers['ratelimit-policy']).toBe('"login";q=3;w=60');
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.json()).toEqual({ error: 'too_many_requests', message: expect.stringMatching(/Rate limit "login" exceeded/) });
    // Another address is not affected.
    expect((await login(app, '10.0.0.2', 'a@example.com')).statusCode).toBe(401);
  });

  it('limits logins per account, whatever the address', async () => {
    const codes = [];
    for (let i = 1; i <= 5; i++) codes.push((await login(app, `10.1.0.${i}`, 'Owner@Example.com')).statusCode);
    expect(codes).toEqual([401, 401, 401, 401, 429]);
    const refused = await login(app, '10.1.0.99', 'owner@example.com', 'long enough');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['ratelimit-policy']).toBe('"loginAccount";q=4;w=60');
    // Other accounts from a fresh address still log in.
    expect((await login(app, '10.1.0.100', 'someone-else@example.com')).statusCode).toBe(401);
  });

  it('keeps email addresses out of Redis keys (the account is a hash)', async () => {
    const keys = await ctx.redis!.keys('*');
    const loginKeys = keys.filter((key) => key.includes('rl:loginAccount:'));
    expect(loginKeys.length).toBeGreaterThan(0);
    expect(keys.filter((key) => key.includes('@') || key.toLowerCase().includes('example.com'))).toEqual([]);
    expect(loginKeys.some((key) => key.endsWith(`rl:loginAccount:${accountIdentity('OWNER@example.com ')}`))).toBe(true);
  });

  it('limits registrations per address with their own low limit', async () => {
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await register(app, '10.2.0.1', `reg-${i}-${Date.now()}@example.com`)).statusCode);
    expect(codes).toEqual([201, 201, 429]);
    const refused = await register(app, '10.2.0.1', `reg-x-${Date.now()}@example.com`);
    expect(refused.headers['ratelimit-policy']).toBe('"register";q=2;w=60');
    expect((await register(app, '10.2.0.2', `reg-y-${Date.now()}@example.com`)).statusCode).toBe(201);
  });
});

describe('while Redis cannot be asked', () => {
  it('keeps login and registration limits in process memory; the default policy stays open', async () => {
    const server = await startRedisServer();
    const { ctx, app } = await userService(server.url);
    try {
      await server.stop();
      const logins = [];
      for (const name of ['a', 'b', 'c', 'd']) logins.push((await login(app, '10.3.0.1', `${name}@example.com`)).statusCode);
      expect(logins).toEqual([401, 401, 401, 429]);
      const accountLogins = [];
      for (let i = 1; i <= 5; i++) accountLogins.push((await login(app, `10.4.0.${i}`, 'victim@example.com')).statusCode);
      expect(accountLogins).toEqual([401, 401, 401, 401, 429]);
      const registrations = [];
      for (let i = 0; i < 3; i++) registrations.push((await register(app, '10.5.0.1', `outage-${i}-${Date.now()}@example.com`)).statusCode);
      expect(registrations).toEqual([201, 201, 429]);
      // The default policy (100 at once) fails open: far more requests than its burst all pass it.
      const profile = await Promise.all(Array.from({ length: 150 }, () => app.inject({ url: '/api/users/me', remoteAddress: '10.6.0.1' })));
      expect(new Set(profile.map((r) => r.statusCode))).toEqual(new Set([401]));
    } finally {
      await app.close();
      await ctx.close();
      await server.stop();
    }
  }, 60000);
});
