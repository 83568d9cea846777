// Failover drill target: an ElastiCache replication group, failed over with TestFailover (which
// promotes a replica of one shard exactly as a real primary failure would).
import { DescribeEventsCommand, DescribeReplicationGroupsCommand, TestFailoverCommand } from '@aws-sdk/client-elasticache';
import type { AwsClients } from '../aws/clients';
import { awsCall, OpsError } from '../aws/errors';
import type { FailoverTarget, Observation, TargetEvent } from './target';

export function redisFailoverTarget(clients: Pick<AwsClients, 'elastiCache'>, groupId: string): FailoverTarget {
  const describe = async () => {
    const response = await awsCall('elasticache:DescribeReplicationGroups', () =>
      clients.elastiCache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: groupId })),
    );
    const group = response.ReplicationGroups?.[0];
    if (group === undefined) throw new OpsError(`replication group ${groupId} not found`);
    return group;
  };

  return {
    description: `ElastiCache replication group ${groupId}`,
    action: 'elasticache:TestFailover',

    async observe(): Promise<Observation> {
      const group = await describe();
      const shards = group.NodeGroups ?? [];
      const degraded = shards.filter((shard) => shard.Status !== 'available');
      // Only cluster-mode-disabled groups report member roles; cluster mode relies on the event log.
      const primary = shards[0]?.NodeGroupMembers?.find((m) => m.CurrentRole === 'primary')?.CacheClusterId;
      return {
        status: degraded.length === 0 ? `${group.Status}` : `${group.Status}, shard ${degraded.map((s) => `${s.NodeGroupId} ${s.Status}`).join(', ')}`,
        healthy: group.Status === 'available' && degraded.length === 0,
        primary,
      };
    },

    async trigger() {
      // TestFailover acts on one shard; the first is as representative as any.
      const shard = (await describe()).NodeGroups?.[0]?.NodeGroupId;
      if (shard === undefined) throw new OpsError(`replication group ${groupId} reports no shards`);
      await awsCall('elasticache:TestFailover', () =>
        clients.elastiCache.send(new TestFailoverCommand({ ReplicationGroupId: groupId, NodeGroupId: shard })),
      );
    },

    async eventsSince(since: number): Promise<TargetEvent[]> {
      // Failover events are logged against the group and against its member nodes, whose IDs start
      // with the group's; so read all recent events and keep those.
      const response = await awsCall('elasticache:DescribeEvents', () =>
        clients.elastiCache.send(new DescribeEventsCommand({ StartTime: new Date(since), MaxRecords: 100 })),
      );
      return (response.Events ?? [])
        .filter((e) => (e.SourceIdentifier ?? '').startsWith(groupId))
        .map((e) => ({ at: new Date(e.Date ?? 0).getTime(), message: `${e.SourceIdentifier}: ${e.Message ?? ''}` }))
        .sort((a, b) => a.at - b.at);
    },

    isCompletion: (event) => /failover .*complete/i.test(event.message),
  };
}
