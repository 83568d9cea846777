// Failover drill target: an Aurora cluster, failed over with FailoverDBCluster (a reader is promoted
// to writer; the cluster endpoint moves to it).
import { DescribeDBClustersCommand, DescribeEventsCommand, FailoverDBClusterCommand } from '@aws-sdk/client-rds';
import type { AwsClients } from '../aws/clients';
import { awsCall, OpsError } from '../aws/errors';
import type { FailoverTarget, Observation, TargetEvent } from './target';

export function auroraFailoverTarget(clients: Pick<AwsClients, 'rds'>, clusterId: string): FailoverTarget {
  return {
    description: `Aurora cluster ${clusterId}`,
    action: 'rds:FailoverDBCluster',

    async observe(): Promise<Observation> {
      const response = await awsCall('rds:DescribeDBClusters', () =>
        clients.rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: clusterId })),
      );
      const cluster = response.DBClusters?.[0];
      if (cluster === undefined) throw new OpsError(`Aurora cluster ${clusterId} not found`);
      const writer = cluster.DBClusterMembers?.find((m) => m.IsClusterWriter)?.DBInstanceIdentifier;
      return { status: cluster.Status ?? 'unknown', healthy: cluster.Status === 'available', primary: writer };
    },

    async trigger() {
      await awsCall('rds:FailoverDBCluster', () =>
        clients.rds.send(new FailoverDBClusterCommand({ DBClusterIdentifier: clusterId })),
      );
    },

    async eventsSince(since: number): Promise<TargetEvent[]> {
      const response = await awsCall('rds:DescribeEvents', () =>
        clients.rds.send(
          new DescribeEventsCommand({ SourceType: 'db-cluster', SourceIdentifier: clusterId, StartTime: new Date(since) }),
        ),
      );
      return (response.Events ?? [])
        .map((e) => ({ at: new Date(e.Date ?? 0).getTime(), message: e.Message ?? '' }))
        .sort((a, b) => a.at - b.at);
    },

    isCompletion: (event) => /completed failover/i.test(event.message),
  };
}
