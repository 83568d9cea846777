// Failover scenarios for tests: ElastiCache and Aurora answering, on a fake clock, the way they do
// during a failover that recovers after a given number of seconds.
import {
  DescribeEventsCommand as DescribeCacheEventsCommand,
  DescribeReplicationGroupsCommand,
  TestFailoverCommand,
} from '@aws-sdk/client-elasticache';
import { DescribeDBClustersCommand, DescribeEventsCommand, FailoverDBClusterCommand } from '@aws-sdk/client-rds';
import type { Clock } from '../../clock';
import { HEALTHY_CLUSTER, HEALTHY_REPLICATION_GROUP, mocks } from './stack';

export function redisGroup(status: string, primary: string) {
  return {
    ...HEALTHY_REPLICATION_GROUP,
    Status: status,
    NodeGroups: [
      {
        NodeGroupId: '0001',
        Status: status,
        NodeGroupMembers: [
          { CacheClusterId: 'surge-prod-cache-0001-001', CurrentRole: primary === '001' ? 'primary' : 'replica' },
          { CacheClusterId: 'surge-prod-cache-0001-002', CurrentRole: primary === '002' ? 'primary' : 'replica' },
        ],
      },
      { NodeGroupId: '0002', Status: 'available' },
    ],
  };
}

export class FailoverScenario {
  private triggeredAt: number | undefined;
  private recoverAfter = 0;

  constructor(private readonly clock: Clock) {}

  /** True from the failover call until the target has recovered, by the scenario's clock. */
  inProgress(): boolean {
    const since = this.sinceTrigger();
    return since !== undefined && since < this.recoverAfter;
  }

  /** Seconds since the failover was triggered, on the fake clock; undefined before. */
  private sinceTrigger(): number | undefined {
    return this.triggeredAt === undefined ? undefined : (this.clock.now() - this.triggeredAt) / 1000;
  }

  /** A replication group that is modifying for `recoverAfter` seconds after TestFailover, then serves from 002. */
  redis(recoverAfter: number): void {
    this.recoverAfter = recoverAfter;
    mocks.elastiCache.on(TestFailoverCommand).callsFake(() => {
      this.triggeredAt = this.clock.now();
      return { ReplicationGroup: {} };
    });
    mocks.elastiCache.on(DescribeReplicationGroupsCommand).callsFake(() => {
      const since = this.sinceTrigger();
      const group =
        since === undefined ? redisGroup('available', '001') : since < recoverAfter ? redisGroup('modifying', '001') : redisGroup('available', '002');
      return { ReplicationGroups: [group] };
    });
    mocks.elastiCache.on(DescribeCacheEventsCommand).callsFake(() => {
      const since = this.sinceTrigger() ?? 0;
      const at = this.triggeredAt ?? this.clock.now();
      const events = [
        { SourceIdentifier: 'surge-prod-cache', Message: 'Test Failover API called for node group 0001', Date: new Date(at) },
        { SourceIdentifier: 'other-cache-0001-001', Message: 'Unrelated maintenance', Date: new Date(at) },
      ];
      if (since >= recoverAfter) {
        events.push({
          SourceIdentifier: 'surge-prod-cache',
          Message: 'Failover from primary node surge-prod-cache-0001-001 to replica node surge-prod-cache-0001-002 completed',
          Date: new Date(at + recoverAfter * 1000),
        });
      }
      return { Events: events };
    });
  }

  /** A cluster failing over for `recoverAfter` seconds after FailoverDBCluster, then written by reader-1. */
  aurora(recoverAfter: number): void {
    this.recoverAfter = recoverAfter;
    const members = (writer: string) =>
      ['surge-prod-db-writer', 'surge-prod-db-reader-1', 'surge-prod-db-reader-2'].map((id) => ({
        DBInstanceIdentifier: id,
        IsClusterWriter: id === writer,
      }));
    mocks.rds.on(FailoverDBClusterCommand).callsFake(() => {
      this.triggeredAt = this.clock.now();
      return { DBCluster: {} };
    });
    mocks.rds.on(DescribeDBClustersCommand).callsFake(() => {
      const since = this.sinceTrigger();
      if (since === undefined) return { DBClusters: [HEALTHY_CLUSTER] };
      if (since < recoverAfter) return { DBClusters: [{ ...HEALTHY_CLUSTER, Status: 'failing-over' }] };
      return { DBClusters: [{ ...HEALTHY_CLUSTER, DBClusterMembers: members('surge-prod-db-reader-1') }] };
    });
    mocks.rds.on(DescribeEventsCommand).callsFake(() => {
      const at = this.triggeredAt ?? this.clock.now();
      return {
        Events:
          (this.sinceTrigger() ?? 0) >= recoverAfter
            ? [{ Message: 'Completed failover to DB instance: surge-prod-db-reader-1', Date: new Date(at + recoverAfter * 1000) }]
            : [{ Message: 'Started cross AZ failover to DB instance: surge-prod-db-reader-1', Date: new Date(at) }],
      };
    });
  }
}
