// The user service over HTTP against the real PostgreSQL and Redis: registration, login, profile,
// bad input, and the login rate limit.
import { buildApp, type SurgeApp } from '../../platform/app';
import { createTokenService } from '../../platform/auth';
import { generateTokenKey } from '../../platform/token-keys';
import type { ServiceContext } from '../../platform/context';
import { createTestContext, createTestDatabase, listenForTest, type TestClient, type TestDatabase } from '../../test-support/testing';
import { randomBytes, scryptSync } from 'node:crypto';
import { MIN_DEPLOYED_PASSWORD_HASH_LOG2_N } from '../../platform/config';
import { createPasswordHasher } from '../passwords';
import { userRoutes } from '../routes';

// This file tests the product's hash: the service runs at the deployed minimum cost, N=2^17, not the
// tests' 2^10. Each hash takes a good part of a second, several seconds on a loaded shared VM.
jest.setTimeout(60000);
const PRODUCT_COST = MIN_DEPLOYED_PASSWORD_HASH_LOG2_N;
const { verify: verifyPassword, needsRehash } = createPasswordHasher(PRODUCT_COST);

let t: TestDatabase;
let ctx: ServiceContext;
let app: SurgeApp;
let http: TestClient;
beforeAll(async () => {
  t = await createTestDatabase();
  ctx = await createTestContext({ databaseUrl: t.url, redis: true, env: { BODY_LIMIT_BYTES: '4096', PASSWORD_HASH_LOG2_N: String(PRODUCT_COST) } });
  app = await buildApp(ctx, [userRoutes]);
  http = await listenForTest(app);
});
afterAll(async () => {
  await app?.close();
  await ctx?.close();
  await t?.drop();
});

const register = (payload: unknown) => http.request({ method: 'POST', url: '/api/users', payload });
const login = (payload: unknown, headers: Record<string, string> = {}) =>
  http.request({ method: 'POST', url: '/api/users/login', payload, headers });

describe('POST /api/users', () => {
  it('creates a user without echoing the password, and stores only a scrypt hash', async () => {
    const res = await register({ email: 'Ada@Example.com', password: 'correct horse', name: 'Ada' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), email: 'ada@example.com', name: 'Ada', createdAt: expect.any(String) });
    expect(res.body).not.toContain('correct horse');
    const { rows } = await t.db.writer.query('SELECT password_hash FROM users WHERE id = $1', [body.id]);
    expect(rows[0].password_hash).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(await verifyPassword('correct horse', rows[0].password_hash)).toBe(true);
    expect(await verifyPassword('wrong horse', rows[0].password_hash)).toBe(false);
  });

  it('answers 409 when the email is taken, whatever its case', async () => {
    await register({ email: 'grace@example.com', password: 'password1', name: 'Grace' });
    const res = await register({ email: 'GRACE@example.com', password: 'password2', name: 'Grace 2' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: 'conflict', message: 'An account with this email already exists' });
  });

  it.each([
    [{ password: 'password1', name: 'N' }, 'body.email is required'],
    [{ email: 'not-an-email', password: 'password1', name: 'N' }, 'body.email must match format "email"'],
    [{ email: 'a@example.com', password: 'short', name: 'N' }, 'body.password must NOT have fewer than 8 characters'],
    [{ email: 'a@example.com', password: 'password1', name: '' }, 'body.name must NOT have fewer than 1 characters'],
    [{ email: 'a@example.com', password: 12345678, name: 'N' }, 'body.password must be string'],
    [{ email: 'a@example.com', password: 'password1', name: 'N', role: 'admin' }, 'body.role is not allowed'],
  ])('answers 400 naming the field for %j', async (payload, message) => {
    const res = await register(payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'bad_request', message });
  });

  it('answers 400 for malformed JSON and 413 for a huge body', async () => {
    const malformed = await http.request({ method: 'POST', url: '/api/users', payload: '{"email":', headers: { 'content-type': 'application/json' } });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error).toBe('bad_request');
    const huge = await register({ email: 'h@example.com', password: 'password1', name: 'x'.repeat(10000) });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error).toBe('payload_too_large');
  });
});

describe('POST /api/users/login and GET /api/users/me', () => {
  beforeAll(async () => {
    await register({ email: 'linus@example.com', password: 'penguins!', name: 'Linus' });
  });

  it('issues a token that opens the profile', async () => {
    const res = await login({ email: 'Linus@example.com', password: 'penguins!' });
    expect(res.statusCode).toBe(200);
    const { token, expiresAt } = res.json();
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now() + 3500_000);
    const me = await http.request({ url: '/api/users/me', headers: { authorization: `Bearer ${token}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ email: 'linus@example.com', name: 'Linus' });
    expect(me.body).not.toContain('password');
  });

  it('gives the same 401 for a wrong password and an unknown email', async () => {
    const wrong = await login({ email: 'linus@example.com', password: 'cats!!!!' });
    const unknown = await login({ email: 'nobody@example.com', password: 'penguins!' });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual({ error: 'unauthorized', message: 'Email or password is incorrect' });
    expect(unknown.json()).toEqual(wrong.json());
  });

  it('answers 401 on /me without a token, with a bad one, and with an expired one', async () => {
    expect((await http.request('/api/users/me')).statusCode).toBe(401);
    expect((await http.request({ url: '/api/users/me', headers: { authorization: 'Bearer abc.def.ghi' } })).statusCode).toBe(401);
    const otherKey = await createTokenService({ keys: async () => ({ keys: [generateTokenKey('local-not-for-deployed-environments')] }) });
    const forged = (await otherKey.issue('3f6c1f3e-7d8a-4c1e-9a55-0a4a2f1e6b10')).token;
    expect((await http.request({ url: '/api/users/me', headers: { authorization: `Bearer ${forged}` } })).statusCode).toBe(401);
    const expired = await (await createTokenService({ keys: ctx.config.tokenKeys, ttlSeconds: -10 })).issue('3f6c1f3e-7d8a-4c1e-9a55-0a4a2f1e6b10');
    const res = await http.request({ url: '/api/users/me', headers: { authorization: `Bearer ${expired.token}` } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: 'unauthorized', message: 'The access token is invalid or expired' });
  });
});

describe('password hashes made with older parameters', () => {
  it('still verify, and are replaced with a hash at today\'s parameters after a good login', async () => {
    // A hash as the service stored them before N was raised to 2^17 (N=2^15, r=8, p=1).
    const salt = randomBytes(16);
    const key = scryptSync('old but gold', salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 128 * 2 ** 15 * 8 * 2 });
    const oldHash = ['scrypt', 2 ** 15, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
    await t.db.writer.query(`INSERT INTO users (email, name, password_hash) VALUES ('veteran@example.com', 'Vet', $1)`, [oldHash]);
    expect(needsRehash(oldHash)).toBe(true);

    expect((await login({ email: 'veteran@example.com', password: 'wrong' })).statusCode).toBe(401);
    const unchanged = await t.db.writer.query('SELECT password_hash FROM users WHERE email = $1', ['veteran@example.com']);
    expect(unchanged.rows[0].password_hash).toBe(oldHash);

    expect((await login({ email: 'veteran@example.com', password: 'old but gold' })).statusCode).toBe(200);
    const { rows } = await t.db.writer.query('SELECT password_hash FROM users WHERE email = $1', ['veteran@example.com']);
    expect(rows[0].password_hash).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(needsRehash(rows[0].password_hash)).toBe(false);
    expect((await login({ email: 'veteran@example.com', password: 'old but gold' })).statusCode).toBe(200);
  });
});
