// `npm run smoke`: passes against the whole system started locally from the services (`npm start`
// with the test PostgreSQL and Redis, real or embedded, fauxqs in process) and names the failing step against a broken one.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { runSmoke, SmokeFailure } from '../../scripts/smoke';
import { createTestDatabase, freePort, type TestDatabase, testRedisUrl } from '../../services/test-support/testing';

const ROOT = join(__dirname, '..', '..');
jest.setTimeout(120_000);

describe('against the local system', () => {
  let database: TestDatabase;
  let server: ChildProcess;
  let baseUrl: string;
  let output = '';

  beforeAll(async () => {
    database = await createTestDatabase();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'services', 'local', 'main.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: database.url,
        REDIS_URL: await testRedisUrl(),
        SEED_PRODUCTS: '50',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (chunk) => (output += chunk));
    server.stderr!.on('data', (chunk) => (output += chunk));
    const started = Date.now();
    while (!/listening on/.test(output)) {
      if (server.exitCode !== null) throw new Error(`the local system exited (${server.exitCode}):\n${output}`);
      if (Date.now() - started > 60_000) throw new Error(`the local system did not start within 60 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    await database?.drop();
  });

  test('every step passes, the order reaches PAID', async () => {
    const lines: string[] = [];
    await runSmoke({ baseUrl, paidWithinMs: 30_000, log: (line) => lines.push(line) });
    expect(lines.map((l) => l.replace(/ \(\d+ ms\).*$/, ''))).toEqual([
      'ok   health: user, order and payment services answer through the public entry',
      'ok   register',
      'ok   login',
      'ok   product read',
      'ok   place order',
      'ok   order PAID (outbox -> order-placed -> payment worker -> payment-result -> order worker)',
    ]);
  });
});

describe('against a broken deployment', () => {
  let broken: Server;
  let baseUrl: string;

  beforeAll(async () => {
    broken = createServer((request, response) => {
      response.writeHead(request.url?.startsWith('/api/products') ? 502 : 404, { 'content-type': 'application/json' });
      response.end('{"message":"bad gateway"}');
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    const address = broken.address() as { port: number };
    baseUrl = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => broken.close(resolve));
  });

  test('fails at the first step, naming what answered wrongly', async () => {
    const run = runSmoke({ baseUrl, paidWithinMs: 1000, log: () => undefined });
    await expect(run).rejects.toThrow(SmokeFailure);
    await expect(runSmoke({ baseUrl, paidWithinMs: 1000, log: () => undefined })).rejects.toThrow(/order service \(GET \/api\/products\): expected HTTP 200, got 502/);
  });
});

describe('against a deployment with a sale event open', () => {
  // The first product in the list is in an open sale event (403 waiting_room_required), the second is not.
  const SALE = '00000000-0000-4000-8000-000000000001';
  const PLAIN = '00000000-0000-4000-8000-000000000002';
  let shop: Server;
  let baseUrl: string;
  const ordered: string[] = [];

  beforeAll(async () => {
    shop = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        const send = (status: number, value: unknown) => {
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(JSON.stringify(value));
        };
        const url = request.url ?? '';
        if (request.method === 'GET' && url.startsWith('/api/products?')) {
          return send(200, { items: [SALE, PLAIN].map((id) => ({ id, priceCents: 1099, stock: 5 })) });
        }
        if (request.method === 'GET' && url.startsWith('/api/products/')) return send(200, { id: url.slice(14) });
        if (url === '/api/users/me' || url === '/api/payments') return send(401, { error: 'unauthorized' });
        if (url === '/api/users') return send(201, {});
        if (url === '/api/users/login') return send(200, { token: 'token' });
        if (request.method === 'POST' && url === '/api/orders') {
          const productId = JSON.parse(body).items[0].productId as string;
          ordered.push(productId);
          if (productId === SALE) return send(403, { error: 'waiting_room_required', message: 'join the waiting room first', eventId: 'big-sale' });
          return send(202, { id: 'order-1', status: 'PENDING' });
        }
        if (url === '/api/orders/order-1') return send(200, { id: 'order-1', status: 'PAID' });
        return send(404, { error: 'not_found' });
      });
    });
    await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(shop.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => shop.close(resolve));
  });

  test('skips the product sold through the waiting room, buys the next and says which it skipped', async () => {
    const lines: string[] = [];
    await runSmoke({ baseUrl, paidWithinMs: 5000, log: (line) => lines.push(line) });
    expect(ordered).toEqual([SALE, PLAIN]);
    expect(lines.find((l) => l.startsWith('ok   place order'))).toMatch(new RegExp(`: order-1; skipped ${SALE} \\(sale event big-sale\\)$`));
    expect(lines.at(-1)).toMatch(/^ok {3}order PAID/);
  });
});
