// The load runner against a tiny local server: status codes, X-Cache hit ratio and per-request setup.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatSummaries, parseDuration, runLoad } from '../lib/load-run';
import { emfMetricSum } from '../drills/poison-message';

describe('runLoad', () => {
  let server: Server;
  let url: string;
  const seenKeys = new Set<string>();
  beforeAll(async () => {
    let n = 0;
    server = createServer((req, res) => {
      if (req.headers['idempotency-key']) seenKeys.add(String(req.headers['idempotency-key']));
      if (req.url === '/missing') return void res.writeHead(404).end('{}');
      res.writeHead(200, { 'x-cache': n++ % 2 === 0 ? 'HIT' : 'MISS' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('counts status codes and the cache hit ratio of a bounded run', async () => {
    const summary = await runLoad({
      url,
      title: 'test',
      connections: 2,
      durationSeconds: 0,
      amount: 300,
      requests: [{ path: '/product' }, { path: '/missing' }, { path: '/product', setup: (req) => ({ ...req, headers: { ...req.headers, 'idempotency-key': `k${Math.random()}` } }) }],
    });
    expect(summary.requests).toBe(300);
    expect(summary.statusCodes['404']).toBe(100);
    expect(summary.statusCodes['200']).toBe(200);
    expect(summary.cache.hits + summary.cache.misses).toBe(200);
    expect(summary.cache.hitRatio).toBeGreaterThan(0.4);
    expect(summary.cache.hitRatio).toBeLessThan(0.6);
    expect(seenKeys.size).toBe(100);
    expect(formatSummaries([summary])).toMatch(/200:200 404:100/);
  });

  it('ends a bounded run at the first look after its last answer, not on the next whole second', async () => {
    const summary = await runLoad({ url, title: 'quick', connections: 2, durationSeconds: 0, amount: 20, checkIntervalMs: 20, requests: [{ path: '/product' }] });
    expect(summary.requests).toBe(20);
    // autocannon looks once a second by default: a run of 20 requests would last a whole second.
    expect(summary.durationSeconds).toBeLessThan(0.9);
    expect(summary.requestsPerSecond).toBeGreaterThan(0);
  });
});

describe('parseDuration', () => {
  it('reads seconds, minutes and milliseconds', () => {
    expect(parseDuration('30s')).toBe(30);
    expect(parseDuration('2m')).toBe(120);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(parseDuration('7')).toBe(7);
  });
  it('names a bad value', () => {
    expect(() => parseDuration('soon')).toThrow(/--duration must look like 30s, 2m or 500ms, got "soon"/);
  });
});

describe('emfMetricSum', () => {
  it('sums one metric over EMF lines and ignores other lines', () => {
    const log = ['{"level":30,"msg":"x"}', '{"_aws":{},"Queue":"payment-result","MessagesFailed":2}', 'not json "MessagesFailed"', '{"MessagesFailed":1}'].join('\n');
    expect(emfMetricSum(log, 'MessagesFailed')).toBe(3);
    expect(emfMetricSum(log, 'MessagesFailed', ['Queue', 'payment-result'])).toBe(2);
  });
});
