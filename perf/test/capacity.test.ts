// The capacity plan's arithmetic on a fixed, synthetic benchmark result, and its flag validation.
import type { BenchResults } from '../bench';
import { DEFAULT_INPUTS, formatPlan, parseCapacityArgs, planCapacity } from '../capacity';
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
    productUncached: run(2000),
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
    expect(plan.aurora.readers).toBe(15); // 90 needed, capped at Aurora's 15 replicas
    expect(plan.aurora.writerOk).toBe(false);
    expect(plan.warnings.join('\n')).toMatch(/exceeds one Aurora writer/);
    expect(plan.warnings.join('\n')).toMatch(/need 90 Aurora readers but a cluster has at most 15/);
    // One token-bucket script per origin request (900k reads + 100k orders); cached product reads come
    // from each process's L1, not Redis.
    expect(plan.redis.opsPerSecond).toBe(1_000_000);
    expect(plan.redis.shards).toBe(10);
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
    expect(text).toMatch(/saleEvents: \[/);
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
