// `npm run capacity -- --peak-rps 1000000 --read-ratio 0.9`: a fleet plan for a peak, from the
// per-instance throughput `npm run bench` measured on this machine (perf/results/latest.json).
// Every assumption is a flag with a default and is printed with the plan; the output ends with the
// fields of lib/config/prod.ts to replace (fleets, a pre-warming sale event, Aurora, cache): a config
// that validateConfig accepts (`suggestedProdConfig`; the test runs the validator on it).
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { FleetName, SurgeConfig } from '../lib/config';
import { prod } from '../lib/config/prod';
import type { BenchResults } from './lib/bench-results';

export interface CapacityInputs {
  peakRps: number;
  /** Share of requests that are product reads (the rest are order placements). */
  readRatio: number;
  /** Share of product reads CloudFront answers from its edge cache (max-age=1 s). */
  cdnHitRatio: number;
  /** Share of reads that are catalog pages (uncached, straight to the Aurora readers). */
  listRatio: number;
  /** EC2 instance type the fleets run. */
  instanceType: string;
  /** Throughput of one such instance relative to this benchmark machine. */
  scalingFactor: number;
  /** Fraction of an instance's measured throughput planned for (headroom for spikes, AZ loss). */
  targetUtilization: number;
  /** Redis (Valkey) operations per second one shard is planned for. */
  redisOpsPerShard: number;
  /**
   * Orders per second one Aurora writer is planned for. Orders are written in batches (one transaction
   * and commit per batch), so this is bounded by the rows each order writes, not by commits.
   */
  writerTps: number;
  /** Instances per fleet never go below this (one per AZ). */
  minPerFleet: number;
  /** Minutes before a sale the fleets scale to the planned size. */
  prewarmMinutes: number;
  /** Aurora instance class of the writer and readers (without the db. prefix). */
  dbInstanceClass: string;
}

export const DEFAULT_INPUTS: Omit<CapacityInputs, 'peakRps' | 'readRatio'> = {
  cdnHitRatio: 0,
  listRatio: 0.1,
  instanceType: 'c7g.large',
  scalingFactor: 1,
  targetUtilization: 0.6,
  redisOpsPerShard: 100_000,
  writerTps: 20_000,
  minPerFleet: 3,
  prewarmMinutes: 45,
  dbInstanceClass: prod.database.instanceClass,
};

/**
 * vCPUs of an instance class from its size (large 2, xlarge 4, Nxlarge 4N): the rule of the current
 * general-purpose and memory-optimized families (r7g, r6g, m7g, t4g ...).
 */
export function vcpusOf(instanceClass: string): number {
  const size = instanceClass.split('.')[1] ?? '';
  if (size === 'medium') return 2;
  if (size === 'large') return 2;
  if (size === 'xlarge') return 4;
  const n = /^(\d+)xlarge$/.exec(size);
  if (n) return 4 * Number(n[1]);
  throw new Error(`cannot tell the vCPUs of instance class "${instanceClass}": pass one like r7g.large or r7g.2xlarge`);
}

export interface CapacityPlan {
  inputs: CapacityInputs;
  measured: {
    productReadsPerInstance: number;
    ordersPerInstance: number;
    /** Uncached reads one order-service instance answers (its own work per read). */
    uncachedReadsPerInstance: number;
    /** PostgreSQL CPU per uncached read, from the bench's database backends (run 3), in µs. */
    databaseUsPerRead: number;
    /** Reads one Aurora reader of dbInstanceClass answers: its vCPUs over databaseUsPerRead. */
    readsPerReader: number;
    workerSettledPerInstance: number;
    source: string;
  };
  traffic: { productReads: number; cdnAbsorbed: number; originReads: number; listReads: number; orders: number };
  fleets: { order: number; user: number; payment: number; worker: number };
  redis: { opsPerSecond: number; shards: number; replicasPerShard: number };
  aurora: { readers: number; writerTps: number; writerOk: boolean };
  sqs: { messagesPerSecond: number; apiCallsPerSecond: number };
  warnings: string[];
}

const ceil = (n: number) => Math.max(0, Math.ceil(n - 1e-9));

export function planCapacity(inputs: CapacityInputs, bench: BenchResults, source = 'perf/results/latest.json'): CapacityPlan {
  const per = (measured: number) => measured * inputs.scalingFactor * inputs.targetUtilization;
  const productReadsPerInstance = per(bench.runs.productCached.requestsPerSecond);
  const ordersPerInstance = per(bench.runs.orders.requestsPerSecond);
  const uncachedReadsPerInstance = per(bench.runs.productUncached.requestsPerSecond);
  // A reader's capacity is the database's, not a service process's: the CPU PostgreSQL spent per
  // uncached read in run 3 against the reader's vCPUs. (The scaling factor is the fleets' instance
  // type against this machine; a Graviton Aurora reader against this machine's PostgreSQL is assumed 1.)
  const databaseUsPerRead = bench.runs.productUncached.cpuUsPerRequest?.postgres;
  if (databaseUsPerRead === undefined || databaseUsPerRead === null || databaseUsPerRead <= 0) {
    throw new Error(`${source} has no PostgreSQL CPU per uncached read (run 3): run \`npm run bench\` for results that measure it`);
  }
  const readsPerReader = ((vcpusOf(inputs.dbInstanceClass) * 1_000_000) / databaseUsPerRead) * inputs.targetUtilization;
  const warnings: string[] = [];

  const reads = inputs.peakRps * inputs.readRatio;
  const orders = inputs.peakRps - reads;
  const listReads = reads * inputs.listRatio;
  const productReads = reads - listReads;
  const cdnAbsorbed = productReads * inputs.cdnHitRatio;
  const originReads = productReads - cdnAbsorbed + listReads;

  // The order fleet serves product reads and order placements; a list read costs about an uncached read.
  const orderFleet = ceil((productReads - cdnAbsorbed) / productReadsPerInstance + listReads / uncachedReadsPerInstance + orders / ordersPerInstance);
  // Every order is one order-placed and one payment-result message; the bench measured how many orders
  // per second one worker process settles (relay, charge, relay, settle).
  const workerSettledPerInstance = per(bench.ratios.workerSettledPerSecond || bench.runs.orders.requestsPerSecond);
  const workerFleet = ceil(orders / workerSettledPerInstance);
  // Logins and sign-ups are not benchmarked: sized at the floor, scaled by CPU target tracking.
  const userFleet = inputs.minPerFleet;
  const paymentFleet = inputs.minPerFleet;

  // Each origin request runs one token-bucket script (leases rarely help here: the ALB spreads a client's
  // requests over many instances). A cached product read costs Redis nothing: hot keys are answered from
  // each process's L1, reloaded from Redis about once a second per key and process.
  const redisOps = originReads + orders;
  const shards = Math.max(1, ceil(redisOps / inputs.redisOpsPerShard));
  // Catalog pages go to the readers uncached; each is assumed to cost the database what a product read does.
  const readers = Math.max(1, ceil(listReads / readsPerReader));
  if (readers > 15) {
    warnings.push(`catalog pages need ${readers} Aurora readers but a cluster has at most 15: cache catalog pages too (CloudFront max-age or Redis) or raise the reader instance class`);
  }
  const writerOk = orders <= inputs.writerTps;
  if (!writerOk) {
    warnings.push(
      `${Math.round(orders)} orders/s exceeds one Aurora writer (${inputs.writerTps} orders/s planned): queue orders (accept to SQS, reserve asynchronously) or split stock by product range across clusters`,
    );
  }
  if (shards > 1) {
    warnings.push('more than one Redis shard needs REDIS_CLUSTER=true in the services and cache.clusterMode: true in lib/config/prod.ts; a hot product key lives on one shard, but the in-process L1 asks it only about once a second per order-service process');
  }
  if (inputs.scalingFactor === 1) warnings.push(`scaling factor 1: a ${inputs.instanceType} is assumed to match this ${bench.machine.cores}-core benchmark machine; measure one and pass --scaling-factor`);
  const clamp = (n: number) => Math.max(inputs.minPerFleet, n);
  return {
    inputs,
    measured: { productReadsPerInstance, ordersPerInstance, uncachedReadsPerInstance, databaseUsPerRead, readsPerReader, workerSettledPerInstance, source },
    traffic: { productReads, cdnAbsorbed, originReads, listReads, orders },
    fleets: { order: clamp(orderFleet), user: userFleet, payment: paymentFleet, worker: clamp(workerFleet) },
    redis: { opsPerSecond: redisOps, shards, replicasPerShard: 2 },
    aurora: { readers: Math.min(15, readers), writerTps: orders, writerOk },
    sqs: { messagesPerSecond: orders * 2, apiCallsPerSecond: (orders * 2 * 3) / 10 },
    warnings,
  };
}

export function formatPlan(plan: CapacityPlan): string {
  const i = plan.inputs;
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  return `Capacity plan for ${n(i.peakRps)} requests/s at peak (${(i.readRatio * 100).toFixed(0)}% reads)

Assumptions (flags)
  instance type ${i.instanceType}, scaling factor ${i.scalingFactor} vs the benchmark machine (--instance-type, --scaling-factor)
  planned utilization ${i.targetUtilization} of measured throughput (--target-utilization)
  CloudFront answers ${i.cdnHitRatio * 100}% of product reads (--cdn-hit-ratio); ${i.listRatio * 100}% of reads are catalog pages (--list-ratio)
  ${n(i.redisOpsPerShard)} Redis ops/s per shard (--redis-ops-per-shard); ${n(i.writerTps)} orders/s per Aurora writer (--writer-tps)
  at least ${i.minPerFleet} instances per fleet (--min-per-fleet); pre-warm ${i.prewarmMinutes} min before a sale (--prewarm-minutes)
  Aurora instance class ${i.dbInstanceClass} (--db-instance-class)

Measured on this machine (${plan.measured.source}), per instance after factor and utilization
  cached product reads ${n(plan.measured.productReadsPerInstance)}/s, orders ${n(plan.measured.ordersPerInstance)}/s, orders settled by a worker ${n(plan.measured.workerSettledPerInstance)}/s, uncached reads ${n(plan.measured.uncachedReadsPerInstance)}/s
  an Aurora reader (${i.dbInstanceClass}, ${vcpusOf(i.dbInstanceClass)} vCPUs): ${n(plan.measured.readsPerReader)} reads/s, from ${plan.measured.databaseUsPerRead} us of PostgreSQL CPU per uncached read (run 3)

Traffic
  product reads ${n(plan.traffic.productReads)}/s (CloudFront ${n(plan.traffic.cdnAbsorbed)}/s), catalog pages ${n(plan.traffic.listReads)}/s, orders ${n(plan.traffic.orders)}/s

Plan
  order fleet      ${plan.fleets.order} x ${i.instanceType}
  user fleet       ${plan.fleets.user} (not benchmarked; CPU target tracking)
  payment fleet    ${plan.fleets.payment} (not benchmarked; low traffic)
  worker fleet     ${plan.fleets.worker}
  Redis (Valkey)   ${n(plan.redis.opsPerSecond)} ops/s -> ${plan.redis.shards} shard(s) x ${plan.redis.replicasPerShard} replicas
  Aurora           writer at ${n(plan.aurora.writerTps)} orders/s (${plan.aurora.writerOk ? 'within' : 'ABOVE'} plan), ${plan.aurora.readers} reader(s)
  SQS              ${n(plan.sqs.messagesPerSecond)} messages/s, ~${n(plan.sqs.apiCallsPerSecond)} API calls/s in batches of 10 (standard queues: no practical limit)
${plan.warnings.map((w) => `  warning: ${w}`).join('\n')}

lib/config/prod.ts: replace these fields (validateConfig accepts prod with them)
${JSON.stringify(suggestedFields(plan), null, 2)}
`;
}

/** Room above the planned size for a fleet's maximum: half again, at least two instances. */
const maxOf = (x: number) => Math.max(x + 2, Math.ceil(x * 1.5));

/**
 * The fields of lib/config/prod.ts the plan sets, each complete (the rest of prod stays as it is).
 * A sale event has one minCapacity for every fleet (SaleEvent in lib/config/types.ts): it is the order
 * fleet's planned size - the fleet that must be warm when the doors open - and every fleet's maximum
 * is at least that, so the user and payment fleets pre-warm to it too (the cost of one minimum for all
 * fleets); the worker fleet scales on from there with its queue backlog.
 */
export function suggestedFields(plan: CapacityPlan, base: SurgeConfig = prod): Pick<SurgeConfig, 'fleets' | 'saleEvents' | 'database' | 'cache'> {
  const saleMinimum = plan.fleets.order;
  const fleet = <F extends SurgeConfig['fleets'][FleetName]>(config: F, planned: number): F => ({
    ...config,
    instanceType: plan.inputs.instanceType,
    minCapacity: Math.max(config.minCapacity, plan.inputs.minPerFleet),
    maxCapacity: Math.max(maxOf(planned), saleMinimum),
  });
  return {
    fleets: {
      user: fleet(base.fleets.user, plan.fleets.user),
      order: fleet(base.fleets.order, plan.fleets.order),
      payment: fleet(base.fleets.payment, plan.fleets.payment),
      worker: fleet(base.fleets.worker, plan.fleets.worker),
    },
    saleEvents: [
      { name: 'flash-sale', start: '2027-11-26T05:00:00Z', end: '2027-11-27T08:00:00Z', minCapacity: saleMinimum, prewarmMinutes: plan.inputs.prewarmMinutes },
    ],
    database: { ...base.database, instanceClass: plan.inputs.dbInstanceClass, readers: plan.aurora.readers },
    cache: { ...base.cache, clusterMode: plan.redis.shards > 1, shards: plan.redis.shards, replicasPerShard: plan.redis.replicasPerShard },
  };
}

/** prod with the plan's fields: what a fork would deploy (validateConfig accepts it; the test checks). */
export function suggestedProdConfig(plan: CapacityPlan, base: SurgeConfig = prod): SurgeConfig {
  return { ...base, ...suggestedFields(plan, base) };
}

function numberFlag(value: string | undefined, name: string, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got "${value}"`);
  return n;
}

export function parseCapacityArgs(argv: string[]): { inputs: CapacityInputs; results: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      'peak-rps': { type: 'string' },
      'read-ratio': { type: 'string', default: '0.9' },
      'cdn-hit-ratio': { type: 'string', default: String(DEFAULT_INPUTS.cdnHitRatio) },
      'list-ratio': { type: 'string', default: String(DEFAULT_INPUTS.listRatio) },
      'instance-type': { type: 'string', default: DEFAULT_INPUTS.instanceType },
      'scaling-factor': { type: 'string', default: String(DEFAULT_INPUTS.scalingFactor) },
      'target-utilization': { type: 'string', default: String(DEFAULT_INPUTS.targetUtilization) },
      'redis-ops-per-shard': { type: 'string', default: String(DEFAULT_INPUTS.redisOpsPerShard) },
      'writer-tps': { type: 'string', default: String(DEFAULT_INPUTS.writerTps) },
      'min-per-fleet': { type: 'string', default: String(DEFAULT_INPUTS.minPerFleet) },
      'prewarm-minutes': { type: 'string', default: String(DEFAULT_INPUTS.prewarmMinutes) },
      'db-instance-class': { type: 'string', default: DEFAULT_INPUTS.dbInstanceClass },
      results: { type: 'string', default: join(__dirname, 'results', 'latest.json') },
    },
  });
  if (values['peak-rps'] === undefined) throw new Error('--peak-rps is required (e.g. --peak-rps 1000000)');
  return {
    results: values.results!,
    inputs: {
      peakRps: numberFlag(values['peak-rps'], 'peak-rps', 1, 1e9),
      readRatio: numberFlag(values['read-ratio'], 'read-ratio', 0, 1),
      cdnHitRatio: numberFlag(values['cdn-hit-ratio'], 'cdn-hit-ratio', 0, 0.99),
      listRatio: numberFlag(values['list-ratio'], 'list-ratio', 0, 1),
      instanceType: values['instance-type']!,
      scalingFactor: numberFlag(values['scaling-factor'], 'scaling-factor', 0.01, 100),
      targetUtilization: numberFlag(values['target-utilization'], 'target-utilization', 0.05, 1),
      redisOpsPerShard: numberFlag(values['redis-ops-per-shard'], 'redis-ops-per-shard', 1, 1e8),
      writerTps: numberFlag(values['writer-tps'], 'writer-tps', 1, 1e8),
      minPerFleet: numberFlag(values['min-per-fleet'], 'min-per-fleet', 1, 100),
      prewarmMinutes: numberFlag(values['prewarm-minutes'], 'prewarm-minutes', 0, 1440),
      dbInstanceClass: values['db-instance-class']!,
    },
  };
}

if (require.main === module) {
  try {
    const { inputs, results } = parseCapacityArgs(process.argv.slice(2));
    const bench = JSON.parse(readFileSync(results, 'utf8')) as BenchResults;
    // Printed relative to the repository: the plan is pasted into docs, which never hold a machine path.
    console.log(formatPlan(planCapacity(inputs, bench, relative(join(__dirname, '..'), results))));
  } catch (err) {
    console.error(`capacity: ${(err as Error).message}`);
    process.exit(1);
  }
}
