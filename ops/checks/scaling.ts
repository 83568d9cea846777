// Auto Scaling readiness for a sale: each fleet has a scheduled action named for the sale that
// raises its minimum to the configured capacity before the sale starts, and its maximum leaves room
// for that minimum and for the capacity plan.
import {
  DescribeAutoScalingGroupsCommand,
  DescribeScheduledActionsCommand,
  type AutoScalingGroup,
  type ScheduledUpdateGroupAction,
} from '@aws-sdk/client-auto-scaling';
import { FleetOutputs, type FleetName } from '../../lib/stack/outputs';
import { awsCall } from '../aws/errors';
import type { SaleWindow } from '../preflight/expectations';
import { result, type CheckContext, type CheckGroup, type CheckResult } from './check';

const FLEETS = Object.keys(FleetOutputs) as FleetName[];

export const scalingChecks: CheckGroup = {
  name: 'scaling',
  async run(context: CheckContext): Promise<CheckResult[]> {
    const { sale, capacityPlan } = context.expectations;
    const groupNames = new Map(FLEETS.map((fleet) => [fleet, context.outputs.get(FleetOutputs[fleet])]));
    const groups = await describeGroups(context, [...groupNames.values()]);

    const rows: CheckResult[] = [];
    for (const fleet of FLEETS) {
      const groupName = groupNames.get(fleet)!;
      const group = groups.get(groupName);
      if (group === undefined) {
        rows.push(result(`${fleet} fleet exists`, `Auto Scaling group ${groupName}`, 'not found', false));
        continue;
      }
      const saleMin = sale?.minCapacity[fleet];
      if (sale !== undefined && saleMin !== undefined) {
        rows.push(await prewarmRow(context, fleet, group, sale, saleMin));
      }
      const needed = Math.max(saleMin ?? 0, capacityPlan?.[fleet] ?? 0, group.MinSize ?? 0);
      rows.push(
        result(`${fleet} max capacity`, `>= ${needed}`, String(group.MaxSize ?? 'unknown'), (group.MaxSize ?? 0) >= needed),
      );
    }
    if (sale === undefined) {
      rows.unshift({ check: 'sale pre-warm', expected: '-', found: 'no sale named or upcoming', verdict: 'skip' });
    }
    return rows;
  },
};

async function describeGroups(context: CheckContext, names: string[]): Promise<Map<string, AutoScalingGroup>> {
  const response = await awsCall('autoscaling:DescribeAutoScalingGroups', () =>
    context.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: names })),
  );
  return new Map((response.AutoScalingGroups ?? []).map((g) => [g.AutoScalingGroupName ?? '', g]));
}

/**
 * The row saying whether `fleet` will have `saleMin` instances when `sale` starts: a scheduled
 * action named for the sale raises the minimum before the start, or (once that one-time action has
 * run and disappeared) the group's minimum already is that high.
 */
async function prewarmRow(
  context: CheckContext,
  fleet: FleetName,
  group: AutoScalingGroup,
  sale: SaleWindow,
  saleMin: number,
): Promise<CheckResult> {
  const check = `${fleet} pre-warm for ${sale.name}`;
  const expected = `min >= ${saleMin} before ${new Date(sale.start).toISOString()}`;
  if (context.now >= sale.end) {
    return result(check, expected, `sale ended ${new Date(sale.end).toISOString()}`, false);
  }
  const all = await scheduledActions(context, group.AutoScalingGroupName ?? '');
  const named = all.filter((action) => namedFor(action, sale.name));
  // Should CloudFormation ever shorten a generated name past the sale's, fall back to one-time
  // actions starting in the day before the sale.
  const byTime = named.length > 0 ? [] : all.filter((action) => startsInDayBefore(action, sale));
  const actions = [...named, ...byTime].map((action) => ({ min: action.MinSize, at: startOf(action) }));
  const prewarm = actions
    .filter((action) => action.at !== undefined && action.at < sale.start)
    .sort((a, b) => (b.min ?? 0) - (a.min ?? 0))[0];
  if (prewarm !== undefined) {
    const how = byTime.length > 0 ? ' (matched by start time)' : '';
    return result(check, expected, `min ${prewarm.min ?? 'unchanged'} at ${new Date(prewarm.at!).toISOString()}${how}`, (prewarm.min ?? 0) >= saleMin);
  }
  const liveMin = group.MinSize ?? 0;
  if (liveMin >= saleMin) {
    return result(check, expected, `min ${liveMin} now (pre-warm already applied)`, true);
  }
  if (actions.length === 0) {
    return result(check, expected, `no scheduled action named for ${sale.name}; min ${liveMin} now`, false);
  }
  const times = actions.map((a) => (a.at === undefined ? 'no start time' : new Date(a.at).toISOString()));
  return result(check, expected, `actions start at ${times.join(', ')}; min ${liveMin} now`, false);
}

async function scheduledActions(context: CheckContext, groupName: string): Promise<ScheduledUpdateGroupAction[]> {
  const actions: ScheduledUpdateGroupAction[] = [];
  let nextToken: string | undefined;
  do {
    const response = await awsCall('autoscaling:DescribeScheduledActions', () =>
      context.clients.autoScaling.send(
        new DescribeScheduledActionsCommand({ AutoScalingGroupName: groupName, NextToken: nextToken }),
      ),
    );
    actions.push(...(response.ScheduledUpdateGroupActions ?? []));
    nextToken = response.NextToken;
  } while (nextToken);
  return actions;
}

/**
 * CloudFormation names scheduled actions after the stack and the construct's logical ID, which
 * keeps only letters and digits; so an action belongs to a sale when its name, compared the same
 * way, contains the sale's name.
 */
export function namedFor(action: ScheduledUpdateGroupAction, saleName: string): boolean {
  const letters = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '');
  return letters(action.ScheduledActionName ?? '').includes(letters(saleName));
}

function startsInDayBefore(action: ScheduledUpdateGroupAction, sale: SaleWindow): boolean {
  const at = startOf(action);
  return action.Recurrence === undefined && at !== undefined && at < sale.start && at >= sale.start - 86_400_000;
}

/** When the action next runs (epoch ms); recurring actions report their next run as StartTime. */
function startOf(action: ScheduledUpdateGroupAction): number | undefined {
  const at = action.StartTime ?? action.Time;
  return at === undefined ? undefined : new Date(at).getTime();
}
