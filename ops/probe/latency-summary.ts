// Summarizes probe samples per drill phase: request count, error rate, p99 latency.

export type DrillPhase = 'before' | 'during' | 'after';

export interface ProbeSample {
  readonly phase: DrillPhase;
  readonly ok: boolean;
  readonly latencyMs: number;
}

export interface PhaseSummary {
  readonly phase: DrillPhase;
  readonly requests: number;
  readonly errors: number;
  /** errors / requests, 0 when there were no requests. */
  readonly errorRate: number;
  /** Nearest-rank 99th percentile of all requests' latency (errors included), undefined without requests. */
  readonly p99Ms: number | undefined;
}

export function summarizePhases(samples: readonly ProbeSample[]): PhaseSummary[] {
  return (['before', 'during', 'after'] as const).map((phase) => {
    const inPhase = samples.filter((s) => s.phase === phase);
    const errors = inPhase.filter((s) => !s.ok).length;
    return {
      phase,
      requests: inPhase.length,
      errors,
      errorRate: inPhase.length === 0 ? 0 : errors / inPhase.length,
      p99Ms: percentile(inPhase.map((s) => s.latencyMs), 99),
    };
  });
}

/** Nearest-rank percentile: the smallest value with at least p% of values at or below it. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}
