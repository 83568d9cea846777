import './support/fake-aws-env';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { highestSeries, readMetricSeries } from '../aws/metrics';
import { mocks, resetMocks } from './support/stack';

beforeEach(resetMocks);

const request = (key: string) => ({
  key,
  namespace: 'AWS/RDS',
  metricName: 'AuroraReplicaLag',
  dimensions: { DBInstanceIdentifier: key },
  stat: 'Maximum' as const,
});

test('reads every page, maps series back to their keys and sorts points oldest first', async () => {
  mocks.cloudWatch
    .on(GetMetricDataCommand)
    .resolvesOnce({
      MetricDataResults: [{ Id: 'm1', Values: [30, 20], Timestamps: [new Date(2_000), new Date(1_000)] }],
      NextToken: 'next',
    })
    .resolvesOnce({ MetricDataResults: [{ Id: 'm0', Values: [5], Timestamps: [new Date(1_000)] }, { Id: 'm1', Values: [10], Timestamps: [new Date(3_000)] }] });

  const series = await readMetricSeries(new CloudWatchClient({}), [request('reader-a'), request('reader-b')], { end: 600_000, minutes: 10 });

  expect(series.get('reader-a')).toEqual([{ at: 1_000, value: 5 }]);
  expect(series.get('reader-b')).toEqual([
    { at: 1_000, value: 20 },
    { at: 2_000, value: 30 },
    { at: 3_000, value: 10 },
  ]);
  expect(highestSeries(series)).toEqual({ key: 'reader-b', value: 30 });
  const calls = mocks.cloudWatch.commandCalls(GetMetricDataCommand);
  expect(calls).toHaveLength(2);
  expect(calls[1].args[0].input.NextToken).toBe('next');
  expect(calls[0].args[0].input).toMatchObject({ StartTime: new Date(0), EndTime: new Date(600_000) });
});

test('no requests, no call', async () => {
  expect((await readMetricSeries(new CloudWatchClient({}), [], { end: 0, minutes: 1 })).size).toBe(0);
  expect(mocks.cloudWatch.calls()).toHaveLength(0);
});
