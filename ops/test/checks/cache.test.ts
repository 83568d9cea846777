import '../support/fake-aws-env';
import { DescribeReplicationGroupsCommand } from '@aws-sdk/client-elasticache';
import { cacheChecks } from '../../checks/cache';
import {
  answerMetrics,
  awsError,
  CACHE_NODES,
  checkContext,
  HEALTHY_METRICS,
  HEALTHY_REPLICATION_GROUP,
  mockHealthyStack,
  mocks,
} from '../support/stack';

const row = async (check: string) => (await cacheChecks.run(checkContext())).find((r) => r.check === check)!;

beforeEach(mockHealthyStack);

test('a healthy replication group passes every cache check', async () => {
  const rows = await cacheChecks.run(checkContext());
  expect(rows.map((r) => [r.check, r.verdict])).toEqual([
    ['cache status', 'pass'],
    ['cache multi-AZ', 'pass'],
    ['cache automatic failover', 'pass'],
    ['cache shards', 'pass'],
    ['cache replicas per shard', 'pass'],
    ['cache pending modifications', 'pass'],
    ['cache memory used', 'pass'],
  ]);
  expect(rows.find((r) => r.check === 'cache memory used')!.found).toBe('42% on surge-prod-cache-001');
  expect(mocks.elastiCache.commandCalls(DescribeReplicationGroupsCommand)[0].args[0].input).toEqual({
    ReplicationGroupId: 'surge-prod-cache',
  });
});

test.each([
  ['cache status', { Status: 'modifying' }, 'modifying'],
  ['cache multi-AZ', { MultiAZ: 'disabled' }, 'disabled'],
  ['cache automatic failover', { AutomaticFailover: 'disabling' }, 'disabling'],
  ['cache shards', { NodeGroups: [{ NodeGroupId: '0001' }, { NodeGroupId: '0002' }], MemberClusters: [...CACHE_NODES, 'surge-prod-cache-004', 'surge-prod-cache-005', 'surge-prod-cache-006'] }, '2'],
  ['cache replicas per shard', { MemberClusters: CACHE_NODES.slice(0, 2) }, '1'],
  ['cache pending modifications', { PendingModifiedValues: { AutomaticFailoverStatus: 'disabled' } }, 'AutomaticFailoverStatus'],
])('%s fails when the group reports %j', async (check, change, found) => {
  mocks.elastiCache
    .on(DescribeReplicationGroupsCommand)
    .resolves({ ReplicationGroups: [{ ...HEALTHY_REPLICATION_GROUP, ...change } as never] });
  const failed = await row(check);
  expect(failed).toMatchObject({ verdict: 'fail', found });
});

test('memory above the threshold on any one node fails', async () => {
  answerMetrics({
    ...HEALTHY_METRICS,
    DatabaseMemoryUsagePercentage: { ...HEALTHY_METRICS.DatabaseMemoryUsagePercentage, [CACHE_NODES[2]]: [60, 81.26, 70] },
  });
  expect(await row('cache memory used')).toMatchObject({
    verdict: 'fail',
    expected: '< 75%',
    found: '81.3% on surge-prod-cache-003',
  });
});

test('no memory datapoints fails rather than passing unverified', async () => {
  answerMetrics({ ...HEALTHY_METRICS, DatabaseMemoryUsagePercentage: {} });
  expect(await row('cache memory used')).toMatchObject({ verdict: 'fail', found: 'no datapoints in 15 min' });
});

test('access denied names the missing ElastiCache permission', async () => {
  mocks.elastiCache.on(DescribeReplicationGroupsCommand).rejects(awsError('AccessDenied'));
  await expect(cacheChecks.run(checkContext())).rejects.toThrow(
    'missing permission elasticache:DescribeReplicationGroups (AWS said AccessDenied)',
  );
});

test('throttling names the throttled call', async () => {
  mocks.elastiCache.on(DescribeReplicationGroupsCommand).rejects(awsError('Throttling', 'Rate exceeded'));
  await expect(cacheChecks.run(checkContext())).rejects.toThrow(
    /AWS throttled elasticache:DescribeReplicationGroups \(Throttling\)/,
  );
});

test('access denied on CloudWatch names cloudwatch:GetMetricData', async () => {
  mocks.cloudWatch.reset();
  mocks.cloudWatch.rejects(awsError('AccessDenied'));
  await expect(cacheChecks.run(checkContext())).rejects.toThrow('missing permission cloudwatch:GetMetricData');
});
