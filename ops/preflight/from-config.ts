// Maps an environment's typed config (lib/config) to what the preflight expects to find deployed.
import type { FleetName, SaleEvent, SurgeConfig } from '../../lib/config';
import { FLEET_NAMES } from '../../lib/config';
import { UsageError } from '../cli/usage-error';
import { DEFAULT_THRESHOLDS, type PreflightExpectations, type SaleWindow } from './expectations';

export interface ExpectationOptions {
  /** The sale to check; when undefined, the next sale that has not ended. */
  readonly saleName?: string;
  /** Epoch milliseconds, to pick the next sale. */
  readonly now: number;
  /** Peak instances per fleet from a capacity plan. */
  readonly capacityPlan?: Partial<Record<FleetName, number>>;
}

export function expectationsFromConfig(config: SurgeConfig, options: ExpectationOptions): PreflightExpectations {
  const sale = selectSale(config.saleEvents, options.saleName, options.now);
  return {
    cache: {
      shards: config.cache.shards,
      replicasPerShard: config.cache.replicasPerShard,
      maxMemoryUsedPercent: DEFAULT_THRESHOLDS.maxMemoryUsedPercent,
    },
    database: { readers: config.database.readers, maxReplicaLagMs: DEFAULT_THRESHOLDS.maxReplicaLagMs },
    // The same age the stack alarms on: a queue older than that is not ready for more traffic.
    queues: { maxOldestMessageAgeSeconds: config.queues.oldestMessageAlarmSeconds },
    sale: sale && saleWindow(sale),
    capacityPlan: options.capacityPlan,
    firewall: { rateLimit: config.waf.rateLimit, evaluationWindowSeconds: config.waf.evaluationWindowSeconds },
    metricWindowMinutes: DEFAULT_THRESHOLDS.metricWindowMinutes,
  };
}

/** The named sale, or the next one that has not ended; a name the config lacks is a usage error. */
export function selectSale(events: readonly SaleEvent[], saleName: string | undefined, now: number): SaleEvent | undefined {
  if (saleName !== undefined) {
    const named = events.find((e) => e.name === saleName);
    if (named === undefined) {
      const known = events.map((e) => e.name).join(', ') || 'none';
      throw new UsageError(`unknown sale ${JSON.stringify(saleName)}; the config lists: ${known}`);
    }
    return named;
  }
  return [...events]
    .filter((e) => Date.parse(e.end) > now)
    .sort((a, b) => Date.parse(a.start) - Date.parse(b.start))[0];
}

function saleWindow(event: SaleEvent): SaleWindow {
  // The config gives one minimum for every fleet during a sale.
  const minCapacity = Object.fromEntries(FLEET_NAMES.map((fleet) => [fleet, event.minCapacity]));
  return { name: event.name, start: Date.parse(event.start), end: Date.parse(event.end), minCapacity };
}
