// A tiny bench run keeps the benchmark code working: every run reaches its target and gets answers,
// and the results file and document are written. No throughput number is asserted.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench } from '../bench';
import { BENCH_METHOD_VERSION } from '../lib/bench-doc';

jest.setTimeout(180_000);

// 19 load runs, each ended as soon as its requests are answered (a duration would cost a whole second
// per run: autocannon looks whether a run is over once a second). Enough for status codes and the
// cache hit ratio, and it keeps the cores for other files.
const REQUESTS_PER_RUN = 40;

it('runs every benchmark briefly and writes results and the document', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'surge-bench-'));
  const results = await runBench({
    requestsPerRun: REQUESTS_PER_RUN,
    connections: 4,
    products: 300,
    workerBacklog: 40,
    resultsFile: join(dir, 'latest.json'),
    docFile: join(dir, 'BENCHMARKS.md'),
    progress: false,
    log: () => undefined,
  });
  expect(results.settings).toMatchObject({ durationSeconds: 0, requestsPerRun: REQUESTS_PER_RUN });
  // Every round's runs, not only the median ones the table shows.
  const everyRun = [
    ...Object.values(results.runs),
    ...results.rounds!.reads.flatMap((r) => Object.values(r)),
    ...results.rounds!.writes.flatMap((w) => Object.values(w)),
  ];
  for (const run of everyRun) {
    expect(run.requests).toBe(REQUESTS_PER_RUN);
    expect(run.durationSeconds).toBeGreaterThan(0);
    expect(run.requestsPerSecond).toBeGreaterThan(0);
    expect(run.errors).toBe(0);
    expect(Object.keys(run.statusCodes).every((code) => code.startsWith('2'))).toBe(true);
  }
  expect(results.methodVersion).toBe(BENCH_METHOD_VERSION);
  // The write runs have a PostgreSQL CPU figure: the tx ceiling's pool keeps its backends between rounds.
  for (const { tx, orders } of results.rounds!.writes) {
    expect(tx.cpuUsPerRequest?.postgres).toEqual(expect.any(Number));
    expect(orders.cpuUsPerRequest?.postgres).toEqual(expect.any(Number));
  }
  // 1b copies the service's X-Cache header into a server without a cache: no hit ratio for it.
  expect(results.runs.ceilingHttpHeaders.cache.hitRatio).toBeNull();
  expect(results.runs.productCached.cache.hitRatio).toBeGreaterThan(0.5);
  expect(results.runs.productUncached.cache.hitRatio).toBe(0);
  expect(Object.keys(results.rssMb).sort()).toEqual(['order', 'payment', 'user', 'worker']);
  // The pairs ran interleaved, three rounds each; a ratio is the median of its rounds'.
  expect(results.rounds!.reads).toHaveLength(3);
  expect(results.rounds!.writes).toHaveLength(3);
  const rounds = results.roundRatios!.ordersVsTxCeiling;
  expect(results.ratios.ordersVsTxCeiling).toBe([...rounds].sort((a, b) => a - b)[1]);
  expect(JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')).ratios).toEqual(results.ratios);
  expect(readFileSync(join(dir, 'BENCHMARKS.md'), 'utf8')).toMatch(/\| 2 \| cached product read vs bare node:http/);
  expect(readFileSync(join(dir, 'BENCHMARKS.md'), 'utf8')).toContain('4 connections, 40 requests per run');
});
