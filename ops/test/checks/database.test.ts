import '../support/fake-aws-env';
import { DescribeDBClustersCommand, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { databaseChecks } from '../../checks/database';
import {
  answerMetrics,
  awsError,
  checkContext,
  HEALTHY_CLUSTER,
  HEALTHY_METRICS,
  mockHealthyStack,
  mocks,
  READERS,
} from '../support/stack';

const row = async (check: string) => (await databaseChecks.run(checkContext())).find((r) => r.check === check)!;

beforeEach(mockHealthyStack);

test('an available cluster with two current readers passes', async () => {
  const rows = await databaseChecks.run(checkContext());
  expect(rows).toEqual([
    { check: 'database status', expected: 'available', found: 'available', verdict: 'pass' },
    { check: 'database readers', expected: '2', found: '2', verdict: 'pass' },
    { check: 'database readers available', expected: '2/2 available', found: '2/2 available', verdict: 'pass' },
    { check: 'database replica lag', expected: '< 1000 ms', found: '22 ms on surge-prod-db-reader-1', verdict: 'pass' },
  ]);
  expect(mocks.rds.commandCalls(DescribeDBInstancesCommand)[0].args[0].input).toEqual({
    Filters: [{ Name: 'db-cluster-id', Values: ['surge-prod-db'] }],
  });
});

test('a cluster that is failing over fails the status check', async () => {
  mocks.rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [{ ...HEALTHY_CLUSTER, Status: 'failing-over' }] });
  expect(await row('database status')).toMatchObject({ verdict: 'fail', found: 'failing-over' });
});

test('fewer readers than configured fails', async () => {
  mocks.rds.on(DescribeDBClustersCommand).resolves({
    DBClusters: [{ ...HEALTHY_CLUSTER, DBClusterMembers: HEALTHY_CLUSTER.DBClusterMembers.slice(0, 2) }],
  });
  expect(await row('database readers')).toMatchObject({ verdict: 'fail', expected: '2', found: '1' });
});

test('a reader that is not available fails, naming it and its status', async () => {
  mocks.rds.on(DescribeDBInstancesCommand).resolves({
    DBInstances: [
      { DBInstanceIdentifier: 'surge-prod-db-writer', DBInstanceStatus: 'available' },
      { DBInstanceIdentifier: READERS[0], DBInstanceStatus: 'available' },
      { DBInstanceIdentifier: READERS[1], DBInstanceStatus: 'rebooting' },
    ],
  });
  expect(await row('database readers available')).toMatchObject({
    verdict: 'fail',
    found: 'surge-prod-db-reader-2 rebooting',
  });
});

test('replica lag above the threshold fails', async () => {
  answerMetrics({ ...HEALTHY_METRICS, AuroraReplicaLag: { [READERS[0]]: [20], [READERS[1]]: [900, 2500, 40] } });
  expect(await row('database replica lag')).toMatchObject({
    verdict: 'fail',
    found: '2500 ms on surge-prod-db-reader-2',
  });
});

test('no replica lag datapoints fails', async () => {
  answerMetrics({ ...HEALTHY_METRICS, AuroraReplicaLag: {} });
  expect(await row('database replica lag')).toMatchObject({ verdict: 'fail', found: 'no datapoints in 15 min' });
});

test('access denied names rds:DescribeDBClusters', async () => {
  mocks.rds.on(DescribeDBClustersCommand).rejects(awsError('AccessDenied'));
  await expect(databaseChecks.run(checkContext())).rejects.toThrow('missing permission rds:DescribeDBClusters');
});

test('throttling on DescribeDBInstances names it', async () => {
  mocks.rds.on(DescribeDBInstancesCommand).rejects(awsError('Throttling'));
  await expect(databaseChecks.run(checkContext())).rejects.toThrow('AWS throttled rds:DescribeDBInstances');
});
