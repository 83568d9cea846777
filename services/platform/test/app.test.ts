// The shared HTTP app over a loopback socket: errors as { error, message } naming what was wrong, 413 for
// huge bodies, 503 when the database is down, health and draining, auth, and rate limit headers.
import { Type } from '@sinclair/typebox';
import { buildApp, replayHotPathBody, requestIdGenerator, type ServicePlugin, type SurgeApp } from '../app';
import { requireUser } from '../auth';
import type { ServiceContext } from '../context';
import { createTestContext, createTestDatabase, freePort, listenForTest, type TestClient, type TestDatabase } from '../../test-support/testing';

const Widget = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    parts: Type.Array(Type.Object({ quantity: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }), { minItems: 1 }),
  },
  { additionalProperties: false },
);

const widgetRoutes: ServicePlugin = async (app, ctx) => {
  app.post('/widgets', { schema: { operationId: 'makeWidget', summary: 'Make a widget', body: Widget } }, async (request, reply) => reply.status(201).send({ name: request.body.name }));
  app.get('/widgets', { schema: { operationId: 'listWidgets', summary: 'List widgets', querystring: Type.Object({ limit: Type.Integer({ maximum: 100, default: 20 }) }) } }, async (request) => ({
    limit: request.query.limit,
  }));
  app.get('/mine', { preHandler: requireUser }, async (request) => ({ userId: request.userId }));
  app.get('/boom', async () => {
    throw new Error('secret internal detail');
  });
  app.get('/tables', async (_request) => {
    const { rows } = await ctx.db.reader.query('SELECT 1 AS one');
    return rows[0];
  });
  app.post('/orders-like', { config: { rateLimit: { policy: 'orders' } } }, async () => ({ ok: true }));
  app.post('/login-like', { config: { rateLimit: { policy: 'login', key: (request) => `${request.ip}:${(request.body as { email: string }).email}` } } }, async () => ({
    ok: true,
  }));
};

let t: TestDatabase;
let ctx: ServiceContext;
let app: SurgeApp;
let http: TestClient;
beforeAll(async () => {
  t = await createTestDatabase();
  ctx = await createTestContext({ databaseUrl: t.url, redis: true, env: { BODY_LIMIT_BYTES: '2048', RATE_LIMIT_LOGIN_PER_MINUTE: '2', RATE_LIMIT_ORDERS_PER_MINUTE: '2' } });
  app = await buildApp(ctx, [widgetRoutes]);
  http = await listenForTest(app);
});
afterAll(async () => {
  await app?.close();
  await ctx?.close();
  await t?.drop();
});

const post = (url: string, payload: unknown) =>
  http.request({ method: 'POST', url, payload: typeof payload === 'string' ? payload : JSON.stringify(payload), headers: { 'content-type': 'application/json' } });

describe('input errors', () => {
  it('accepts a valid body', async () => {
    const res = await post('/widgets', { name: 'w', parts: [{ quantity: 1 }] });
    expect(res.statusCode).toBe(201);
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
  });

  it.each([
    [{ parts: [{ quantity: 1 }] }, 'body.name is required'],
    [{ name: 'w', parts: [{ quantity: 0 }] }, 'body.parts[0].quantity must be >= 1'],
    [{ name: 'w', parts: [{ quantity: 1.5 }] }, 'body.parts[0].quantity must be integer'],
    [{ name: 'w', parts: [] }, 'body.parts must NOT have fewer than 1 items'],
    [{ name: 'w', parts: [{ quantity: 1 }], admin: true }, 'body.admin is not allowed'],
    [{ name: 'w', parts: [{ quantity: 1, price: 0 }] }, 'body.parts[0].price is not allowed'],
    [[1, 2], 'body must be object'],
    [{ name: 5, parts: [{ quantity: 1 }] }, 'body.name must be string'],
    [{ name: 'w', parts: [{ quantity: '2' }] }, 'body.parts[0].quantity must be integer'],
    [{ name: 'w', parts: [{ quantity: true }] }, 'body.parts[0].quantity must be integer'],
  ])('answers 400 naming the field for %j', async (body, message) => {
    const res = await post('/widgets', body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'bad_request', message });
  });

  it('answers 400 for malformed JSON and an empty JSON body', async () => {
    const bad = await post('/widgets', '{"name": "w",');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/JSON/) });
    const empty = await http.request({ method: 'POST', url: '/widgets', headers: { 'content-type': 'application/json' } });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().error).toBe('bad_request');
  });

  it('answers 413 for a body over the limit', async () => {
    const res = await post('/widgets', { name: 'x'.repeat(5000), parts: [{ quantity: 1 }] });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: 'payload_too_large', message: 'Request body is too large' });
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await http.request({ method: 'POST', url: '/widgets', payload: 'name=w', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.statusCode).toBe(415);
    expect(res.json().error).toBe('unsupported_media_type');
  });

  it('validates and coerces the query string', async () => {
    expect((await http.request('/widgets?limit=7')).json()).toEqual({ limit: 7 });
    expect((await http.request('/widgets')).json()).toEqual({ limit: 20 });
    const res = await http.request('/widgets?limit=500');
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe('querystring.limit must be <= 100');
  });

  it('answers 404 for an unknown route', async () => {
    const res = await http.request('/nope?x=1');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'not_found', message: 'Route GET /nope not found' });
  });

  it('hides internals of unexpected errors', async () => {
    const res = await http.request('/boom');
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal', message: 'Internal server error' });
    expect(res.body).not.toContain('secret');
  });
});

describe('request ids', () => {
  it('gives each response its own id, and another app (instance or restart) ids of its own', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => http.request({ method: 'GET', url: '/health/live' })));
    expect(new Set(ids.map((res) => res.headers['x-request-id'])).size).toBe(20);
    const [one, other] = [requestIdGenerator(), requestIdGenerator()];
    const firsts = Array.from({ length: 1000 }, one);
    const seconds = Array.from({ length: 1000 }, other);
    expect(new Set([...firsts, ...seconds]).size).toBe(2000);
    expect(firsts[0].slice(0, 16)).not.toBe(seconds[0].slice(0, 16)); // 96 random bits (16 characters) per app
  });
});

describe('auth', () => {
  it('requires a valid Bearer token', async () => {
    expect((await http.request('/mine')).statusCode).toBe(401);
    const bad = await http.request({ url: '/mine', headers: { authorization: 'Bearer not.a.token' } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toEqual({ error: 'unauthorized', message: 'The access token is invalid or expired' });
    const { token } = await ctx.tokens.issue('3f6c1f3e-7d8a-4c1e-9a55-0a4a2f1e6b10');
    const ok = await http.request({ url: '/mine', headers: { authorization: `Bearer ${token}` } });
    expect(ok.json()).toEqual({ userId: '3f6c1f3e-7d8a-4c1e-9a55-0a4a2f1e6b10' });
  });
});

describe('rate limiting', () => {
  it('limits by the route key and says so in headers', async () => {
    const a1 = await post('/login-like', { email: 'a@example.com' });
    expect(a1.statusCode).toBe(200);
    expect(a1.headers['ratelimit-policy']).toBe('"login";q=2;w=60');
    expect(a1.headers['ratelimit']).toMatch(/^"login";r=1;t=\d+$/);
    await post('/login-like', { email: 'a@example.com' });
    const limited = await post('/login-like', { email: 'a@example.com' });
    expect(limited.statusCode).toBe(429);
    // One token per 30 s at 2/min, less the little time the first two requests took.
    const retry = limited.headers['retry-after'];
    expect(['29', '30']).toContain(retry);
    expect(limited.headers['ratelimit']).toBe(`"login";r=0;t=${retry}`);
    expect(limited.json()).toEqual({ error: 'too_many_requests', message: `Rate limit "login" exceeded; retry in ${retry} s` });
    // Another email from the same address has its own bucket.
    expect((await post('/login-like', { email: 'b@example.com' })).statusCode).toBe(200);
  });

  it('limits each token user apart, and clients without a valid token by address', async () => {
    const alice = (await ctx.tokens.issue('11111111-1111-4111-8111-111111111111')).token;
    const bob = (await ctx.tokens.issue('22222222-2222-4222-8222-222222222222')).token;
    const order = (token?: string) =>
      http.request({ method: 'POST', url: '/orders-like', payload: {}, headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect((await order(alice)).statusCode).toBe(200);
    expect((await order(alice)).statusCode).toBe(200);
    const limited = await order(alice);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['ratelimit-policy']).toBe('"orders";q=2;w=60');
    expect((await order(bob)).statusCode).toBe(200);
    // No token and a forged token share the address's bucket, not Alice's.
    expect((await order()).statusCode).toBe(200);
    expect((await order('forged.token.value')).statusCode).toBe(200);
    expect((await order()).statusCode).toBe(429);
  });

  it('applies the default policy elsewhere and never to health checks', async () => {
    const res = await http.request('/widgets');
    expect(res.headers['ratelimit-policy']).toBe('"default";q=100;w=2');
    expect((await http.request('/health/live')).headers['ratelimit-policy']).toBeUndefined();
  });
});

describe('health', () => {
  it('is live and ready, and serves the OpenAPI document', async () => {
    expect((await http.request('/health/live')).json()).toEqual({ status: 'live' });
    const ready = await http.request('/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', database: 'up', redis: 'up' });
    const doc = (await http.request('/openapi.json')).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/widgets', '/mine']));
  });

  it('answers 503 on readiness once draining', async () => {
    const ctx2 = await createTestContext({ databaseUrl: t.url });
    const app2 = await buildApp(ctx2, [widgetRoutes]);
    const http2 = await listenForTest(app2);
    try {
      app2.markDraining();
      const res = await http2.request('/health/ready');
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'draining' });
      expect((await http2.request('/health/live')).statusCode).toBe(200);
    } finally {
      await app2.close();
      await ctx2.close();
    }
  });
});

describe('database down', () => {
  it('answers 503 with a clear error and fails readiness', async () => {
    const deadUrl = `postgres://postgres@127.0.0.1:${await freePort()}/surge`;
    const ctx3 = await createTestContext({ databaseUrl: deadUrl });
    const app3 = await buildApp(ctx3, [widgetRoutes]);
    const http3 = await listenForTest(app3);
    try {
      const res = await http3.request('/tables');
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ error: 'service_unavailable', message: 'The database is unavailable; try again shortly' });
      const ready = await http3.request('/health/ready');
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'not_ready', database: 'down' });
    } finally {
      await app3.close();
      await ctx3.close();
    }
  });
});

describe('hot paths', () => {
  it('answer before the routes, pass on what they decline, and never take the server down when they throw', async () => {
    const hotCtx = await createTestContext({ databaseUrl: t.url });
    const seen: string[] = [];
    const hotRoutes: ServicePlugin = async (scope) => {
      scope.get('/hot/:name', async (request) => ({ from: 'route', name: (request.params as { name: string }).name }));
      scope.addHotPath('GET /hot/:name', (kit) => (req, res) => {
        seen.push(req.url!);
        if (req.url === '/hot/boom') throw new Error('hot path bug');
        if (req.url !== '/hot/fast') return false;
        res.writeHead(200, kit.withCommonHeaders(req, { 'content-type': 'application/json', 'x-client': kit.clientIp(req) }));
        res.end('{"from":"hot path"}');
        return true;
      });
    };
    const hotApp = await buildApp(hotCtx, [hotRoutes]);
    try {
      const client = await listenForTest(hotApp);
      const fast = await client.request({ url: '/hot/fast', headers: { 'x-request-id': 'given-1' } });
      expect([fast.statusCode, fast.json(), fast.headers['x-request-id'], fast.headers['x-client']]).toEqual([200, { from: 'hot path' }, 'given-1', '127.0.0.1']);
      const declined = await client.request({ url: '/hot/slow' });
      expect(declined.json()).toEqual({ from: 'route', name: 'slow' });
      const thrown = await client.request({ url: '/hot/boom' });
      expect([thrown.statusCode, thrown.json()]).toEqual([200, { from: 'route', name: 'boom' }]);
      expect(seen).toEqual(['/hot/fast', '/hot/slow', '/hot/boom']);
    } finally {
      await hotApp.close();
      await hotCtx.close();
    }
  });

  it('decorate their responses like the routes do: the same request id header and, while draining, connection: close', async () => {
    const hotCtx = await createTestContext({ databaseUrl: t.url });
    const hotRoutes: ServicePlugin = async (scope) => {
      scope.get('/hot/:name', async () => ({ from: 'route' }));
      scope.addHotPath('GET /hot/:name', (kit) => (req, res) => {
        if (req.url !== '/hot/fast') return false;
        res.writeHead(200, kit.withCommonHeaders(req, { 'content-type': 'application/json' }));
        res.end('{"from":"hot path"}');
        return true;
      });
    };
    const hotApp = await buildApp(hotCtx, [hotRoutes]);
    try {
      const client = await listenForTest(hotApp);
      hotApp.markDraining();
      const [fast, slow] = [await client.request({ url: '/hot/fast' }), await client.request({ url: '/hot/slow' })];
      expect([fast.json(), slow.json()]).toEqual([{ from: 'hot path' }, { from: 'route' }]);
      for (const answer of [fast, slow]) {
        expect(answer.headers.connection).toBe('close');
        expect(answer.headers['x-request-id']).toMatch(/^[\w-]+-[0-9a-z]+$/);
      }
    } finally {
      await hotApp.close();
      await hotCtx.close();
    }
  });

  it.each([
    ['an onRequest hook of the service', 'onRequest auditRequest', (scope: SurgeApp) => scope.addHook('onRequest', function auditRequest(_request, _reply, done) { done(); })],
    ['a preHandler of the route', 'preHandler checkSomething', undefined],
    ['an anonymous onSend hook', 'onSend anonymous', (scope: SurgeApp) => scope.addHook('onSend', (_request, _reply, payload, done) => done(null, payload))],
  ])('refuse to start when the route has a hook the hot path would skip: %s', async (_case, named, addHook) => {
    const hotCtx = await createTestContext({ databaseUrl: t.url });
    const hotRoutes: ServicePlugin = async (scope) => {
      addHook?.(scope);
      const preHandler = addHook ? [] : [function checkSomething(_request: unknown, _reply: unknown, done: () => void) { done(); }];
      scope.get('/hot/:name', { preHandler }, async () => ({ from: 'route' }));
      scope.addHotPath('GET /hot/:name', () => () => false);
    };
    try {
      await expect(buildApp(hotCtx, [hotRoutes])).rejects.toThrow(`hot path for GET /hot/:name would skip the route's hook(s) ${named}`);
    } finally {
      await hotCtx.close();
    }
  });

  it('hand a request whose body they read to the route, which parses and validates that body as if it were unread', async () => {
    const hotCtx = await createTestContext({ databaseUrl: t.url });
    const hotRoutes: ServicePlugin = async (scope) => {
      scope.post(
        '/echo',
        { preParsing: replayHotPathBody, schema: { operationId: 'echo', summary: 'Echo', body: { type: 'object', properties: { n: { type: 'integer' }, note: { type: 'string' } }, required: ['n'], additionalProperties: false } } },
        async (request) => ({ from: 'route', body: request.body }),
      );
      scope.addHotPath('POST /echo', (kit) => (req, res) => {
        if (req.method !== 'POST') return false;
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          if (body.toString() === '{"n":0}') {
            res.writeHead(200, kit.withCommonHeaders(req, { 'content-type': 'application/json' }));
            res.end('{"from":"hot path"}');
          } else kit.toRoute(req, res, body);
        });
        return true;
      });
    };
    const hotApp = await buildApp(hotCtx, [hotRoutes]);
    try {
      const client = await listenForTest(hotApp);
      const post = (payload: string) => client.request({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload });
      expect((await post('{"n":0}')).json()).toEqual({ from: 'hot path' });
      // Multi-byte text survives the hand-over (Content-Length counts bytes).
      const handed = await post('{"n":7,"note":"thé à l’heure"}');
      expect([handed.statusCode, handed.json()]).toEqual([200, { from: 'route', body: { n: 7, note: 'thé à l’heure' } }]);
      const invalid = await post('{"n":"seven"}');
      expect(invalid.statusCode).toBe(400);
      const malformed = await post('{"n":');
      expect([malformed.statusCode, malformed.json().error]).toEqual([400, 'bad_request']);
    } finally {
      await hotApp.close();
      await hotCtx.close();
    }
  });

  it("start when the route's own hooks are those the hot path says it does, and only then", async () => {
    const hotCtx = await createTestContext({ databaseUrl: t.url });
    const plugin =
      (saysItDoes: boolean): ServicePlugin =>
      async (scope) => {
        const checkCaller = function checkCaller(_request: unknown, _reply: unknown, done: () => void) {
          done();
        };
        const checkSomethingElse = function checkSomethingElse() {};
        scope.get('/hot/:name', { onRequest: [checkCaller] }, async () => ({ from: 'route' }));
        scope.addHotPath('GET /hot/:name', () => () => false, [saysItDoes ? checkCaller : checkSomethingElse]);
      };
    try {
      const app = await buildApp(hotCtx, [plugin(true)]);
      await app.close();
      await expect(buildApp(hotCtx, [plugin(false)])).rejects.toThrow("would skip the route's hook(s) onRequest checkCaller");
    } finally {
      await hotCtx.close();
    }
  });

  it('refuse to start for a route that does not exist', async () => {
    const hotCtx = await createTestContext({ databaseUrl: t.url });
    const hotRoutes: ServicePlugin = async (scope) => {
      scope.addHotPath('GET /nowhere/:id', () => () => false);
    };
    try {
      await expect(buildApp(hotCtx, [hotRoutes])).rejects.toThrow('hot path for GET /nowhere/:id: no such route');
    } finally {
      await hotCtx.close();
    }
  });
});
