// The load during a failover drill: one of the load tool's scenarios (perf/scenarios.ts) run by its
// runner (perf/lib/load-run.ts) at a capped rate, each request's outcome filed under the drill phase
// in which it ended.
import { runLoad, type LoadRequest, type RequestOutcome } from '../../perf/lib/load-run';
import { prepareScenario, type ScenarioName } from '../../perf/scenarios';
import { OpsError } from '../aws/errors';
import type { LoadDuringDrill } from '../failover/drill';
import { summarizePhases, type DrillPhase, type PhaseSample } from './latency-summary';

/** flash-sale is left out: it sells one product out by design, which says nothing about a failover. */
export const DRILL_SCENARIOS = ['browse', 'checkout'] as const satisfies readonly ScenarioName[];
export type DrillScenario = (typeof DRILL_SCENARIOS)[number];

interface LoadLimits {
  /** Most connections open at once; autocannon opens no more than `ratePerSecond`. */
  readonly connections: number;
  /** Whole requests per second over all connections. */
  readonly ratePerSecond: number;
  /** The load stops by itself after this long even if stop() is never called. */
  readonly maxDurationMs: number;
  /** A request unanswered for this long counts as a `timeout` error. @default 10 */
  readonly timeoutSeconds?: number;
}

export interface DrillLoadOptions extends LoadLimits {
  /** Base URL of the site, e.g. the CloudFront distribution. */
  readonly url: string;
  readonly scenario: DrillScenario;
}

/** Prepares the scenario over the public API (product ids, buyers), then starts its load in phase `before`. */
export async function startScenarioLoad(options: DrillLoadOptions): Promise<LoadDuringDrill> {
  const prepared = await prepareScenario(options.scenario, { url: options.url }).catch((error: Error) => {
    throw new OpsError(`could not prepare the ${options.scenario} load against ${options.url}: ${error.message}`, 1);
  });
  return startPhasedLoad({ ...options, requests: prepared.requests, acceptedStatuses: prepared.acceptedStatuses });
}

export interface PhasedLoadOptions extends LoadLimits {
  readonly url: string;
  readonly requests: LoadRequest[];
  /** Statuses besides 2xx/3xx that are not errors (the scenario's). */
  readonly acceptedStatuses: readonly number[];
}

/** Starts the load now, in phase `before`; every request is judged and filed under the phase it ended in. */
export function startPhasedLoad(options: PhasedLoadOptions): LoadDuringDrill {
  const samples: PhaseSample[] = [];
  let phase: DrillPhase = 'before';
  const stopping = new AbortController();
  const run = runLoad({
    url: options.url,
    title: 'failover drill',
    requests: options.requests,
    connections: options.connections,
    ratePerSecond: options.ratePerSecond,
    durationSeconds: options.maxDurationMs / 1000,
    timeoutSeconds: options.timeoutSeconds,
    signal: stopping.signal,
    onOutcome: (outcome) => samples.push({ phase, ...judge(outcome, options.acceptedStatuses) }),
  });
  // A failed run is reported by stop(); until then it must not surface as an unhandled rejection.
  run.catch(() => undefined);
  return {
    setPhase(next) {
      phase = next;
    },
    async stop() {
      stopping.abort();
      await run;
      return summarizePhases(samples);
    },
  };
}

function judge(outcome: RequestOutcome, acceptedStatuses: readonly number[]): Omit<PhaseSample, 'phase'> {
  if ('error' in outcome) return { error: outcome.error };
  const ok = (outcome.status >= 200 && outcome.status < 400) || acceptedStatuses.includes(outcome.status);
  return ok ? { latencyMs: outcome.latencyMs } : { latencyMs: outcome.latencyMs, error: String(outcome.status) };
}
