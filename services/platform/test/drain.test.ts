// SIGTERM drain of a real service process (runService): readiness turns 503, a request in flight
// completes, workers stop, and the process exits 0 within the deadline; keep-alive clients that keep
// sending during the drain get an answer or a refused connection, never a request cut after it was sent.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createTestDatabase, freePort, requestOutcome, type TestDatabase } from '../../test-support/testing';

const ROOT = join(__dirname, '..', '..', '..');

let t: TestDatabase;
let child: ChildProcess | undefined;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await t?.drop();
});

/** Starts the drain fixture (a real runService process) and resolves once it listens. */
async function startFixture(env: Record<string, string>) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'drain-service.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      SURGE_ENV: 'local',
      DATABASE_URL: t.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SHUTDOWN_DEADLINE_MS: '8000',
      REDIS_URL: '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = child;
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not listen:\n${logs.join('\n')}`)), 20000);
    createInterface({ input: started.stdout! }).on('line', (line) => {
      logs.push(line);
      if (line.includes('drain-fixture listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    createInterface({ input: started.stderr! }).on('line', (line) => logs.push(line));
    void exited.then((code) => reject(new Error(`service exited with ${code}:\n${logs.join('\n')}`)));
  });
  return { base, port, child: started, logs, exited };
}

it('drains on SIGTERM and exits 0', async () => {
  const { base, child, logs, exited } = await startFixture({ DRAIN_DELAY_MS: '600' });
  expect((await fetch(`${base}/health/ready`)).status).toBe(200);

  const inFlight = fetch(`${base}/slow?ms=1500`);
  await new Promise((r) => setTimeout(r, 200));
  const sigtermAt = Date.now();
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 150));

  // During the drain delay the listener is open and readiness says so.
  const ready = await fetch(`${base}/health/ready`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toEqual({ status: 'draining' });
  expect((await fetch(`${base}/health/live`)).status).toBe(200);

  const slow = await inFlight;
  expect(slow.status).toBe(200);
  expect(await slow.json()).toEqual({ slept: 1500 });

  const code = await exited;
  const drainMs = Date.now() - sigtermAt;
  if (code !== 0) console.log(logs.join('\n'));
  expect(code).toBe(0);
  expect(drainMs).toBeLessThan(8000);
  const text = logs.join('\n');
  expect(text).toContain('fixture worker finished its message and stopped');
  expect(text.indexOf('fixture worker finished')).toBeLessThan(text.indexOf('drained; exiting'));
  // After the drain the port is closed.
  await expect(fetch(`${base}/health/live`)).rejects.toThrow();
}, 30000);

it('answers every request a keep-alive client sends while it drains: none is cut after it was sent', async () => {
  const { port, child, exited } = await startFixture({ DRAIN_DELAY_MS: '0' });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  const counts = { answered: 0, refused: 0, cutAfterSent: 0, other: 0 };
  let stop = false;
  const one = async () => {
    const outcome = await requestOutcome({ host: '127.0.0.1', port, path: '/health/live', agent });
    if (outcome.kind === 'refused') counts.refused++;
    else if (outcome.kind === 'cut') counts.cutAfterSent++;
    else if (outcome.status === 200) counts.answered++;
    else counts.other++;
  };
  const clients = Array.from({ length: 20 }, async () => {
    while (!stop) await one();
  });
  await new Promise((r) => setTimeout(r, 1000));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  stop = true;
  await Promise.all(clients);
  agent.destroy();
  expect(counts.answered).toBeGreaterThan(100);
  expect(counts.refused).toBeGreaterThan(0); // the clients kept trying after the listener closed
  expect(counts).toMatchObject({ cutAfterSent: 0, other: 0 });
}, 30000);
