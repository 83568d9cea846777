// A small built-in HTTP load probe for failover drills: GETs one URL at a fixed rate for a bounded
// time and records each response's status and latency under the drill's current phase. It is a
// stand-in: the benchmarks issue's load tool can replace it through the LoadDuringDrill interface.
import { summarizePhases, type DrillPhase, type PhaseSummary, type ProbeSample } from './latency-summary';

/** What the drill needs from a load generator. */
export interface LoadDuringDrill {
  setPhase(phase: DrillPhase): void;
  /** Stops sending, waits for requests in flight, and summarizes each phase. */
  stop(): Promise<PhaseSummary[]>;
}

export interface HttpProbeOptions {
  readonly url: string;
  /** Requests started per second, whatever the responses' latency (open model). */
  readonly ratePerSecond: number;
  /** A request slower than this counts as an error. */
  readonly requestTimeoutMs: number;
  /** The probe stops by itself after this long even if stop() is never called. */
  readonly maxDurationMs: number;
}

/** Starts probing immediately, in phase `before`. A response is ok when its status is below 500. */
export function startHttpProbe(options: HttpProbeOptions): LoadDuringDrill {
  const samples: ProbeSample[] = [];
  const inFlight = new Set<Promise<void>>();
  let phase: DrillPhase = 'before';

  const fire = () => {
    const requestPhase = phase;
    const started = performance.now();
    const request = fetch(options.url, { signal: AbortSignal.timeout(options.requestTimeoutMs) })
      .then(async (response) => {
        await response.arrayBuffer();
        return response.status < 500;
      })
      .catch(() => false)
      .then((ok) => {
        samples.push({ phase: requestPhase, ok, latencyMs: performance.now() - started });
      });
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  };

  const ticker = setInterval(fire, 1000 / options.ratePerSecond);
  const deadline = setTimeout(() => clearInterval(ticker), options.maxDurationMs);
  fire();

  return {
    setPhase(next) {
      phase = next;
    },
    async stop() {
      clearInterval(ticker);
      clearTimeout(deadline);
      await Promise.all([...inFlight]);
      return summarizePhases(samples);
    },
  };
}
