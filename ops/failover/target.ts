// What a failover drill needs from the thing it fails over: look at it, trigger the failover, read
// its event log. ElastiCache and Aurora each implement this in their own file.

/** One look at the target. */
export interface Observation {
  /** Human-readable state, e.g. `available` or `failing-over`. */
  readonly status: string;
  /** Serving normally: the drill ends when the target is healthy again after switching primaries. */
  readonly healthy: boolean;
  /** The node or instance currently taking writes, when the service says. */
  readonly primary?: string;
}

export interface TargetEvent {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly message: string;
}

export interface FailoverTarget {
  /** E.g. `ElastiCache replication group surge-prod-cache`. */
  readonly description: string;
  /** The IAM action trigger() calls, for the confirmation prompt and messages. */
  readonly action: string;
  observe(): Promise<Observation>;
  trigger(): Promise<void>;
  /** The target's events since `since` (epoch ms), oldest first. */
  eventsSince(since: number): Promise<TargetEvent[]>;
  /** True for the event the service logs when the failover has completed. */
  isCompletion(event: TargetEvent): boolean;
}
