// What the preflight compares the deployed stack against: the environment's configured sizes plus
// the operational thresholds that say "ready for a sale".
import type { FleetName } from '../../lib/stack/outputs';

/** A planned sale the fleets must be pre-warmed for. */
export interface SaleWindow {
  readonly name: string;
  /** Epoch milliseconds. */
  readonly start: number;
  readonly end: number;
  /** Minimum in-service instances per fleet during the sale; fleets not listed are not scheduled. */
  readonly minCapacity: Partial<Record<FleetName, number>>;
}

export interface PreflightExpectations {
  readonly cache: {
    readonly shards: number;
    readonly replicasPerShard: number;
    /** Highest acceptable DatabaseMemoryUsagePercentage on any node over the metric window. */
    readonly maxMemoryUsedPercent: number;
  };
  readonly database: {
    readonly readers: number;
    /** Highest acceptable AuroraReplicaLag (milliseconds) on any reader over the metric window. */
    readonly maxReplicaLagMs: number;
  };
  readonly queues: {
    /** Highest acceptable ApproximateAgeOfOldestMessage (seconds) on a main queue. */
    readonly maxOldestMessageAgeSeconds: number;
  };
  /** The sale to check scheduled actions for; undefined skips those checks. */
  readonly sale?: SaleWindow;
  /** Peak instances per fleet from a capacity plan; max capacity must cover it. */
  readonly capacityPlan?: Partial<Record<FleetName, number>>;
  readonly firewall: {
    /** The per-IP rate-based rule's limit (requests per evaluation window). */
    readonly rateLimit: number;
    /** The rule's evaluation window in seconds. */
    readonly evaluationWindowSeconds: number;
  };
  /** How far back CloudWatch metrics are read, in minutes. */
  readonly metricWindowMinutes: number;
}

/** Thresholds used when the environment's config does not set them. */
export const DEFAULT_THRESHOLDS = {
  maxMemoryUsedPercent: 75,
  maxReplicaLagMs: 1000,
  maxOldestMessageAgeSeconds: 300,
  metricWindowMinutes: 15,
} as const;
