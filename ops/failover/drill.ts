// A game-day drill: optional load running through it, a baseline, the failover followed to
// recovery, then a settle period, with load measured in each phase.
import type { Clock } from '../clock';
import type { LoadDuringDrill } from '../probe/http-probe';
import type { PhaseSummary } from '../probe/latency-summary';
import { followFailover, type FollowOptions, type RecoveryReport } from './follow-recovery';
import type { FailoverTarget } from './target';

export interface DrillOptions extends Omit<FollowOptions, 'onTriggered'> {
  readonly clock: Clock;
  /** Started before the baseline; undefined runs the drill without load. */
  readonly load?: () => LoadDuringDrill;
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
  const load = options.load?.();
  try {
    if (load) await options.clock.sleep(options.baselineMs);
    const recovery = await followFailover(target, { ...options, onTriggered: () => load?.setPhase('during') });
    if (load) {
      load.setPhase('after');
      await options.clock.sleep(options.settleMs);
    }
    return { recovery, load: await load?.stop() };
  } catch (error) {
    await load?.stop();
    throw error;
  }
}
