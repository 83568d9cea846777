// Reads a capacity plan file: peak instances per fleet, e.g. {"order": 24, "payment": 16}.
import { readFileSync } from 'node:fs';
import { FLEET_NAMES, type FleetName } from '../../lib/config';
import { UsageError } from '../cli/usage-error';

export function readCapacityPlan(path: string): Partial<Record<FleetName, number>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read capacity plan ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`capacity plan ${path} must be a JSON object of fleet -> instances`);
  }
  const plan: Partial<Record<FleetName, number>> = {};
  for (const [fleet, instances] of Object.entries(parsed)) {
    if (!(FLEET_NAMES as readonly string[]).includes(fleet)) {
      throw new UsageError(`capacity plan ${path}: unknown fleet ${JSON.stringify(fleet)} (fleets: ${FLEET_NAMES.join(', ')})`);
    }
    if (!Number.isInteger(instances) || (instances as number) < 0) {
      throw new UsageError(`capacity plan ${path}: ${fleet} must be a whole number of instances, got ${JSON.stringify(instances)}`);
    }
    plan[fleet as FleetName] = instances as number;
  }
  return plan;
}
