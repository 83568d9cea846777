// Summarizes what the load saw in each drill phase: requests, errors by kind, error rate, p50 and p99.

export type DrillPhase = 'before' | 'during' | 'after';

export interface PhaseSample {
  readonly phase: DrillPhase;
  /** Set when the request failed: its status code (`503`), `timeout` or the socket error's code. */
  readonly error?: string;
  /** Set when a response came back, whatever its status. */
  readonly latencyMs?: number;
}

export interface PhaseSummary {
  readonly phase: DrillPhase;
  readonly requests: number;
  readonly errors: number;
  /** errors / requests, 0 when there were no requests. */
  readonly errorRate: number;
  /** How many errors of each kind: status code, `timeout`, socket error code. */
  readonly errorKinds: Readonly<Record<string, number>>;
  /**
   * Nearest-rank percentiles of the responses' latency (error statuses included; a request that got
   * no response has no latency and shows only in the errors), undefined without responses.
   */
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
}

export function summarizePhases(samples: readonly PhaseSample[]): PhaseSummary[] {
  return (['before', 'during', 'after'] as const).map((phase) => {
    const inPhase = samples.filter((s) => s.phase === phase);
    const errorKinds: Record<string, number> = {};
    for (const { error } of inPhase) if (error !== undefined) errorKinds[error] = (errorKinds[error] ?? 0) + 1;
    const errors = Object.values(errorKinds).reduce((sum, n) => sum + n, 0);
    const latencies = inPhase.flatMap((s) => (s.latencyMs === undefined ? [] : [s.latencyMs]));
    return {
      phase,
      requests: inPhase.length,
      errors,
      errorRate: inPhase.length === 0 ? 0 : errors / inPhase.length,
      errorKinds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    };
  });
}

/** Nearest-rank percentile: the smallest value with at least p% of values at or below it. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}
