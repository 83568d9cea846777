// The benchmarks document shows only the run it renders: no figure for a PostgreSQL CPU reading that
// lost a backend, results of another bench method refused, earlier findings only under their heading.
import type { BenchResults } from '../lib/bench-results';
import { BENCH_METHOD_VERSION, renderBenchmarksDoc } from '../lib/bench-doc';
import type { LoadSummary } from '../lib/load-run';

const run = (title: string, postgres: number | null): BenchResults['runs']['orders'] => ({
  title,
  connections: 50,
  durationSeconds: 10,
  requests: 1000,
  requestsPerSecond: 100,
  latencyMs: { p50: 1, p90: 2, p99: 3, max: 4, mean: 1 },
  statusCodes: { '200': 1000 },
  errors: 0,
  timeouts: 0,
  cache: { hits: 0, misses: 0, hitRatio: null } as LoadSummary['cache'],
  cpuUsPerRequest: { server: 10, postgres, loadGenerator: 5 },
});

const results = (methodVersion: number | undefined): BenchResults => ({
  methodVersion,
  date: '2026-12-02T01:00:00Z',
  machine: { cpuModel: 'test cpu', cores: 2, node: 'v20', platform: 'linux x64' },
  settings: { durationSeconds: 10, connections: 50, products: 100 },
  runs: {
    ceilingHttp: run('1 ceiling', 0),
    ceilingHttpHeaders: run('1b headers', 0),
    productCached: run('2 cached', 0),
    productUncached: run('3 uncached', 77),
    txCeiling: run('4a tx ceiling', null),
    orders: run('4b orders', 321),
    ordersWithWorker: run('5a', 300),
    ordersSlowProvider: run('5b', 300),
  },
  ratios: { cachedVsCeiling: 1, cachedVsUncached: 1, ordersVsTxCeiling: 1, orderP99SlowVsFast: 1, workerSettledPerSecond: 10 },
  rssMb: { order: 100 },
  notes: [],
});

const FINDINGS = '- **An earlier finding** (2020-01-01): 12.34 us per request.';

describe('renderBenchmarksDoc', () => {
  it('shows n/a where a backend exited during the run, and the measured figure elsewhere', () => {
    const doc = renderBenchmarksDoc(results(BENCH_METHOD_VERSION), FINDINGS);
    expect(doc).toMatch(/\| 4a tx ceiling \|.*\| 10 \| n\/a \| 5 \|/);
    expect(doc).toMatch(/\| 4b orders \|.*\| 10 \| 321 \| 5 \|/);
  });

  it('refuses results of another bench method (or of none recorded) instead of describing them', () => {
    expect(() => renderBenchmarksDoc(results(undefined), FINDINGS)).toThrow(/made by bench method 1 or earlier .* describes method \d+: run `npm run bench`/);
    expect(() => renderBenchmarksDoc(results(BENCH_METHOD_VERSION - 1), FINDINGS)).toThrow(/made by bench method \d+/);
  });

  it('prints earlier findings only under their own heading, after the run', () => {
    const doc = renderBenchmarksDoc(results(BENCH_METHOD_VERSION), FINDINGS);
    const heading = doc.indexOf('## Findings from earlier measurements (hand-written, not from the run above)');
    expect(heading).toBeGreaterThan(doc.indexOf('## Against the targets'));
    expect(doc.indexOf('12.34 us')).toBeGreaterThan(heading);
  });
});
