// ElastiCache readiness: the replication group is available, highly available as configured, not
// mid-change, and has memory headroom for the sale's extra keys.
import { DescribeReplicationGroupsCommand, type PendingModifiedValues } from '@aws-sdk/client-elasticache';
import { StackOutputs } from '../../lib/stack/outputs';
import { awsCall } from '../aws/errors';
import { highestSeries, readMetricSeries } from '../aws/metrics';
import { result, type CheckContext, type CheckGroup, type CheckResult } from './check';

export const cacheChecks: CheckGroup = {
  name: 'cache',
  async run(context: CheckContext): Promise<CheckResult[]> {
    const { clients, expectations } = context;
    const groupId = context.outputs.get(StackOutputs.cacheReplicationGroupId);
    const response = await awsCall('elasticache:DescribeReplicationGroups', () =>
      clients.elastiCache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: groupId })),
    );
    const group = response.ReplicationGroups?.[0];
    if (group === undefined) {
      return [result(`cache ${groupId} exists`, 'replication group', 'not found', false)];
    }
    const shards = group.NodeGroups?.length ?? 0;
    const members = group.MemberClusters ?? [];
    // MemberClusters lists every node of every shard; each shard is one primary plus its replicas.
    const replicasPerShard = shards === 0 ? 0 : members.length / shards - 1;
    const pending = pendingChanges(group.PendingModifiedValues);

    const memory = await readMetricSeries(
      clients.cloudWatch,
      members.map((node) => ({
        key: node,
        namespace: 'AWS/ElastiCache',
        metricName: 'DatabaseMemoryUsagePercentage',
        dimensions: { CacheClusterId: node },
        stat: 'Maximum' as const,
      })),
      { end: context.now, minutes: expectations.metricWindowMinutes },
    );
    const busiest = highestSeries(memory);
    const limit = expectations.cache.maxMemoryUsedPercent;

    return [
      result('cache status', 'available', group.Status ?? 'unknown', group.Status === 'available'),
      result('cache multi-AZ', 'enabled', group.MultiAZ ?? 'unknown', group.MultiAZ === 'enabled'),
      result(
        'cache automatic failover',
        'enabled',
        group.AutomaticFailover ?? 'unknown',
        group.AutomaticFailover === 'enabled',
      ),
      result('cache shards', String(expectations.cache.shards), String(shards), shards === expectations.cache.shards),
      result(
        'cache replicas per shard',
        String(expectations.cache.replicasPerShard),
        String(replicasPerShard),
        replicasPerShard === expectations.cache.replicasPerShard,
      ),
      result('cache pending modifications', 'none', pending.length === 0 ? 'none' : pending.join(', '), pending.length === 0),
      busiest === undefined
        ? result('cache memory used', `< ${limit}%`, `no datapoints in ${expectations.metricWindowMinutes} min`, false)
        : result(
            'cache memory used',
            `< ${limit}%`,
            `${round(busiest.value)}% on ${busiest.key}`,
            busiest.value < limit,
          ),
    ];
  },
};

/** Names of the modifications ElastiCache has queued (fields set in PendingModifiedValues). */
function pendingChanges(values: PendingModifiedValues | undefined): string[] {
  return Object.entries(values ?? {})
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([name]) => name);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
