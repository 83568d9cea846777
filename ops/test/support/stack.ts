// A deployed prod-like stack for tests: its outputs, the expectations it should meet, and mocks of
// every AWS client answering as a healthy stack would. Tests then break one answer at a time.
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeScheduledActionsCommand,
} from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudFrontClient, GetDistributionCommand } from '@aws-sdk/client-cloudfront';
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataInput } from '@aws-sdk/client-cloudwatch';
import { DescribeReplicationGroupsCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetWebACLCommand, WAFV2Client, type WebACL } from '@aws-sdk/client-wafv2';
import { mockClient } from 'aws-sdk-client-mock';
import { StackOutputs } from '../../../lib/stack/outputs';
import { createAwsClients } from '../../aws/clients';
import type { CheckContext } from '../../checks/check';
import type { PreflightExpectations } from '../../preflight/expectations';
import { DeployedOutputs } from '../../stack/outputs';

export const NOW = Date.parse('2027-11-20T12:00:00Z');
export const SALE_START = Date.parse('2027-11-26T05:00:00Z');
export const SALE_END = Date.parse('2027-11-27T08:00:00Z');

const QUEUE_BASE = 'https://sqs.us-west-2.amazonaws.com/111122223333';

export const OUTPUTS: Record<string, string> = {
  [StackOutputs.cacheReplicationGroupId]: 'surge-prod-cache',
  [StackOutputs.databaseClusterIdentifier]: 'surge-prod-db',
  [StackOutputs.orderPlacedQueueUrl]: `${QUEUE_BASE}/surge-prod-order-placed`,
  [StackOutputs.orderPlacedDlqUrl]: `${QUEUE_BASE}/surge-prod-order-placed-dlq`,
  [StackOutputs.paymentResultQueueUrl]: `${QUEUE_BASE}/surge-prod-payment-result`,
  [StackOutputs.paymentResultDlqUrl]: `${QUEUE_BASE}/surge-prod-payment-result-dlq`,
  [StackOutputs.userFleetAutoScalingGroupName]: 'surge-prod-user',
  [StackOutputs.orderFleetAutoScalingGroupName]: 'surge-prod-order',
  [StackOutputs.paymentFleetAutoScalingGroupName]: 'surge-prod-payment',
  [StackOutputs.workerFleetAutoScalingGroupName]: 'surge-prod-worker',
  [StackOutputs.distributionId]: 'E2EXAMPLE',
  [StackOutputs.webAclArn]: 'arn:aws:wafv2:us-east-1:111122223333:global/webacl/surge-prod-edge/a1b2c3d4',
};

export const EXPECTATIONS: PreflightExpectations = {
  cache: { shards: 1, replicasPerShard: 2, maxMemoryUsedPercent: 75 },
  database: { readers: 2, maxReplicaLagMs: 1000 },
  queues: { maxOldestMessageAgeSeconds: 300 },
  sale: {
    name: 'black-friday-2027',
    start: SALE_START,
    end: SALE_END,
    minCapacity: { user: 12, order: 12, payment: 12, worker: 12 },
  },
  firewall: { rateLimit: 3000, evaluationWindowSeconds: 300 },
  metricWindowMinutes: 15,
};

export function checkContext(overrides: Partial<PreflightExpectations> = {}, now = NOW): CheckContext {
  return {
    clients: createAwsClients('us-west-2'),
    outputs: new DeployedOutputs(new Map(Object.entries(OUTPUTS)), ['Surge-prod']),
    expectations: { ...EXPECTATIONS, ...overrides },
    now,
  };
}

/** Every client of the tools, mocked; reset between tests. */
export const mocks = {
  cloudFormation: mockClient(CloudFormationClient),
  elastiCache: mockClient(ElastiCacheClient),
  rds: mockClient(RDSClient),
  sqs: mockClient(SQSClient),
  autoScaling: mockClient(AutoScalingClient),
  cloudWatch: mockClient(CloudWatchClient),
  cloudFront: mockClient(CloudFrontClient),
  waf: mockClient(WAFV2Client),
};

export function resetMocks(): void {
  for (const mock of Object.values(mocks)) mock.reset();
}

/**
 * Answers GetMetricData from `values[metricName][dimensionValue]` (a series oldest first, one
 * point a minute ending at the request's EndTime); series not listed have no data.
 */
export function answerMetrics(values: Record<string, Record<string, number[]>>): void {
  mocks.cloudWatch.on(GetMetricDataCommand).callsFake((input: GetMetricDataInput) => ({
    MetricDataResults: (input.MetricDataQueries ?? []).map((query) => {
      const metric = query.MetricStat!.Metric!;
      const dimension = metric.Dimensions?.[0]?.Value ?? '';
      const series = values[metric.MetricName ?? '']?.[dimension] ?? [];
      const end = new Date(input.EndTime!).getTime();
      return {
        Id: query.Id,
        Values: series,
        Timestamps: series.map((_, i) => new Date(end - (series.length - 1 - i) * 60_000)),
      };
    }),
  }));
}

// Prod runs one shard (cluster mode off) with a primary and two replicas, as lib/config/prod.ts says.
export const CACHE_NODES = ['surge-prod-cache-001', 'surge-prod-cache-002', 'surge-prod-cache-003'];
export const READERS = ['surge-prod-db-reader-1', 'surge-prod-db-reader-2'];

export const HEALTHY_METRICS: Record<string, Record<string, number[]>> = {
  DatabaseMemoryUsagePercentage: Object.fromEntries(CACHE_NODES.map((node) => [node, [40, 42, 41]])),
  AuroraReplicaLag: Object.fromEntries(READERS.map((id) => [id, [15, 22, 18]])),
  ApproximateAgeOfOldestMessage: { 'surge-prod-order-placed': [2, 1, 3], 'surge-prod-payment-result': [1, 1, 0] },
};

export const HEALTHY_REPLICATION_GROUP = {
  ReplicationGroupId: 'surge-prod-cache',
  Status: 'available',
  MultiAZ: 'enabled' as const,
  AutomaticFailover: 'enabled' as const,
  NodeGroups: [{ NodeGroupId: '0001', Status: 'available' }],
  MemberClusters: CACHE_NODES,
  PendingModifiedValues: {},
};

export const HEALTHY_CLUSTER = {
  DBClusterIdentifier: 'surge-prod-db',
  Status: 'available',
  DBClusterMembers: [
    { DBInstanceIdentifier: 'surge-prod-db-writer', IsClusterWriter: true },
    ...READERS.map((id) => ({ DBInstanceIdentifier: id, IsClusterWriter: false })),
  ],
};

const FLEET_GROUPS = ['surge-prod-user', 'surge-prod-order', 'surge-prod-payment', 'surge-prod-worker'];

/** A pre-warm action the way CloudFormation names it: stack, then the construct's logical ID. */
export function prewarmAction(group: string, minSize = 12, startTime = new Date(SALE_START - 45 * 60_000)) {
  return {
    AutoScalingGroupName: group,
    ScheduledActionName: `Surge-prod-${group}PrewarmBlackFriday2027A1B2C3-XYZ`,
    MinSize: minSize,
    StartTime: startTime,
  };
}

export const HEALTHY_WEB_ACL: WebACL = {
  Name: 'surge-prod-edge',
  Id: 'a1b2c3d4',
  ARN: OUTPUTS[StackOutputs.webAclArn],
  DefaultAction: { Allow: {} },
  VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'edge' },
  Rules: [
    {
      Name: 'AWSManagedRulesCommonRuleSet',
      Priority: 0,
      Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' } },
      OverrideAction: { None: {} },
      VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'common' },
    },
    {
      Name: 'RateLimitPerIp',
      Priority: 3,
      Statement: { RateBasedStatement: { Limit: 3000, EvaluationWindowSec: 300, AggregateKeyType: 'IP' } },
      Action: { Block: {} },
      VisibilityConfig: { SampledRequestsEnabled: true, CloudWatchMetricsEnabled: true, MetricName: 'rate' },
    },
  ],
};

/** The regional stack answers with `outputs` except WebAclArn, which the WAF stack emits. */
export function mockStackOutputs(outputs: Record<string, string>): void {
  const stack = (StackName: string, keys: [string, string][]) => ({
    Stacks: [
      {
        StackName,
        StackStatus: 'UPDATE_COMPLETE' as const,
        CreationTime: new Date(NOW - 86_400_000),
        Outputs: keys.map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
  const entries = Object.entries(outputs);
  const isWaf = ([key]: [string, string]) => key === StackOutputs.webAclArn;
  mocks.cloudFormation.on(DescribeStacksCommand, { StackName: 'Surge-prod' }).resolves(stack('Surge-prod', entries.filter((e) => !isWaf(e))));
  mocks.cloudFormation.on(DescribeStacksCommand, { StackName: 'Surge-prod-Waf' }).resolves(stack('Surge-prod-Waf', entries.filter(isWaf)));
}

/** Resets every mock, then mocks every service answering as a healthy, sale-ready prod stack. */
export function mockHealthyStack(): void {
  resetMocks();
  mockStackOutputs(OUTPUTS);
  mocks.elastiCache.on(DescribeReplicationGroupsCommand).resolves({ ReplicationGroups: [HEALTHY_REPLICATION_GROUP] });
  mocks.rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [HEALTHY_CLUSTER] });
  mocks.rds.on(DescribeDBInstancesCommand).resolves({
    DBInstances: HEALTHY_CLUSTER.DBClusterMembers.map((m) => ({
      DBInstanceIdentifier: m.DBInstanceIdentifier,
      DBInstanceStatus: 'available',
    })),
  });
  mocks.sqs.on(GetQueueAttributesCommand).resolves({
    Attributes: {
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
      ApproximateNumberOfMessagesDelayed: '0',
    },
  });
  answerMetrics(HEALTHY_METRICS);
  mocks.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: FLEET_GROUPS.map((name) => ({
      AutoScalingGroupName: name,
      MinSize: 3,
      MaxSize: 30,
      DesiredCapacity: 3,
      DefaultCooldown: 300,
      AvailabilityZones: ['us-west-2a', 'us-west-2b', 'us-west-2c'],
      HealthCheckType: 'ELB',
      CreatedTime: new Date(NOW - 86_400_000),
    })),
  });
  for (const group of FLEET_GROUPS) {
    mocks.autoScaling
      .on(DescribeScheduledActionsCommand, { AutoScalingGroupName: group })
      .resolves({ ScheduledUpdateGroupActions: [prewarmAction(group), releaseAction(group)] });
  }
  mocks.cloudFront.on(GetDistributionCommand).resolves({
    Distribution: {
      Id: 'E2EXAMPLE',
      ARN: 'arn:aws:cloudfront::111122223333:distribution/E2EXAMPLE',
      Status: 'Deployed',
      LastModifiedTime: new Date(NOW - 86_400_000),
      InProgressInvalidationBatches: 0,
      DomainName: 'd111111abcdef8.cloudfront.net',
      ActiveTrustedSigners: { Enabled: false, Quantity: 0 },
      DistributionConfig: { Enabled: true } as never,
    },
  });
  mocks.waf.on(GetWebACLCommand).resolves({ WebACL: HEALTHY_WEB_ACL });
}

function releaseAction(group: string) {
  return {
    AutoScalingGroupName: group,
    ScheduledActionName: `Surge-prod-${group}ReleaseBlackFriday2027D4E5F6-XYZ`,
    MinSize: 3,
    StartTime: new Date(SALE_END),
  };
}

export { awsError } from './aws-error';
