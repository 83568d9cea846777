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
