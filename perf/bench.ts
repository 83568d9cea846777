// `npm run bench [-- --duration 10s --connections 50]`: every benchmark of issue 5 in one run, side
// by side, on this machine, against real PostgreSQL and Redis with the load generator on the same
// cores. Writes perf/results/latest.json (read by `npm run capacity`) and docs/BENCHMARKS.md.
// Benchmarks are not tests: nothing here fails on a number.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { formatSummaries, median, parseDuration, round, runLoad, type LoadSummary } from './lib/load-run';
import {
  mintBuyerTokens,
  RAISED_LIMITS,
  readProcessCpu,
  serviceBundle,
  serviceEnv,
  startEngines,
  startServiceProcess,
  type Engines,
  type ServiceName,
  type ServiceProcess,
} from './lib/stack';
import { catalogIds, orderRequest, pick } from './scenarios';
import { BENCH_METHOD_VERSION, renderBenchmarksDoc } from './lib/bench-doc';
import type { BenchResults, BenchRun } from './lib/bench-results';
import { searchPathOption } from '../services/platform/ownership';
import { POOL_IDLE_TIMEOUT_MS } from '../services/platform/db';

const REPO = join(__dirname, '..');

export function cpuModel(): string {
  try {
    const out = execFileSync('lscpu', { encoding: 'utf8' });
    return /Model name:\s*(.+)/.exec(out)?.[1].trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

/**
 * CPU ms so far of each backend the running processes (`applications`, their PGAPPNAME) hold in the
 * bench's database. Backends of a process stopped just before, or of the bench's own bookkeeping
 * queries, may still be listed while they exit: they would read as backends lost mid-run.
 */
async function databaseBackendsCpuMs(databaseUrl: string, applications: string[]): Promise<Map<number, { cpuMs: number; idle: boolean }>> {
  const rows = await queryOnce<{ pid: number; state: string | null }>(
    databaseUrl,
    'SELECT pid, state FROM pg_stat_activity WHERE datname = current_database() AND application_name = ANY($1)',
    [applications],
  );
  const cpu = new Map<number, { cpuMs: number; idle: boolean }>();
  for (const { pid, state } of rows) {
    const proc = readProcessCpu(pid);
    if (proc) cpu.set(pid, { cpuMs: proc.cpuMs, idle: state === 'idle' });
  }
  return cpu;
}

/** Runs `work` and divides the CPU each party spent by the requests answered. */
async function measureCpu(serverPid: number, databaseUrl: string, applications: string[], work: () => Promise<LoadSummary>): Promise<BenchRun> {
  const cpuMs = (pid: number) => readProcessCpu(pid)?.cpuMs ?? 0;
  const backendsBefore = await databaseBackendsCpuMs(databaseUrl, applications);
  const server = cpuMs(serverPid);
  const self = process.cpuUsage();
  const started = Date.now();
  const summary = await work();
  const runMs = Date.now() - started;
  const own = process.cpuUsage(self);
  const serverUsed = cpuMs(serverPid) - server;
  const backendsAfter = await databaseBackendsCpuMs(databaseUrl, applications);
  // A backend gone since the start took its CPU time with it: no figure rather than one too low. Not
  // so one that was idle at the start of a run shorter than the services' pool idle timeout: it closed
  // for being idle that long (a service's reader pool during the write runs), so it did no work here.
  const idledOut = (before: { idle: boolean }) => before.idle && runMs < POOL_IDLE_TIMEOUT_MS;
  const lost = [...backendsBefore].some(([pid, before]) => !backendsAfter.has(pid) && !idledOut(before));
  let postgresUsed = 0;
  for (const [pid, after] of backendsAfter) postgresUsed += after.cpuMs - (backendsBefore.get(pid)?.cpuMs ?? 0);
  const perRequest = (ms: number) => (summary.requests > 0 ? Math.round((ms * 1000) / summary.requests) : 0);
  return {
    ...summary,
    cpuUsPerRequest: {
      server: perRequest(serverUsed),
      postgres: lost ? null : perRequest(postgresUsed),
      loadGenerator: perRequest((own.user + own.system) / 1000),
    },
  };
}

/**
 * The peak resident memory of each service (the kernel's VmHWM, read just before a process stops), the
 * largest per service name over all its processes.
 */
function peakRss() {
  const max: Record<string, number> = {};
  return {
    max,
    record(p: ServiceProcess) {
      if (SERVICES.includes(p.name)) max[p.name] = Math.max(max[p.name] ?? 0, p.peakRssMb());
    },
  };
}
const SERVICES = ['user', 'order', 'payment', 'worker'];

/** One statement on its own connection (the bench's few bookkeeping queries). */
async function queryOnce<R extends pg.QueryResultRow>(databaseUrl: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: databaseUrl, options: searchPathOption() });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function pendingOrders(databaseUrl: string): Promise<number> {
  const [{ n }] = await queryOnce<{ n: string }>(databaseUrl, "SELECT count(*) AS n FROM orders WHERE status = 'PENDING'");
  return Number(n);
}

/** Stock no run can sell out, on the order side (4b, 5) and the ceiling's alike (4a): a sold-out 409 is not the work measured. */
const BENCH_STOCK = 100_000_000;

async function stockUp(databaseUrl: string): Promise<void> {
  await queryOnce(databaseUrl, 'UPDATE products SET stock = $1', [BENCH_STOCK]);
}

/** Waits (bounded) until no order is PENDING, looking every `pollMs`; returns how many still are. */
async function waitForSettledOrders(databaseUrl: string, timeoutMs: number, pollMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = await pendingOrders(databaseUrl);
    if (pending === 0 || Date.now() > deadline) return pending;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * What ends each load run: a duration (`npm run bench`), or a number of requests (the smoke test,
 * which only checks that every run works: its runs end as soon as their requests are answered).
 */
export type RunBound =
  | { durationSeconds: number; requestsPerRun?: undefined }
  | {
      /** Requests per load run, at least `connections` (autocannon's `amount`). */
      requestsPerRun: number;
      durationSeconds?: undefined;
    };

export type BenchOptions = RunBound & {
  connections: number;
  products: number;
  /** Rounds of the interleaved pairs (ceiling / service); the median round's ratio counts. @default 3 */
  rounds?: number;
  /** Orders the worker's settle rate is measured on. @default 5000 */
  workerBacklog?: number;
  resultsFile: string;
  docFile?: string;
  progress: boolean;
  log?: (line: string) => void;
};

/**
 * Runs side by side work that is not measured (processes starting and stopping, fresh engines): no
 * load run is under way meanwhile. Every one has finished before the first failure is thrown, so the
 * cleanup sees every process that started.
 */
async function together<T extends unknown[]>(...work: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const outcomes = await Promise.allSettled(work);
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
  return outcomes.map((o) => (o as PromiseFulfilledResult<unknown>).value) as T;
}

/** How long the worker may take to settle the backlog its rate is measured on. */
const WORKER_DRAIN_LIMIT_MS = 90_000;

/**
 * How often the bench looks: whether a load run is over (autocannon's check interval, undefined for its
 * default of a second) and whether the worker's backlog is settled (a new connection each time). Runs
 * bounded by requests (the smoke test's check) look often: at autocannon's default a run of a few dozen
 * requests would take a second, and their backlog of a few dozen orders settles within a second or two.
 */
const MEASURING_PACE = { checkIntervalMs: undefined, settlePollMs: 250 };
const CHECKING_PACE = { checkIntervalMs: 20, settlePollMs: 50 };

/** The run with the median req/s of its rounds: the one the results table shows. */
const medianRun = (runs: BenchRun[]) => {
  const rps = median(runs.map((r) => r.requestsPerSecond));
  return runs.find((r) => r.requestsPerSecond === rps)!;
};

export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const log = options.log ?? ((line: string) => console.error(line));
  const rounds = options.rounds ?? 3;
  const requestsPerRun = options.requestsPerRun;
  if (requestsPerRun !== undefined && !(Number.isInteger(requestsPerRun) && requestsPerRun >= options.connections)) {
    throw new Error(`requestsPerRun must be a whole number of at least connections (${options.connections}), got ${requestsPerRun}`);
  }
  const pace = requestsPerRun === undefined ? MEASURING_PACE : CHECKING_PACE;
  // What ends a load run: its duration, or its requests answered.
  const runBound =
    requestsPerRun === undefined
      ? { durationSeconds: options.durationSeconds }
      : { durationSeconds: 0, amount: requestsPerRun, checkIntervalMs: pace.checkIntervalMs };
  const notes: string[] = [];
  // Other work on the same cores moves every figure; the load average says how busy the machine was.
  const loadAtStart = loadavg()[0].toFixed(2);
  const stacks: Engines[] = [];
  const running: ServiceProcess[] = [];
  const memory = peakRss();
  // The database each process uses: the CPU of its backends is measured per run.
  const databaseOf = new Map<ServiceProcess, string>();
  // Services run their production bundle (what the fleets run); the ceilings run from source.
  // The application_name (PGAPPNAME) each process's connections carry, so its backends can be told apart.
  const applicationOf = new Map<ServiceProcess, string>();
  let started = 0;
  const start = async (engines: Engines, name: string, extra: Record<string, string>, entry?: string, tag?: string) => {
    entry ??= serviceBundle(name as ServiceName);
    const application = `surge-bench-${name}-${++started}`;
    const p = await startServiceProcess(name, serviceEnv(engines, { ...RAISED_LIMITS, ...extra, PGAPPNAME: application }), { entry, tag });
    running.push(p);
    databaseOf.set(p, engines.databaseUrl);
    applicationOf.set(p, application);
    return p;
  };
  const stop = async (p: ServiceProcess) => {
    memory.record(p);
    await p.stop();
    const i = running.indexOf(p);
    if (i >= 0) running.splice(i, 1);
  };
  // Side by side: a service's drain keeps an idle keep-alive connection (the bench's own fetches) open
  // for a second (KEEP_ALIVE_DRAIN_MS in services/platform/server.ts), so one after another would
  // cost a second each.
  const stopAll = async (processes: ServiceProcess[] = [...running]) => {
    await together(...processes.map(stop));
  };
  const newEngines = async () => {
    const engines = await startEngines({ products: options.products });
    stacks.push(engines);
    await stockUp(engines.databaseUrl);
    return engines;
  };
  const load = (title: string, target: ServiceProcess, requests: Parameters<typeof runLoad>[0]['requests']) => {
    log(`bench: ${title}`);
    const applications = running.map((p) => applicationOf.get(p)!);
    return measureCpu(target.child.pid!, databaseOf.get(target)!, applications, () =>
      runLoad({ url: target.url, title, requests, connections: options.connections, ...runBound, progress: options.progress }),
    );
  };
  // Each ratio is measured in `rounds` rounds that alternate its two sides, so that a machine whose
  // speed drifts (this VM's does, by half within minutes) moves both sides alike.
  const roundTag = (i: number) => (rounds > 1 ? ` (round ${i + 1}/${rounds})` : '');
  try {
    const engines = await newEngines();
    const [order] = await together(start(engines, 'order', {}), start(engines, 'user', {}), start(engines, 'payment', {}));

    const ids = await catalogIds(order.url, options.products);
    const hot = ids[0];
    // The second read, so its headers are those of a cache hit (X-Cache: HIT) like the rest of run 2.
    await fetch(`${order.url}/api/products/${hot}`).then((r) => r.arrayBuffer());
    const productResponse = await fetch(`${order.url}/api/products/${hot}`);
    const productJson = await productResponse.text();
    const productPath = `/api/products/${hot}`;

    // 1b. not a target: node:http with the headers the service adds, to show what they cost both ends.
    const ceilingEntry = join(__dirname, 'targets', 'ceiling-http.ts');
    const serviceHeaders = Object.fromEntries(
      ['x-request-id', 'ratelimit-policy', 'ratelimit', 'x-cache', 'cache-control'].map((h) => [h, productResponse.headers.get(h) ?? '']),
    );
    const headed = await start(engines, 'ceiling-http', { CEILING_BODY: productJson, CEILING_HEADERS: JSON.stringify(serviceHeaders) }, ceilingEntry, 'ceiling-http-headers');
    const ceilingHttpHeaders = await load("1b node:http + the service's 5 extra headers", headed, [{ path: productPath }]);
    // It sends the service's X-Cache: HIT as fixed text; it has no cache, so there is no hit ratio to report.
    ceilingHttpHeaders.cache = { hits: 0, misses: 0, hitRatio: null };

    // 1. the ceiling: bare node:http with the same bytes; 2. GET /api/products/:id, cache hit, rate
    // limiting on (raised), logging on (info); 3. the same with the cache off (the order service's own
    // switch, PRODUCT_CACHE=off: every read goes to the reader pool). Interleaved, `rounds` times.
    const [ceiling, uncached] = await together(
      start(engines, 'ceiling-http', { CEILING_BODY: productJson }, ceilingEntry),
      start(engines, 'order-uncached', { PRODUCT_CACHE: 'off' }, serviceBundle('order')),
      stop(headed),
    );
    const reads: Array<{ ceiling: BenchRun; cached: BenchRun; uncached: BenchRun }> = [];
    for (let i = 0; i < rounds; i++) {
      reads.push({
        ceiling: await load(`1 node:http ceiling (same product JSON)${roundTag(i)}`, ceiling, [{ path: productPath }]),
        cached: await load(`2 GET /api/products/:id cached${roundTag(i)}`, order, [{ path: productPath }]),
        uncached: await load(`3 GET /api/products/:id cache off${roundTag(i)}`, uncached, [{ path: productPath }]),
      });
    }

    // 4. POST /api/orders against a raw single-statement transaction ceiling, interleaved.
    const pickProduct = () => pick(ids);
    const [txServer, buyers] = await together(
      start(engines, 'ceiling-tx', {}, join(__dirname, 'targets', 'ceiling-tx.ts')),
      mintBuyerTokens(500),
      stopAll([ceiling, uncached]),
    );
    const orderRequests = [orderRequest(buyers, pickProduct)];
    const writes: Array<{ tx: BenchRun; orders: BenchRun }> = [];
    for (let i = 0; i < rounds; i++) {
      writes.push({
        tx: await load(`4a raw single-statement tx ceiling${roundTag(i)}`, txServer, [
          { method: 'POST', path: '/', body: '{}', setup: (req) => ({ ...req, body: JSON.stringify({ items: [{ productId: pickProduct() }] }) }) },
        ]),
        // The worker fleet runs on its own instances on AWS: not running here, so the order service has the cores.
        orders: await load(`4b POST /api/orders (order service alone)${roundTag(i)}`, order, orderRequests),
      });
    }

    // 5. order acceptance while the worker charges, provider at 0 ms and at 500 ms: each on a fresh
    // stack, so that neither inherits the other's backlog (nor run 4b's). On the first, before the
    // worker starts, the worker's own throughput: how fast it settles a backlog of `workerBacklog`
    // orders (outbox relay -> payment worker -> outbox relay -> order worker).
    let workerSettledPerSecond = 0;
    const acceptance = async (latencyMs: string, title: string, measureWorker: boolean) => {
      // The fresh engines start while the processes of the run before stop.
      const [fresh] = await together(newEngines(), stopAll());
      const startWorker = () => start(fresh, 'worker', { PAYMENT_SANDBOX_LATENCY_MS: latencyMs });
      // Without a backlog to place first, the worker starts beside the order service.
      const [freshOrder] = measureWorker ? [await start(fresh, 'order', {})] : await together(start(fresh, 'order', {}), startWorker());
      const freshIds = await catalogIds(freshOrder.url, options.products);
      const requests = [orderRequest(buyers, () => pick(freshIds))];
      if (measureWorker) {
        await runLoad({
          url: freshOrder.url,
          title: 'worker backlog',
          requests,
          connections: options.connections,
          durationSeconds: 0,
          amount: options.workerBacklog ?? 5_000,
          // Not measured (the drain is, from the worker's start).
          checkIntervalMs: pace.checkIntervalMs,
          progress: false,
        });
        const backlog = await pendingOrders(fresh.databaseUrl);
        const drainStart = Date.now();
        await startWorker();
        const left = await waitForSettledOrders(fresh.databaseUrl, WORKER_DRAIN_LIMIT_MS, pace.settlePollMs);
        workerSettledPerSecond = round((backlog - left) / ((Date.now() - drainStart) / 1000), 0);
        if (left > 0) notes.push(`${left} of the worker's ${backlog}-order backlog were still PENDING after ${WORKER_DRAIN_LIMIT_MS / 1000} s.`);
      }
      return load(title, freshOrder, requests);
    };
    const ordersWithWorker = await acceptance('0', '5a POST /api/orders + worker (provider 0 ms)', true);
    const ordersSlowProvider = await acceptance('500', '5b POST /api/orders + worker (provider 500 ms)', false);
    await stopAll();

    if (requestsPerRun !== undefined) {
      notes.push(`Each load run was bounded by ${requestsPerRun} requests, not by a duration (settings.durationSeconds 0): a check that every run works, not a measurement.`);
    }
    notes.push(`Load average (1 min) ${loadAtStart} at the start, ${loadavg()[0].toFixed(2)} at the end, on ${cpus().length} cores.`);
    const ratio = (a: number, b: number) => (b > 0 ? round(a / b, 3) : 0);
    const roundRatios = {
      cachedVsCeiling: reads.map((r) => ratio(r.cached.requestsPerSecond, r.ceiling.requestsPerSecond)),
      cachedVsUncached: reads.map((r) => ratio(r.cached.requestsPerSecond, r.uncached.requestsPerSecond)),
      ordersVsTxCeiling: writes.map((w) => ratio(w.orders.requestsPerSecond, w.tx.requestsPerSecond)),
    };
    // durationSeconds 0 when the runs were bounded by requests; requestsPerRun only then.
    const settings: BenchResults['settings'] = {
      durationSeconds: runBound.durationSeconds,
      ...(requestsPerRun === undefined ? {} : { requestsPerRun }),
      connections: options.connections,
      products: options.products,
      rounds,
      workerBacklog: options.workerBacklog ?? 5_000,
    };
    const results: BenchResults = {
      methodVersion: BENCH_METHOD_VERSION,
      date: new Date().toISOString(),
      machine: { cpuModel: cpuModel(), cores: cpus().length, node: process.version, platform: `${process.platform} ${process.arch}` },
      settings,
      runs: {
        ceilingHttp: medianRun(reads.map((r) => r.ceiling)),
        ceilingHttpHeaders,
        productCached: medianRun(reads.map((r) => r.cached)),
        productUncached: medianRun(reads.map((r) => r.uncached)),
        txCeiling: medianRun(writes.map((w) => w.tx)),
        orders: medianRun(writes.map((w) => w.orders)),
        ordersWithWorker,
        ordersSlowProvider,
      },
      rounds: { reads, writes },
      ratios: {
        cachedVsCeiling: median(roundRatios.cachedVsCeiling),
        cachedVsUncached: median(roundRatios.cachedVsUncached),
        ordersVsTxCeiling: median(roundRatios.ordersVsTxCeiling),
        orderP99SlowVsFast: ratio(ordersSlowProvider.latencyMs.p99, ordersWithWorker.latencyMs.p99),
        workerSettledPerSecond,
      },
      roundRatios,
      rssMb: { ...memory.max },
      notes,
    };
    mkdirSync(dirname(options.resultsFile), { recursive: true });
    writeFileSync(options.resultsFile, `${JSON.stringify(results, null, 2)}\n`);
    if (options.docFile) writeFileSync(options.docFile, renderBenchmarksDoc(results));
    return results;
  } finally {
    for (const p of [...running].reverse()) await p.stop().catch(() => undefined);
    for (const engines of stacks.reverse()) await engines.stop();
  }
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '10s' },
      connections: { type: 'string', default: '50' },
      products: { type: 'string', default: '10000' },
      rounds: { type: 'string', default: '3' },
      out: { type: 'string', default: join(REPO, 'perf', 'results', 'latest.json') },
      doc: { type: 'string', default: join(REPO, 'docs', 'BENCHMARKS.md') },
      'no-doc': { type: 'boolean', default: false },
      // Re-render docs/BENCHMARKS.md from the results file, adding --note lines, without running anything.
      'doc-only': { type: 'boolean', default: false },
      note: { type: 'string', multiple: true, default: [] },
    },
  });
  if (values['doc-only']) {
    const saved = JSON.parse(readFileSync(values.out!, 'utf8')) as BenchResults;
    saved.notes = [...saved.notes, ...values.note!];
    // Rendered first: results of another bench method are refused before anything is written.
    const doc = renderBenchmarksDoc(saved);
    writeFileSync(values.out!, `${JSON.stringify(saved, null, 2)}\n`);
    writeFileSync(values.doc!, doc);
    return;
  }
  const results = await runBench({
    durationSeconds: parseDuration(values.duration!),
    connections: Number(values.connections),
    products: Number(values.products),
    rounds: Number(values.rounds),
    resultsFile: values.out!,
    docFile: values['no-doc'] ? undefined : values.doc,
    progress: process.stderr.isTTY === true,
  });
  console.log(formatSummaries(Object.values(results.runs)));
  console.log('\nratios', results.ratios);
  console.log('peak RSS (VmHWM) MB', results.rssMb);
  for (const note of results.notes) console.log(`note: ${note}`);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: Error) => {
      console.error(`bench: ${err.stack ?? err.message}`);
      process.exit(1);
    },
  );
}
