// The drill's load: the load tool's runner against a loopback server, each request judged and filed
// under the phase it ended in, at a capped rate, stopping by itself.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { OpsError } from '../../aws/errors';
import { percentile, summarizePhases } from '../../probe/latency-summary';
import { startPhasedLoad, startScenarioLoad } from '../../probe/scenario-load';

let server: Server;
let url: string;
let received = 0;
let failing = false;

beforeAll(async () => {
  // /sold-out answers 409, /hang never answers, anything else 200, or 503 while `failing` is set.
  server = createServer((req, res) => {
    received++;
    if (req.url === '/hang') return;
    res.statusCode = req.url === '/sold-out' ? 409 : failing ? 503 : 200;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received = 0;
  failing = false;
});

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const limits = { connections: 10, ratePerSecond: 50, maxDurationMs: 10_000 };

test('files each request under the phase it ended in; the scenario says which statuses are not errors', async () => {
  const load = startPhasedLoad({ ...limits, url, requests: [{ path: '/ok' }, { path: '/sold-out' }], acceptedStatuses: [409] });
  await wait(300);
  failing = true;
  load.setPhase('during');
  await wait(1200);
  failing = false;
  load.setPhase('after');
  await wait(1200);
  const [before, during, after] = await load.stop();

  for (const phase of [before, during, after]) expect(phase.requests).toBeGreaterThanOrEqual(10);
  expect(before).toMatchObject({ phase: 'before', errors: 0, errorRate: 0, errorKinds: {} });
  // Half the requests are /ok, answered 503 while failing; the 409s are sold-out answers, not errors.
  expect(Object.keys(during.errorKinds)).toEqual(['503']);
  expect(during.errorRate).toBeGreaterThan(0.3);
  expect(during.errorRate).toBeLessThan(0.7);
  expect(after).toMatchObject({ phase: 'after', errors: 0 });
  expect(before.p50Ms).toBeLessThanOrEqual(before.p99Ms!);
  expect(before.p99Ms).toBeLessThan(1000);
}, 10_000);

test('caps the rate and stops by itself after its maximum duration', async () => {
  const load = startPhasedLoad({ ...limits, ratePerSecond: 20, maxDurationMs: 1500, url, requests: [{ path: '/ok' }], acceptedStatuses: [] });
  await wait(3000);
  const sent = received;
  await wait(1200);
  // It stopped by itself: nothing more arrived, and stop() still reports what it measured.
  expect(received).toBe(sent);
  const [before] = await load.stop();
  // 20/s: a burst of 20 at 0 s and at 1 s, and one more at 2 s as autocannon's 1 s tick ends the
  // run; requests still in flight then are dropped, so the server may have seen more than reported.
  expect(before.requests).toBeGreaterThanOrEqual(20);
  expect(before.requests).toBeLessThanOrEqual(60);
  expect(before.requests).toBeLessThanOrEqual(sent);
  expect(sent).toBeLessThanOrEqual(80);
}, 10_000);

test('timeouts and refused connections are errors of their own kind, without a latency', async () => {
  const hanging = startPhasedLoad({ ...limits, connections: 2, ratePerSecond: 2, timeoutSeconds: 1, url, requests: [{ path: '/hang' }], acceptedStatuses: [] });
  await wait(1600);
  const [timedOut] = await hanging.stop();
  expect(timedOut.errorKinds.timeout).toBeGreaterThanOrEqual(1);
  expect(timedOut.errorRate).toBe(1);
  expect(timedOut.p99Ms).toBeUndefined();

  const refused = startPhasedLoad({ ...limits, url: 'http://127.0.0.1:1', requests: [{ path: '/' }], acceptedStatuses: [] });
  await wait(200);
  const [unreachable] = await refused.stop();
  expect(unreachable.requests).toBeGreaterThan(0);
  expect(unreachable.errorKinds).toEqual({ ECONNREFUSED: unreachable.requests });
});

test('a site the scenario cannot be prepared against is an error naming the URL (exit 1)', async () => {
  const preparing = startScenarioLoad({ ...limits, url: 'http://127.0.0.1:1', scenario: 'browse' });
  await expect(preparing).rejects.toMatchObject({ constructor: OpsError, exitCode: 1 });
  await expect(preparing).rejects.toThrow(/^could not prepare the browse load against http:\/\/127\.0\.0\.1:1: fetch failed/);
});

test('Ctrl-C ends the load with the process: nothing holds SIGINT', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'fixtures', 'load-until-interrupted.ts'), url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await once(child.stdout!, 'data');
    await wait(300);
    expect(received).toBeGreaterThan(0);
    child.kill('SIGINT');
    const [code, signal] = (await Promise.race([once(child, 'exit'), wait(3000).then(() => ['still running'])])) as [unknown, unknown];
    expect([code, signal]).toEqual([null, 'SIGINT']);
    const atExit = received;
    await wait(1200);
    expect(received).toBe(atExit);
  } finally {
    child.kill('SIGKILL');
  }
});

test('p50 and p99 are nearest-rank percentiles of the responses; errors are counted by kind', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  expect(percentile(hundred, 99)).toBe(99);
  expect(percentile(hundred, 50)).toBe(50);
  expect(percentile([5, 1, 9], 99)).toBe(9);
  expect(percentile([], 99)).toBeUndefined();
  expect(
    summarizePhases([
      { phase: 'during', error: '503', latencyMs: 12 },
      { phase: 'during', error: 'timeout' },
      { phase: 'during', latencyMs: 4 },
      { phase: 'during', error: '503', latencyMs: 30 },
    ])[1],
  ).toEqual({ phase: 'during', requests: 4, errors: 3, errorRate: 0.75, errorKinds: { '503': 2, timeout: 1 }, p50Ms: 12, p99Ms: 30 });
});
