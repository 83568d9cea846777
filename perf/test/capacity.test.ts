// The capacity plan's arithmetic on a fixed, synthetic benchmark result, and its flag validation.
import { validateConfig } from '../../lib/config';
import { prod } from '../../lib/config/prod';
import type { BenchResults } from '../lib/bench-results';
import { DEFAULT_INPUTS, formatPlan, parseCapacityArgs, planCapacity, suggestedFields, suggestedProdConfig, vcpusOf } from '../capacity';
import type { LoadSummary } from '../lib/load-run';

const run = (requestsPerSecond: number): LoadSummary => ({
  title: 't',
  connections: 50,
  durationSeconds: 10,
  requests: requestsPerSecond * 10,
  requestsPerSecond,
  latencyMs: { p50: 1, p90: 2, p99: 3, max: 4, mean: 1 },
  statusCodes: { '200': requestsPerSecond * 10 },
  errors: 0,
  timeouts: 0,
  cache: { hits: 0, misses: 0, hitRatio: null },
});

const bench: BenchResults = {
  date: '2026-11-28T07:00:00Z',
  machine: { cpuModel: 'test cpu', cores: 2, node: 'v20', platform: 'linux x64' },
  settings: { durationSeconds: 10, connections: 50, products: 10000 },
  runs: {
    ceilingHttp: run(50000),
    ceilingHttpHeaders: run(40000),
    productCached: run(10000),
    // The database's own cost of a read: what an Aurora reader's capacity is planned from.
    productUncached: { ...run(2000), cpuUsPerRequest: { server: 300, postgres: 100, loadGenerator: 50 } },
    txCeiling: run(4000),
    orders: run(1000),
    ordersWithWorker: run(900),
    ordersSlowProvider: run(1000),
  },
  ratios: { cachedVsCeiling: 0.2, cachedVsUncached: 5, ordersVsTxCeiling: 0.25, orderP99SlowVsFast: 1, workerSettledPerSecond: 1000 },
  rssMb: { order: 100 },
  notes: [],
};

describe('planCapacity', () => {
  const inputs = { ...DEFAULT_INPUTS, peakRps: 1_000_000, readRatio: 0.9, targetUtilization: 0.5 };

  it('sizes the order fleet from measured per-instance throughput', () => {
    const plan = planCapacity(inputs, bench);
    // per instance at 50%: 5000 cached reads, 500 orders, 1000 uncached reads.
    // 810k product reads / 5000 + 90k list reads / 1000 + 100k orders / 500 = 162 + 90 + 200
    expect(plan.fleets.order).toBe(452);
    expect(plan.fleets.worker).toBe(200);
    // A reader (r7g.large, 2 vCPUs) at 50%: 2 x 1,000,000 us / 100 us per read x 0.5 = 10,000 reads/s.
    expect(plan.measured.readsPerReader).toBe(10_000);
    expect(plan.aurora.readers).toBe(9); // 90k catalog pages / 10,000
    expect(plan.aurora.writerOk).toBe(false);
    expect(plan.warnings.join('\n')).toMatch(/exceeds one Aurora writer/);
    // One token-bucket script per origin request (900k reads + 100k orders); cached product reads come
    // from each process's L1, not Redis.
    expect(plan.redis.opsPerSecond).toBe(1_000_000);
    expect(plan.redis.shards).toBe(10);
  });

  it('sizes Aurora readers from the database CPU per read and the instance class, not a service process', () => {
    expect(planCapacity({ ...inputs, dbInstanceClass: 'r7g.2xlarge' }, bench).aurora.readers).toBe(3); // 8 vCPUs: 40,000 reads/s each
    const dearer = { ...bench, runs: { ...bench.runs, productUncached: { ...bench.runs.productUncached, cpuUsPerRequest: { server: 300, postgres: 1000, loadGenerator: 50 } } } };
    const plan = planCapacity(inputs, dearer);
    expect(plan.aurora.readers).toBe(15); // 90 needed, capped at Aurora's 15 replicas
    expect(plan.warnings.join('\n')).toMatch(/need 90 Aurora readers but a cluster has at most 15/);
    // The order fleet's own cost of an uncached read is unchanged by the database's.
    expect(plan.fleets.order).toBe(452);
  });

  it('refuses results without a database measurement of a read', () => {
    const unmeasured = { ...bench, runs: { ...bench.runs, productUncached: run(2000) } };
    expect(() => planCapacity(inputs, unmeasured)).toThrow(/no PostgreSQL CPU per uncached read/);
    const lost = { ...bench, runs: { ...bench.runs, productUncached: { ...run(2000), cpuUsPerRequest: { server: 1, postgres: null, loadGenerator: 1 } } } };
    expect(() => planCapacity(inputs, lost)).toThrow(/no PostgreSQL CPU per uncached read/);
  });

  it('tells the vCPUs of an instance class from its size', () => {
    expect([vcpusOf('r7g.large'), vcpusOf('r7g.xlarge'), vcpusOf('r7g.2xlarge'), vcpusOf('r6g.16xlarge'), vcpusOf('t4g.medium')]).toEqual([2, 4, 8, 64, 2]);
    expect(() => vcpusOf('r7g.metal')).toThrow(/cannot tell the vCPUs of instance class "r7g.metal"/);
  });

  it('prints prod fields that validateConfig accepts, for small and large peaks', () => {
    for (const peakRps of [100, 50_000, 1_000_000]) {
      const plan = planCapacity({ ...inputs, peakRps }, bench);
      const text = formatPlan(plan);
      // The printed fields themselves, merged into prod as a fork would.
      const printed = JSON.parse(text.slice(text.indexOf('{', text.indexOf('lib/config/prod.ts: replace'))));
      expect(printed).toEqual(JSON.parse(JSON.stringify(suggestedFields(plan))));
      expect(() => validateConfig({ ...prod, ...printed })).not.toThrow();
      expect(() => validateConfig(suggestedProdConfig(plan))).not.toThrow();
      // One sale minimum for every fleet (SaleEvent): no fleet's maximum is below it.
      const config = suggestedProdConfig(plan);
      for (const fleet of Object.values(config.fleets)) expect(fleet.maxCapacity).toBeGreaterThanOrEqual(config.saleEvents[0].minCapacity);
      expect(config.fleets.worker.backlogPerInstance).toBe(prod.fleets.worker.backlogPerInstance);
    }
  });

  it('lets CloudFront absorb product reads', () => {
    const withCdn = planCapacity({ ...inputs, cdnHitRatio: 0.5 }, bench);
    expect(withCdn.traffic.cdnAbsorbed).toBe(405_000);
    expect(withCdn.fleets.order).toBe(452 - 81);
  });

  it('keeps every fleet at the floor for a small peak', () => {
    const plan = planCapacity({ ...inputs, peakRps: 100, readRatio: 0.9 }, bench);
    expect(plan.fleets).toEqual({ order: 3, user: 3, payment: 3, worker: 3 });
    expect(plan.redis.shards).toBe(1);
    expect(plan.aurora.writerOk).toBe(true);
  });

  it('prints the assumptions and a prod config snippet', () => {
    const text = formatPlan(planCapacity(inputs, bench));
    expect(text).toMatch(/scaling factor 1/);
    expect(text).toMatch(/"saleEvents": \[/);
    expect(text).toMatch(/order fleet\s+452 x c7g\.large/);
  });
});

describe('parseCapacityArgs', () => {
  it('requires --peak-rps', () => {
    expect(() => parseCapacityArgs([])).toThrow(/--peak-rps is required/);
  });
  it('names a bad ratio', () => {
    expect(() => parseCapacityArgs(['--peak-rps', '1000', '--read-ratio', '1.5'])).toThrow(/--read-ratio must be a number from 0 to 1, got "1.5"/);
  });
  it('parses the issue example', () => {
    const { inputs } = parseCapacityArgs(['--peak-rps', '1000000', '--read-ratio', '0.9']);
    expect(inputs.peakRps).toBe(1_000_000);
    expect(inputs.readRatio).toBe(0.9);
  });
});
