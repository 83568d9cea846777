import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startHttpProbe } from '../../probe/http-probe';
import { percentile, summarizePhases } from '../../probe/latency-summary';

let server: Server;
let url: string;
let failing = false;

beforeAll(async () => {
  // Loopback only: answers 200 quickly, or 503 while `failing` is set (the failover window).
  server = createServer((_req, res) => {
    res.statusCode = failing ? 503 : 200;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/products`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('counts 5xx responses as errors in the phase they were sent in', async () => {
  const probe = startHttpProbe({ url, ratePerSecond: 100, requestTimeoutMs: 1000, maxDurationMs: 5000 });
  await wait(150);
  probe.setPhase('during');
  failing = true;
  await wait(150);
  failing = false;
  probe.setPhase('after');
  await wait(150);
  const [before, during, after] = await probe.stop();

  for (const phase of [before, during, after]) expect(phase.requests).toBeGreaterThanOrEqual(5);
  expect(before).toMatchObject({ phase: 'before', errors: 0, errorRate: 0 });
  expect(during.errors).toBeGreaterThan(0);
  expect(during.errorRate).toBeGreaterThan(0.5);
  expect(after).toMatchObject({ phase: 'after', errors: 0 });
  expect(before.p99Ms).toBeLessThan(1000);
});

test('stops by itself after its maximum duration', async () => {
  const probe = startHttpProbe({ url, ratePerSecond: 100, requestTimeoutMs: 1000, maxDurationMs: 100 });
  await wait(400);
  const [before] = await probe.stop();
  // 100 ms at 100/s is about 11 requests; far fewer than the 40 that 400 ms would have sent.
  expect(before.requests).toBeGreaterThan(3);
  expect(before.requests).toBeLessThan(25);
});

test('an unreachable URL counts as errors, not a crash', async () => {
  const probe = startHttpProbe({ url: 'http://127.0.0.1:1/', ratePerSecond: 50, requestTimeoutMs: 200, maxDurationMs: 1000 });
  await wait(100);
  const [before] = await probe.stop();
  expect(before.requests).toBeGreaterThan(0);
  expect(before.errorRate).toBe(1);
});

test('p99 is the nearest-rank percentile', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  expect(percentile(hundred, 99)).toBe(99);
  expect(percentile([5, 1, 9], 99)).toBe(9);
  expect(percentile([], 99)).toBeUndefined();
  expect(summarizePhases([{ phase: 'during', ok: false, latencyMs: 12 }])[1]).toEqual({
    phase: 'during',
    requests: 1,
    errors: 1,
    errorRate: 1,
    p99Ms: 12,
  });
});
