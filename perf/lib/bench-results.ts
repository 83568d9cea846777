// What `npm run bench` records (perf/results/*.json) and bench-doc.ts renders: one module both read,
// so neither imports the other.
import type { LoadSummary } from './load-run';

/**
 * CPU time per answered request during a run, in microseconds: the server under test, every
 * PostgreSQL process on the machine, and this process (autocannon). Steadier than req/s on shared cores.
 */
export interface CpuPerRequest {
  server: number;
  /**
   * The backends connected to the bench's database (not other databases' load on the shared server,
   * nor the server's background processes). null when one of them exited during the run: its CPU time
   * left with it, so any figure would be too low.
   */
  postgres: number | null;
  loadGenerator: number;
}


/** A run as the bench records it (results from before the CPU figures have none). */
export type BenchRun = LoadSummary & { cpuUsPerRequest?: CpuPerRequest };

export interface BenchResults {
  /** BENCH_METHOD_VERSION of the bench that made these results (absent: before versions were kept). */
  methodVersion?: number;
  date: string;
  machine: { cpuModel: string; cores: number; node: string; platform: string };
  /** durationSeconds 0 and requestsPerRun set: runs bounded by requests (the smoke test's check, not a measurement). */
  settings: { durationSeconds: number; requestsPerRun?: number; connections: number; products: number; rounds?: number; workerBacklog?: number };
  runs: {
    ceilingHttp: BenchRun;
    ceilingHttpHeaders: BenchRun;
    productCached: BenchRun;
    productUncached: BenchRun;
    txCeiling: BenchRun;
    orders: BenchRun;
    ordersWithWorker: BenchRun;
    ordersSlowProvider: BenchRun;
  };
  /** Every round of the interleaved runs (results from before the rounds have none). */
  rounds?: {
    reads: Array<{ ceiling: BenchRun; cached: BenchRun; uncached: BenchRun }>;
    writes: Array<{ tx: BenchRun; orders: BenchRun }>;
  };
  /** The ratios of each round; `ratios` holds their medians. */
  roundRatios?: { cachedVsCeiling: number[]; cachedVsUncached: number[]; ordersVsTxCeiling: number[] };
  ratios: {
    /** Medians over the rounds, like the two below. */
    cachedVsCeiling: number;
    cachedVsUncached: number;
    ordersVsTxCeiling: number;
    orderP99SlowVsFast: number;
    /** Orders that reached PAID/PAYMENT_FAILED per second while the worker drained run 4b's backlog. */
    workerSettledPerSecond: number;
  };
  /** Peak resident memory (VmHWM) per service, the largest of its processes, MB. */
  rssMb: Record<string, number>;
  notes: string[];
}
