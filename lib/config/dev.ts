// Development environment: the whole architecture at the smallest sizes that still exercise it, within
// $150 a month at idle (docs/COST.md says what each choice saves and gives up): two AZs, one t4g.nano
// NAT instance, one t4g.micro per fleet, an Aurora writer without readers, two cache.t4g.micro Valkey
// nodes (the replica keeps Multi-AZ failover exercised).
import type { SurgeConfig } from './types';

export const dev: SurgeConfig = {
  envName: 'dev',
  region: 'us-west-2',
  availabilityZones: ['us-west-2a', 'us-west-2b'],
  retainData: false,
  network: {
    cidr: '10.10.0.0/16',
    natGateways: 1,
    natInstanceType: 't4g.nano',
    // Everything goes through the single NAT instance; endpoints would cost more than dev's traffic.
    interfaceEndpoints: [],
    flowLogRetentionDays: 14,
  },
  loadBalancer: {
    cloudFrontPrefixListId: 'pl-82a045eb', // com.amazonaws.global.cloudfront.origin-facing in us-west-2
    deletionProtection: false,
    idleTimeoutSeconds: 60,
    deregistrationDelaySeconds: 30,
    slowStartSeconds: 0,
    accessLogRetentionDays: 30,
  },
  // t4g.micro: 1 GiB holds the two service processes node:cluster starts (one per vCPU, ~110-185 MB
  // each under load) plus the CloudWatch and SSM agents. 8 GiB is the image's own size, the smallest allowed.
  fleets: {
    user: { instanceType: 't4g.micro', minCapacity: 1, maxCapacity: 2, cpuTargetPercent: 70, volumeSizeGiB: 8, healthCheckGraceSeconds: 120, requestsPerTargetPerMinute: 3000 },
    order: { instanceType: 't4g.micro', minCapacity: 1, maxCapacity: 2, cpuTargetPercent: 70, volumeSizeGiB: 8, healthCheckGraceSeconds: 120, requestsPerTargetPerMinute: 3000 },
    payment: { instanceType: 't4g.micro', minCapacity: 1, maxCapacity: 2, cpuTargetPercent: 70, volumeSizeGiB: 8, healthCheckGraceSeconds: 120, requestsPerTargetPerMinute: 3000 },
    worker: { instanceType: 't4g.micro', minCapacity: 1, maxCapacity: 2, cpuTargetPercent: 70, volumeSizeGiB: 8, healthCheckGraceSeconds: 120, backlogPerInstance: 100 },
  },
  saleEvents: [],
  // No readers: the reader endpoint then resolves to the writer, so the services run unchanged.
  database: { instanceClass: 't4g.medium', readers: 0, backupRetentionDays: 7 },
  cache: { nodeType: 'cache.t4g.micro', clusterMode: false, shards: 1, replicasPerShard: 1, snapshotRetentionDays: 1 },
  queues: { maxReceiveCount: 5, handlerTimeoutSeconds: 30, oldestMessageAlarmSeconds: 300 },
  waf: { rateLimit: 1000, evaluationWindowSeconds: 300 },
  rateLimits: { ordersPerMinute: 20, loginPerMinute: 10, loginAccountPerMinute: 10, registerPerMinute: 5, defaultPerSecond: 50, defaultBurst: 100 },
  observability: { logRetentionDays: 14 },
};
