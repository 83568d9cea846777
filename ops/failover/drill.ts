// A game-day drill: optional load running through it, a baseline, the failover followed to
// recovery, then a settle period, with load measured in each phase.
import type { Clock } from '../clock';
import type { DrillPhase, PhaseSummary } from '../probe/latency-summary';
import { followFailover, type FollowOptions, type RecoveryReport } from './follow-recovery';
import type { FailoverTarget } from './target';

/** What the drill needs from the load running through it. */
export interface LoadDuringDrill {
  /** Files every request that ends from now on under `phase`. */
  setPhase(phase: DrillPhase): void;
  /** Stops sending (requests still in flight are dropped) and summarizes each phase. */
  stop(): Promise<PhaseSummary[]>;
}

export interface DrillOptions extends Omit<FollowOptions, 'onTriggered'> {
  readonly clock: Clock;
  /** Already running, in phase `before`; stopped when the drill ends however it ends. Undefined: no load. */
  readonly load?: LoadDuringDrill;
  /** Load measured before triggering. */
  readonly baselineMs: number;
  /** Load measured after recovery. */
  readonly settleMs: number;
}

export interface DrillReport {
  readonly recovery: RecoveryReport;
  readonly load?: PhaseSummary[];
}

export async function runFailoverDrill(target: FailoverTarget, options: DrillOptions): Promise<DrillReport> {
  const { load } = options;
  try {
    if (load) await options.clock.sleep(options.baselineMs);
    const recovery = await followFailover(target, { ...options, onTriggered: () => load?.setPhase('during') });
    if (load) {
      load.setPhase('after');
      await options.clock.sleep(options.settleMs);
    }
    return { recovery, load: await load?.stop() };
  } catch (error) {
    await load?.stop().catch(() => undefined);
    throw error;
  }
}
