// Observability: the SNS topic every Surge alarm notifies, the alarms on the shared resources
// (ALB errors and latency, fleets without healthy hosts, Aurora CPU and replica lag, cache CPU and
// memory, parked outbox rows), and one CloudWatch dashboard laid out top-down like the request path: edge -> fleets ->
// cache -> queues -> database. The dashboard body lives in dashboard.ts.
import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { buildDashboardWidgets, cacheMetric, hasDatabaseReaders } from './dashboard';
import type { ObservabilityProps, ObservedCache } from './observed';

/** CloudWatch alarms on metric math accept at most this many metrics. */
const MAX_METRICS_PER_ALARM = 10;
/** Namespace of the services' own metrics (EMF, services/platform/metrics.ts). */
const SERVICE_METRICS_NAMESPACE = 'Surge';

/** Dashboard, alarm topic and the alarms on the shared resources. */
export class Observability extends Construct {
  /** Topic every alarm notifies, on alarm and on recovery. */
  public readonly alarmTopic: sns.Topic;
  /** The operations dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Alarms this construct created (routed to `alarmTopic` like the ones passed in). */
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const latencyP99Threshold = props.latencyP99Threshold ?? Duration.seconds(1);
    const errorRatePercentThreshold = props.errorRatePercentThreshold ?? 1;
    validate(props, latencyP99Threshold, errorRatePercentThreshold);

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Surge alarms',
      enforceSSL: true,
    });
    if (props.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }

    const alb = props.loadBalancer.metrics;
    const fiveXxRate = new cloudwatch.MathExpression({
      label: '5xx share of requests (%)',
      expression: 'IF(requests > 0, 100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)',
      usingMetrics: {
        requests: alb.requestCount({ statistic: 'Sum' }),
        elb5xx: alb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum' }),
        target5xx: alb.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum' }),
      },
      period: Duration.minutes(1),
    });
    this.addAlarm('Alb5xxRate', {
      alarmDescription: `More than ${errorRatePercentThreshold}% of requests answered 5xx for 3 minutes`,
      metric: fiveXxRate,
      threshold: errorRatePercentThreshold,
      evaluationPeriods: 3,
    });
    this.addAlarm('AlbLatencyP99', {
      alarmDescription: `ALB p99 target response time above ${latencyP99Threshold.toMilliseconds() / 1000} s for 5 minutes`,
      metric: alb.targetResponseTime({ statistic: 'p99', period: Duration.minutes(1) }),
      threshold: latencyP99Threshold.toMilliseconds() / 1000,
      evaluationPeriods: 5,
    });

    for (const fleet of props.fleets) {
      if (fleet.targetGroup === undefined) continue;
      this.addAlarm(`NoHealthyHosts-${fleet.name}`, {
        alarmDescription: `The ${fleet.name} fleet has no healthy target behind the ALB`,
        metric: fleet.targetGroup.metrics.healthyHostCount({ statistic: 'Minimum', period: Duration.minutes(1) }),
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        threshold: 1,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }

    // A metric-math alarm may read at most 10 metrics, so large clusters get one alarm per 10 nodes.
    const cacheNodes = cacheNodeIds(props.cache);
    const nodeGroups = chunk(cacheNodes, MAX_METRICS_PER_ALARM);
    const cacheMax = (metricName: string, label: string, nodes: string[]) =>
      new cloudwatch.MathExpression({
        label,
        expression: `MAX([${nodes.map((_, i) => `n${i}`).join(', ')}])`,
        usingMetrics: Object.fromEntries(nodes.map((node, i) => [`n${i}`, cacheMetric(metricName, node)])),
        period: Duration.minutes(1),
      });
    nodeGroups.forEach((nodes, i) => {
      const suffix = i === 0 ? '' : `${i + 1}`;
      this.addAlarm(`CacheEngineCpu${suffix}`, {
        alarmDescription: 'A cache node\'s engine thread above 80% CPU for 5 minutes: scale up or out',
        metric: cacheMax('EngineCPUUtilization', 'Highest node engine CPU (%)', nodes),
        threshold: 80,
        evaluationPeriods: 5,
      });
      this.addAlarm(`CacheMemory${suffix}`, {
        alarmDescription: 'A cache node above 80% of its memory for 5 minutes: evictions follow',
        metric: cacheMax('DatabaseMemoryUsagePercentage', 'Highest node memory use (%)', nodes),
        threshold: 80,
        evaluationPeriods: 5,
      });
    });

    const db = props.databaseCluster;
    this.addAlarm('DatabaseCpu', {
      alarmDescription: 'Aurora CPU above 80% for 10 minutes',
      metric: db.metricCPUUtilization({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 80,
      evaluationPeriods: 10,
    });
    if (hasDatabaseReaders(props)) {
      this.addAlarm('DatabaseReplicaLag', {
        alarmDescription: 'An Aurora reader more than 2 s behind the writer for 5 minutes: reads are stale',
        metric: db.metric('AuroraReplicaLagMaximum', { period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 2000,
        evaluationPeriods: 5,
      });
    }

    // A parked outbox row is an event that was never published (an order never charged, a payment
    // result never applied) until an operator re-queues it (docs/OPS.md). Every worker instance reports
    // the topic's parked rows each minute, so the Maximum is the number parked.
    for (const queue of props.queues) {
      this.addAlarm(`OutboxParked-${queue.name}`, {
        alarmDescription: `Outbox rows of ${queue.name} are parked (SQS kept refusing them): they are not published until an operator re-queues them (docs/OPS.md)`,
        metric: new cloudwatch.Metric({
          namespace: SERVICE_METRICS_NAMESPACE,
          metricName: 'OutboxParked',
          dimensionsMap: { Service: props.outboxRelayService ?? 'worker', Topic: queue.name },
          statistic: 'Maximum',
          period: Duration.minutes(5),
        }),
        threshold: 0,
        evaluationPeriods: 1,
        // Missing data (no worker reporting) says nothing about the parked rows: keep the state.
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      });
    }

    const notify = new cloudwatchActions.SnsAction(this.alarmTopic);
    for (const alarm of [...this.alarms, ...(props.alarms ?? [])]) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
      widgets: buildDashboardWidgets({ ...props, cacheNodeIds: cacheNodes }),
    });
  }

  private addAlarm(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    this.alarms.push(alarm);
    return alarm;
  }
}

/**
 * CacheClusterId of every node: `<group>-001`.. without cluster mode, `<group>-0001-001`.. with it
 * (shard number, then node number within the shard).
 */
export function cacheNodeIds(cache: ObservedCache): string[] {
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  const nodesPerShard = cache.replicasPerShard + 1;
  const ids: string[] = [];
  if (!cache.clusterMode) {
    for (let node = 1; node <= nodesPerShard; node++) ids.push(`${cache.replicationGroupId}-${pad(node, 3)}`);
    return ids;
  }
  for (let shard = 1; shard <= cache.shards; shard++) {
    for (let node = 1; node <= nodesPerShard; node++) ids.push(`${cache.replicationGroupId}-${pad(shard, 4)}-${pad(node, 3)}`);
  }
  return ids;
}

function chunk<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

function validate(props: ObservabilityProps, latencyP99Threshold: Duration, errorRatePercentThreshold: number): void {
  const problems: string[] = [];
  if (!latencyP99Threshold.isUnresolved() && latencyP99Threshold.toMilliseconds() <= 0) {
    problems.push(`latencyP99Threshold must be positive, got ${latencyP99Threshold.toMilliseconds()} ms`);
  }
  if (!Token.isUnresolved(errorRatePercentThreshold) && !(errorRatePercentThreshold > 0 && errorRatePercentThreshold <= 100)) {
    problems.push(`errorRatePercentThreshold must be above 0 and at most 100, got ${errorRatePercentThreshold}`);
  }
  const names = props.fleets.map((f) => f.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) problems.push(`fleet names must be unique, '${duplicate}' appears twice`);
  if (props.fleets.length === 0) problems.push('fleets must list at least one fleet');
  const { shards, replicasPerShard, clusterMode } = props.cache;
  if (!Number.isInteger(shards) || shards < 1 || (!clusterMode && shards !== 1)) {
    problems.push(`cache.shards must be 1 without cluster mode and a positive integer with it, got ${shards}`);
  }
  if (!Number.isInteger(replicasPerShard) || replicasPerShard < 0) {
    problems.push(`cache.replicasPerShard must be a non-negative integer, got ${replicasPerShard}`);
  }
  if (props.databaseReaders !== undefined && !Token.isUnresolved(props.databaseReaders) && !(Number.isInteger(props.databaseReaders) && props.databaseReaders >= 0)) {
    problems.push(`databaseReaders must be a non-negative integer, got ${props.databaseReaders}`);
  }
  if (props.outboxRelayService !== undefined && !Token.isUnresolved(props.outboxRelayService) && props.outboxRelayService.trim() === '') {
    problems.push('outboxRelayService must name a service, got an empty string');
  }
  if (props.alarmEmail !== undefined && !Token.isUnresolved(props.alarmEmail) && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
    problems.push(`alarmEmail must be an email address, got '${props.alarmEmail}'`);
  }
  if (problems.length > 0) {
    throw new Error(`Invalid Observability props: ${problems.join('; ')}`);
  }
}
