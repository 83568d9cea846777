// Observability: the TLS-only alarm topic, alarms on ALB, fleets, cache and Aurora routed to it
// (plus the queues' alarms passed in), cache node naming, the dashboard's widgets, validation and
// cdk-nag. Resources are imported by name/ARN so the test stack holds only what this construct makes.
import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { EventQueue } from '../../lib/construct/event-queue';
import { cacheNodeIds, Observability } from '../../lib/construct/observability';
import type { ObservabilityProps, ObservedCache } from '../../lib/construct/observed';
import { standaloneStack, unacknowledgedNagFindings } from './standalone-stack';

const ALB_ARN = 'arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/surge/0123456789abcdef';
const CACHE: ObservedCache = { replicationGroupId: 'surge-cache', clusterMode: false, shards: 1, replicasPerShard: 1 };

function build(props: Partial<ObservabilityProps> = {}) {
  const stack = standaloneStack('Ops');
  const loadBalancer = elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, 'Alb', {
    loadBalancerArn: ALB_ARN,
    securityGroupId: 'sg-0123456789abcdef0',
    loadBalancerDnsName: 'surge-123.us-west-2.elb.amazonaws.com',
  });
  const targetGroup = (name: string, id: string) =>
    elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(stack, `${name}Tg`, {
      targetGroupArn: `arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/${name}/${id}`,
      loadBalancerArns: ALB_ARN,
    });
  const group = (name: string) => autoscaling.AutoScalingGroup.fromAutoScalingGroupName(stack, `${name}Asg`, `surge-${name}`);
  const orderPlaced = new EventQueue(stack, 'OrderPlaced', { name: 'order-placed' });
  const paymentResult = new EventQueue(stack, 'PaymentResult', { name: 'payment-result' });
  const ops = new Observability(stack, 'Ops', {
    loadBalancer,
    fleets: [
      { name: 'user', autoScalingGroup: group('user'), targetGroup: targetGroup('user', '1111111111111111') },
      { name: 'order', autoScalingGroup: group('order'), targetGroup: targetGroup('order', '2222222222222222') },
      { name: 'worker', autoScalingGroup: group('worker') },
    ],
    cache: CACHE,
    queues: [orderPlaced, paymentResult],
    databaseCluster: rds.DatabaseCluster.fromDatabaseClusterAttributes(stack, 'Db', { clusterIdentifier: 'surge-db' }),
    alarms: [...orderPlaced.alarms, ...paymentResult.alarms],
    ...props,
  });
  return { stack, ops, template: () => Template.fromStack(stack) };
}

/** The dashboard body with CloudFormation's Fn::Join flattened (region refs become `REGION`). */
function dashboardBody(template: Template): { widgets: Array<{ type: string; properties: Record<string, any> }> } {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const parts: unknown[] = dashboard.Properties.DashboardBody['Fn::Join'][1];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'REGION')).join(''));
}

function alarmByDescription(template: Template, pattern: RegExp) {
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) => pattern.test(a.Properties.AlarmDescription));
  expect(alarms).toHaveLength(1);
  return alarms[0].Properties;
}

describe('Observability', () => {
  test('creates an alarm topic that refuses non-TLS publishing, with an optional email subscription', () => {
    const t = build({ alarmEmail: 'oncall@example.com' }).template();
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: [Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })],
      },
    });
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    build().template().resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('routes every alarm, its own and the queues\', to the topic on alarm and on recovery', () => {
    const t = build().template();
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    // 2 ALB + 2 fleets behind the ALB + 2 cache + 2 database + 2 parked outbox + 2 x 2 queue alarms
    expect(alarms).toHaveLength(14);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^OpsAlarmTopic/) }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: expect.stringMatching(/^OpsAlarmTopic/) }]);
    }
  });

  test('alarms on the share of 5xx answers and on p99 latency', () => {
    const t = build({ errorRatePercentThreshold: 2, latencyP99Threshold: Duration.millis(800) }).template();
    const errors = alarmByDescription(t, /5xx/);
    expect(errors.Threshold).toBe(2);
    expect(errors.Metrics[0].Expression).toBe('IF(requests > 0, 100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests, 0)');
    expect(errors.Metrics.slice(1).map((m: any) => m.MetricStat.Metric.MetricName)).toEqual([
      'RequestCount',
      'HTTPCode_ELB_5XX_Count',
      'HTTPCode_Target_5XX_Count',
    ]);
    const latency = alarmByDescription(t, /p99/);
    expect(latency).toMatchObject({ MetricName: 'TargetResponseTime', ExtendedStatistic: 'p99', Threshold: 0.8 });
  });

  test('alarms when a fleet behind the ALB has no healthy host, and not for the worker fleet', () => {
    const t = build().template();
    const user = alarmByDescription(t, /user fleet has no healthy/);
    expect(user).toMatchObject({
      MetricName: 'HealthyHostCount',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
      Dimensions: expect.arrayContaining([{ Name: 'TargetGroup', Value: 'targetgroup/user/1111111111111111' }]),
    });
    alarmByDescription(t, /order fleet has no healthy/);
    expect(Object.values(t.findResources('AWS::CloudWatch::Alarm')).some((a) => /worker/.test(a.Properties.AlarmDescription))).toBe(false);
  });

  test('alarms on the busiest cache node\'s engine CPU and memory', () => {
    const t = build().template();
    const cpu = alarmByDescription(t, /engine thread above 80% CPU/);
    expect(cpu.Metrics[0].Expression).toBe('MAX([n0, n1])');
    expect(cpu.Metrics.slice(1).map((m: any) => [m.MetricStat.Metric.MetricName, m.MetricStat.Metric.Dimensions[0].Value])).toEqual([
      ['EngineCPUUtilization', 'surge-cache-001'],
      ['EngineCPUUtilization', 'surge-cache-002'],
    ]);
    alarmByDescription(t, /80% of its memory/);
  });

  test('splits cache alarms so none reads more than 10 metrics', () => {
    const t = build({ cache: { replicationGroupId: 'big', clusterMode: true, shards: 4, replicasPerShard: 2 } }).template();
    const cpuAlarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')).filter((a) => /engine thread/.test(a.Properties.AlarmDescription));
    expect(cpuAlarms.map((a) => a.Properties.Metrics.length - 1)).toEqual([10, 2]);
  });

  test('alarms on Aurora CPU and replica lag', () => {
    const t = build().template();
    expect(alarmByDescription(t, /Aurora CPU/)).toMatchObject({
      MetricName: 'CPUUtilization',
      Namespace: 'AWS/RDS',
      Dimensions: [{ Name: 'DBClusterIdentifier', Value: 'surge-db' }],
      Threshold: 80,
    });
    expect(alarmByDescription(t, /behind the writer/)).toMatchObject({ MetricName: 'AuroraReplicaLagMaximum', Threshold: 2000 });
  });

  test('alarms as soon as one outbox row of a queue\'s topic is parked, from the worker\'s EMF metric', () => {
    const t = build().template();
    for (const topic of ['order-placed', 'payment-result']) {
      expect(alarmByDescription(t, new RegExp(`^Outbox rows of ${topic} are parked`))).toMatchObject({
        Namespace: 'Surge',
        MetricName: 'OutboxParked',
        Dimensions: [
          { Name: 'Service', Value: 'worker' },
          { Name: 'Topic', Value: topic },
        ],
        Statistic: 'Maximum',
        Period: 300,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        EvaluationPeriods: 1,
        TreatMissingData: 'ignore',
      });
    }
    const other = build({ outboxRelayService: 'relay' }).template();
    expect(alarmByDescription(other, /^Outbox rows of order-placed/).Dimensions).toContainEqual({ Name: 'Service', Value: 'relay' });
  });

  test('a cluster without readers gets no replica lag alarm or graph, since there is no lag to measure', () => {
    const t = build({ databaseReaders: 0 }).template();
    const descriptions = Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmDescription);
    expect(descriptions.some((d) => /Aurora CPU/.test(d))).toBe(true);
    expect(descriptions.some((d) => /behind the writer/.test(d))).toBe(false);
    const titles = dashboardBody(t).widgets.map((w) => w.properties.title);
    expect(titles).toEqual(expect.arrayContaining(['Aurora CPU (%)', 'Aurora connections']));
    expect(titles).not.toContain('Aurora replica lag (ms)');
  });

  test('rejects a negative reader count', () => {
    expect(() => build({ databaseReaders: -1 })).toThrow(/databaseReaders must be a non-negative integer, got -1/);
  });

  test('names cache nodes as ElastiCache does, with and without cluster mode', () => {
    expect(cacheNodeIds(CACHE)).toEqual(['surge-cache-001', 'surge-cache-002']);
    expect(cacheNodeIds({ replicationGroupId: 'rg', clusterMode: true, shards: 2, replicasPerShard: 1 })).toEqual([
      'rg-0001-001',
      'rg-0001-002',
      'rg-0002-001',
      'rg-0002-002',
    ]);
  });

  test('the dashboard shows every widget the issue lists', () => {
    const body = dashboardBody(build().template());
    const graphs = body.widgets.filter((w) => w.type === 'metric');
    const metricNamesOf = (title: string) => {
      const widget = graphs.find((w) => w.properties.title === title);
      expect(widget).toBeDefined();
      return widget!.properties.metrics.map((m: unknown[]) => m[1]);
    };
    expect(metricNamesOf('Requests')).toEqual(['RequestCount']);
    expect(metricNamesOf('Target response time p99 (s)')).toEqual(['TargetResponseTime']);
    expect(metricNamesOf('5xx responses')).toEqual(['HTTPCode_ELB_5XX_Count', 'HTTPCode_Target_5XX_Count']);
    expect(metricNamesOf('Healthy hosts per fleet')).toEqual(['HealthyHostCount', 'HealthyHostCount']);
    expect(metricNamesOf('In-service instances per fleet')).toEqual(Array(3).fill('GroupInServiceInstances'));
    expect(metricNamesOf('Average CPU per fleet (%)')).toEqual(Array(3).fill('CPUUtilization'));
    expect(metricNamesOf('Cache engine CPU per node (%)')).toEqual(['EngineCPUUtilization', 'EngineCPUUtilization']);
    expect(metricNamesOf('Cache memory used per node (%)')).toEqual(Array(2).fill('DatabaseMemoryUsagePercentage'));
    expect(metricNamesOf('Cache hit rate per node (%)')).toEqual(Array(2).fill('CacheHitRate'));
    expect(metricNamesOf('Cache evictions per node')).toEqual(Array(2).fill('Evictions'));
    expect(metricNamesOf('Messages waiting')).toEqual(Array(2).fill('ApproximateNumberOfMessagesVisible'));
    expect(metricNamesOf('Oldest message age (s)')).toEqual(Array(2).fill('ApproximateAgeOfOldestMessage'));
    expect(metricNamesOf('Dead-lettered messages')).toEqual(Array(2).fill('ApproximateNumberOfMessagesVisible'));
    expect(metricNamesOf('Aurora CPU (%)')).toEqual(['CPUUtilization']);
    expect(metricNamesOf('Aurora connections')).toEqual(['DatabaseConnections']);
    expect(metricNamesOf('Aurora replica lag (ms)')).toEqual(['AuroraReplicaLagMaximum']);
  });

  test('the fleet widgets are labelled per fleet and keyed by Auto Scaling group name', () => {
    const body = dashboardBody(build().template());
    const inService = body.widgets.find((w) => w.properties.title === 'In-service instances per fleet')!;
    expect(inService.properties.metrics).toEqual([
      ['AWS/AutoScaling', 'GroupInServiceInstances', 'AutoScalingGroupName', 'surge-user', expect.objectContaining({ label: 'user' })],
      ['AWS/AutoScaling', 'GroupInServiceInstances', 'AutoScalingGroupName', 'surge-order', expect.objectContaining({ label: 'order' })],
      ['AWS/AutoScaling', 'GroupInServiceInstances', 'AutoScalingGroupName', 'surge-worker', expect.objectContaining({ label: 'worker' })],
    ]);
  });

  test.each<[string, Partial<ObservabilityProps>, RegExp]>([
    ['an error threshold of 0', { errorRatePercentThreshold: 0 }, /errorRatePercentThreshold must be above 0 and at most 100, got 0/],
    ['an error threshold over 100', { errorRatePercentThreshold: 150 }, /errorRatePercentThreshold .* got 150/],
    ['a zero latency threshold', { latencyP99Threshold: Duration.seconds(0) }, /latencyP99Threshold must be positive, got 0 ms/],
    ['a malformed email', { alarmEmail: 'oncall' }, /alarmEmail must be an email address, got 'oncall'/],
    ['an empty outbox relay service', { outboxRelayService: ' ' }, /outboxRelayService must name a service, got an empty string/],
    ['no fleets', { fleets: [] }, /fleets must list at least one fleet/],
    ['shards without cluster mode', { cache: { ...CACHE, shards: 2 } }, /cache.shards must be 1 without cluster mode .* got 2/],
    ['negative replicas', { cache: { ...CACHE, replicasPerShard: -1 } }, /cache.replicasPerShard must be a non-negative integer, got -1/],
  ])('rejects %s', (_label, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('rejects two fleets with the same name', () => {
    const stack = standaloneStack('Dup');
    const loadBalancer = elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, 'Alb', {
      loadBalancerArn: ALB_ARN,
      securityGroupId: 'sg-0123456789abcdef0',
    });
    const asg = autoscaling.AutoScalingGroup.fromAutoScalingGroupName(stack, 'Asg', 'surge-user');
    expect(
      () =>
        new Observability(stack, 'Ops', {
          loadBalancer,
          fleets: [
            { name: 'user', autoScalingGroup: asg },
            { name: 'user', autoScalingGroup: asg },
          ],
          cache: CACHE,
          queues: [],
          databaseCluster: rds.DatabaseCluster.fromDatabaseClusterAttributes(stack, 'Db', { clusterIdentifier: 'surge-db' }),
        }),
    ).toThrow(/fleet names must be unique, 'user' appears twice/);
  });

  test('passes cdk-nag AwsSolutions with no unacknowledged errors', () => {
    expect(unacknowledgedNagFindings(build({ alarmEmail: 'oncall@example.com' }).stack)).toEqual([]);
  });
});
