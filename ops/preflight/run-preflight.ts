// Runs every check group against the deployed stack and collects one table of results. Groups run
// concurrently; a group whose queries fail becomes a failing row saying why, so one missing
// permission does not hide the other answers.
import { cacheChecks } from '../checks/cache';
import type { CheckContext, CheckGroup, CheckResult } from '../checks/check';
import { databaseChecks } from '../checks/database';
import { edgeChecks } from '../checks/edge';
import { firewallChecks } from '../checks/firewall';
import { queueChecks } from '../checks/queues';
import { scalingChecks } from '../checks/scaling';
import { errorCode, OpsError } from '../aws/errors';

export const CHECK_GROUPS: readonly CheckGroup[] = [
  cacheChecks,
  databaseChecks,
  queueChecks,
  scalingChecks,
  edgeChecks,
  firewallChecks,
];

/** Told which groups are still running each time one finishes (and once at the start). */
export type PreflightProgress = (pending: readonly string[], done: number, total: number) => void;

export async function runPreflight(
  context: CheckContext,
  onProgress: PreflightProgress = () => {},
  groups: readonly CheckGroup[] = CHECK_GROUPS,
): Promise<CheckResult[]> {
  const pending = new Set(groups.map((g) => g.name));
  onProgress([...pending], 0, groups.length);
  const perGroup = await Promise.all(
    groups.map(async (group) => {
      const rows = await group.run(context).catch((error: unknown) => [failedGroup(group.name, error)]);
      pending.delete(group.name);
      onProgress([...pending], groups.length - pending.size, groups.length);
      return rows;
    }),
  );
  return perGroup.flat();
}

export function allPassed(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.verdict !== 'fail');
}

function failedGroup(name: string, error: unknown): CheckResult {
  const message = error instanceof OpsError ? error.message : `${errorCode(error)}: ${(error as Error)?.message ?? String(error)}`;
  return { check: `${name} checks`, expected: 'AWS queries succeed', found: message, verdict: 'fail' };
}
