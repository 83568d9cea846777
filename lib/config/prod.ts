// Production environment: three AZs with a NAT gateway each, fleets sized for sale-day traffic,
// Aurora with two readers, Valkey with a replica in each spare AZ, data retained on delete, one sample sale event.
import type { ServiceFleetConfig, SurgeConfig } from './types';

const serviceFleet: ServiceFleetConfig = {
  instanceType: 'c7g.large',
  minCapacity: 3, // one per AZ
  maxCapacity: 30,
  cpuTargetPercent: 70,
  volumeSizeGiB: 20,
  healthCheckGraceSeconds: 120,
  requestsPerTargetPerMinute: 6000,
};

export const prod: SurgeConfig = {
  envName: 'prod',
  region: 'us-west-2',
  availabilityZones: ['us-west-2a', 'us-west-2b', 'us-west-2c'],
  retainData: true,
  network: {
    cidr: '10.20.0.0/16',
    natGateways: 3,
    // SQS carries the sustained instance-to-AWS traffic (long polls from every worker plus every
    // order) and CloudWatch Logs the most bytes; both would otherwise pay NAT processing per GB.
    interfaceEndpoints: ['sqs', 'logs'],
    flowLogRetentionDays: 90,
  },
  // HTTPS end to end; validateConfig refuses prod without a domain. These names and certificate ARNs
  // are placeholders (example.com, account 111122223333): put yours here before deploying, otherwise
  // CloudFormation fails when it looks the certificates up (docs/FORKING.md, "Your domain").
  domain: {
    domainNames: ['shop.example.com'],
    cloudFrontCertificateArn: 'arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000',
    originDomainName: 'origin.shop.example.com',
    loadBalancerCertificateArn: 'arn:aws:acm:us-west-2:111122223333:certificate/00000000-0000-0000-0000-000000000000',
  },
  loadBalancer: {
    cloudFrontPrefixListId: 'pl-82a045eb', // com.amazonaws.global.cloudfront.origin-facing in us-west-2
    deletionProtection: true,
    idleTimeoutSeconds: 60,
    deregistrationDelaySeconds: 30,
    slowStartSeconds: 60,
    accessLogRetentionDays: 365,
  },
  fleets: {
    user: serviceFleet,
    order: serviceFleet,
    payment: serviceFleet,
    worker: { instanceType: 'c7g.large', minCapacity: 3, maxCapacity: 20, cpuTargetPercent: 70, volumeSizeGiB: 20, healthCheckGraceSeconds: 120, backlogPerInstance: 100 },
  },
  saleEvents: [
    { name: 'black-friday-2027', start: '2027-11-26T05:00:00Z', end: '2027-11-27T08:00:00Z', minCapacity: 12, prewarmMinutes: 45 },
  ],
  database: { instanceClass: 'r7g.large', readers: 2, backupRetentionDays: 14 },
  // One shard, cluster mode off. The services speak Redis Cluster too (REDIS_CLUSTER, which the stack
  // sets from clusterMode): set clusterMode: true and shards > 1 when one primary is not enough
  // (docs/FORKING.md, "Shard the cache"). Two replicas: one per spare AZ.
  cache: { nodeType: 'cache.r7g.large', clusterMode: false, shards: 1, replicasPerShard: 2, snapshotRetentionDays: 7 },
  queues: { maxReceiveCount: 5, handlerTimeoutSeconds: 30, oldestMessageAlarmSeconds: 300 },
  waf: { rateLimit: 3000, evaluationWindowSeconds: 300 },
  rateLimits: { ordersPerMinute: 20, loginPerMinute: 10, loginAccountPerMinute: 10, registerPerMinute: 5, defaultPerSecond: 50, defaultBurst: 100 },
  observability: { logRetentionDays: 365 },
};
