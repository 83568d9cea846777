// The operations dashboard's widgets, one row per layer of the request path: load balancer, fleets,
// cache, queues, database. Kept apart from observability.ts so the alarms read on their own.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { ObservabilityProps } from './observed';

const PERIOD = Duration.minutes(1);
const HALF = 12; // dashboards are 24 units wide
const THIRD = 8;

export interface DashboardInput extends ObservabilityProps {
  /** CacheClusterId of every cache node. */
  readonly cacheNodeIds: string[];
}

/** Widgets of the dashboard, as rows. */
export function buildDashboardWidgets(input: DashboardInput): cloudwatch.IWidget[][] {
  return [
    ...loadBalancerRows(input),
    heading('Fleets'),
    fleetRow(input),
    heading('Cache'),
    ...cacheRows(input),
    heading('Queues'),
    queueRow(input),
    heading('Database'),
    databaseRow(input),
  ];
}

function heading(text: string): cloudwatch.IWidget[] {
  return [new cloudwatch.TextWidget({ markdown: `## ${text}`, width: 24, height: 1 })];
}

function loadBalancerRows({ loadBalancer, fleets }: DashboardInput): cloudwatch.IWidget[][] {
  const alb = loadBalancer.metrics;
  const servedFleets = fleets.filter((f) => f.targetGroup !== undefined);
  return [
    heading('Load balancer'),
    [
      new cloudwatch.GraphWidget({
        title: 'Requests',
        width: HALF,
        left: [alb.requestCount({ statistic: 'Sum', period: PERIOD, label: 'Requests per minute' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Target response time p99 (s)',
        width: HALF,
        left: [alb.targetResponseTime({ statistic: 'p99', period: PERIOD, label: 'p99' })],
      }),
    ],
    [
      new cloudwatch.GraphWidget({
        title: '5xx responses',
        width: HALF,
        left: [
          alb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum', period: PERIOD, label: 'From the ALB' }),
          alb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum', period: PERIOD, label: 'From the services' }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Healthy hosts per fleet',
        width: HALF,
        left: servedFleets.map((f) =>
          f.targetGroup!.metrics.healthyHostCount({ statistic: 'Minimum', period: PERIOD, label: f.name }),
        ),
      }),
    ],
  ];
}

function fleetRow({ fleets }: DashboardInput): cloudwatch.IWidget[] {
  const byGroup = (namespace: string, metricName: string, statistic: string) =>
    fleets.map(
      (f) =>
        new cloudwatch.Metric({
          namespace,
          metricName,
          dimensionsMap: { AutoScalingGroupName: f.autoScalingGroup.autoScalingGroupName },
          statistic,
          period: PERIOD,
          label: f.name,
        }),
    );
  return [
    new cloudwatch.GraphWidget({
      title: 'In-service instances per fleet',
      width: HALF,
      left: byGroup('AWS/AutoScaling', 'GroupInServiceInstances', 'Average'),
    }),
    new cloudwatch.GraphWidget({
      title: 'Average CPU per fleet (%)',
      width: HALF,
      left: byGroup('AWS/EC2', 'CPUUtilization', 'Average'),
      leftYAxis: { min: 0, max: 100 },
    }),
  ];
}

function cacheRows({ cacheNodeIds }: DashboardInput): cloudwatch.IWidget[][] {
  const perNode = (metricName: string, statistic: string) => cacheNodeIds.map((id) => cacheMetric(metricName, id, { statistic }));
  return [
    [
      new cloudwatch.GraphWidget({ title: 'Cache engine CPU per node (%)', width: HALF, left: perNode('EngineCPUUtilization', 'Average') }),
      new cloudwatch.GraphWidget({ title: 'Cache memory used per node (%)', width: HALF, left: perNode('DatabaseMemoryUsagePercentage', 'Average') }),
    ],
    [
      new cloudwatch.GraphWidget({ title: 'Cache hit rate per node (%)', width: HALF, left: perNode('CacheHitRate', 'Average') }),
      new cloudwatch.GraphWidget({ title: 'Cache evictions per node', width: HALF, left: perNode('Evictions', 'Sum') }),
    ],
  ];
}

function queueRow({ queues }: DashboardInput): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: 'Messages waiting',
      width: THIRD,
      left: queues.map((q) => q.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: PERIOD, label: q.name })),
    }),
    new cloudwatch.GraphWidget({
      title: 'Oldest message age (s)',
      width: THIRD,
      left: queues.map((q) => q.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: PERIOD, label: q.name })),
    }),
    new cloudwatch.GraphWidget({
      title: 'Dead-lettered messages',
      width: THIRD,
      left: queues.map((q) =>
        q.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: PERIOD, label: `${q.name}-dlq` }),
      ),
    }),
  ];
}

function databaseRow(input: DashboardInput): cloudwatch.IWidget[] {
  const { databaseCluster } = input;
  const withReaders = hasDatabaseReaders(input);
  const width = withReaders ? THIRD : HALF;
  const widgets = [
    new cloudwatch.GraphWidget({
      title: 'Aurora CPU (%)',
      width,
      left: [databaseCluster.metricCPUUtilization({ statistic: 'Maximum', period: PERIOD, label: 'Busiest instance' })],
      leftYAxis: { min: 0, max: 100 },
    }),
    new cloudwatch.GraphWidget({
      title: 'Aurora connections',
      width,
      left: [databaseCluster.metricDatabaseConnections({ statistic: 'Sum', period: PERIOD, label: 'All instances' })],
    }),
  ];
  if (withReaders) {
    widgets.push(
      new cloudwatch.GraphWidget({
        title: 'Aurora replica lag (ms)',
        width,
        left: [databaseCluster.metric('AuroraReplicaLagMaximum', { statistic: 'Maximum', period: PERIOD, label: 'Slowest reader' })],
      }),
    );
  }
  return widgets;
}

/** Whether the Aurora cluster has readers whose replica lag can be measured. */
export function hasDatabaseReaders(props: Pick<ObservabilityProps, 'databaseReaders'>): boolean {
  return (props.databaseReaders ?? 1) > 0;
}

/** An ElastiCache engine metric of one node (per-minute average unless `options` say otherwise). */
export function cacheMetric(metricName: string, cacheClusterId: string, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/ElastiCache',
    metricName,
    dimensionsMap: { CacheClusterId: cacheClusterId },
    statistic: 'Average',
    period: PERIOD,
    ...options,
  });
}
