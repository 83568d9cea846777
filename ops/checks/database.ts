// Aurora readiness: the cluster and every reader are available, the reader count matches the
// config, and replicas keep up with the writer.
import { DescribeDBClustersCommand, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { StackOutputs } from '../../lib/stack/outputs';
import { awsCall } from '../aws/errors';
import { highestSeries, readMetricSeries } from '../aws/metrics';
import { result, type CheckContext, type CheckGroup, type CheckResult } from './check';

export const databaseChecks: CheckGroup = {
  name: 'database',
  async run(context: CheckContext): Promise<CheckResult[]> {
    const { clients, expectations } = context;
    const clusterId = context.outputs.get(StackOutputs.databaseClusterIdentifier);
    const clusters = await awsCall('rds:DescribeDBClusters', () =>
      clients.rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: clusterId })),
    );
    const cluster = clusters.DBClusters?.[0];
    if (cluster === undefined) {
      return [result(`database ${clusterId} exists`, 'Aurora cluster', 'not found', false)];
    }
    const readerIds = (cluster.DBClusterMembers ?? [])
      .filter((member) => member.IsClusterWriter === false)
      .map((member) => member.DBInstanceIdentifier ?? 'unknown');

    const instances = await awsCall('rds:DescribeDBInstances', () =>
      clients.rds.send(
        new DescribeDBInstancesCommand({ Filters: [{ Name: 'db-cluster-id', Values: [clusterId] }] }),
      ),
    );
    const statusById = new Map(
      (instances.DBInstances ?? []).map((i) => [i.DBInstanceIdentifier ?? '', i.DBInstanceStatus ?? 'unknown']),
    );
    const unavailable = readerIds.filter((id) => statusById.get(id) !== 'available');

    const expectedReaders = expectations.database.readers;
    const rows = [
      result('database status', 'available', cluster.Status ?? 'unknown', cluster.Status === 'available'),
      result('database readers', String(expectedReaders), String(readerIds.length), readerIds.length === expectedReaders),
      result(
        'database readers available',
        `${readerIds.length}/${readerIds.length} available`,
        unavailable.length === 0
          ? `${readerIds.length}/${readerIds.length} available`
          : unavailable.map((id) => `${id} ${statusById.get(id) ?? 'missing'}`).join(', '),
        unavailable.length === 0,
      ),
    ];
    if (readerIds.length === 0) {
      return [...rows, { check: 'database replica lag', expected: '-', found: 'no readers', verdict: 'skip' }];
    }

    const lag = await readMetricSeries(
      clients.cloudWatch,
      readerIds.map((id) => ({
        key: id,
        namespace: 'AWS/RDS',
        metricName: 'AuroraReplicaLag',
        dimensions: { DBInstanceIdentifier: id },
        stat: 'Maximum' as const,
      })),
      { end: context.now, minutes: expectations.metricWindowMinutes },
    );
    const worst = highestSeries(lag);
    const limit = expectations.database.maxReplicaLagMs;
    rows.push(
      worst === undefined
        ? result('database replica lag', `< ${limit} ms`, `no datapoints in ${expectations.metricWindowMinutes} min`, false)
        : result('database replica lag', `< ${limit} ms`, `${Math.round(worst.value)} ms on ${worst.key}`, worst.value < limit),
    );
    return rows;
  },
};
