// Triggers a failover and follows the target until it is healthy on a new primary, or time runs out.
import type { Clock } from '../clock';
import { OpsError } from '../aws/errors';
import type { FailoverTarget, Observation, TargetEvent } from './target';

export interface FollowOptions {
  readonly clock: Clock;
  /** Time between looks at the target; also the resolution of the measured recovery time. */
  readonly pollIntervalMs: number;
  /** Give up (and report not recovered) after this long. */
  readonly timeoutMs: number;
  /** Called once per new event and once per change of status, as they are seen. */
  readonly onEvent?: (event: TargetEvent) => void;
  readonly onStatus?: (observation: Observation) => void;
  /** Called right after the failover was triggered, e.g. to switch a load probe's phase. */
  readonly onTriggered?: () => void;
}

export interface RecoveryReport {
  readonly recovered: boolean;
  /** From the trigger to the first look that saw recovery (or to the timeout). */
  readonly elapsedMs: number;
  readonly primaryBefore?: string;
  readonly primaryAfter?: string;
  readonly events: readonly TargetEvent[];
}

/** Event timestamps come from AWS's clock; read a little before our trigger time to allow for skew. */
const CLOCK_SKEW_MS = 60_000;

export async function followFailover(target: FailoverTarget, options: FollowOptions): Promise<RecoveryReport> {
  const { clock } = options;
  const before = await target.observe();
  if (!before.healthy) {
    throw new OpsError(`refusing to fail over ${target.description}: it is ${before.status}, not healthy`, 1);
  }
  const startedAt = clock.now();
  await target.trigger();
  options.onTriggered?.();

  const seen = new Set<string>();
  const events: TargetEvent[] = [];
  let lastStatus = before.status;
  let latest = before;
  while (clock.now() - startedAt < options.timeoutMs) {
    await clock.sleep(options.pollIntervalMs);
    for (const event of await target.eventsSince(startedAt - CLOCK_SKEW_MS)) {
      const key = `${event.at} ${event.message}`;
      if (seen.has(key) || event.at < startedAt - CLOCK_SKEW_MS) continue;
      seen.add(key);
      events.push(event);
      options.onEvent?.(event);
    }
    latest = await target.observe();
    if (latest.status !== lastStatus) {
      lastStatus = latest.status;
      options.onStatus?.(latest);
    }
    const switched = before.primary !== undefined && latest.primary !== undefined && latest.primary !== before.primary;
    const completed = events.some((e) => target.isCompletion(e));
    if (latest.healthy && (switched || completed)) {
      return { recovered: true, elapsedMs: clock.now() - startedAt, primaryBefore: before.primary, primaryAfter: latest.primary, events };
    }
  }
  return { recovered: false, elapsedMs: clock.now() - startedAt, primaryBefore: before.primary, primaryAfter: latest.primary, events };
}
