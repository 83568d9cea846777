// Development environment: the whole architecture at the smallest sizes that still exercise it
// (two AZs, one NAT gateway, one instance per fleet, one Aurora reader, one Redis replica).
import type { SurgeConfig } from './types';

export const dev: SurgeConfig = {
  envName: 'dev',
  region: 'us-west-2',
  availabilityZones: ['us-west-2a', 'us-west-2b'],
  retainData: false,
  network: {
    cidr: '10.10.0.0/16',
    natGateways: 1,
    // Everything goes through the single NAT gateway; endpoints would cost more than dev's traffic.
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
  fleets: {
    user: { instanceType: 't4g.small', minCapacity: 1, maxCapacity: 2, cpuTargetPercent: 70, volumeSizeGiB: 20, healthCheckGraceSeconds: 120, requestsPerTargetPerMinute: 3000 },
    order: { instanceType: 't4g.small', minCapacity: 1, maxCapacity: 2, cpuTargetPercent: 70, volumeSizeGiB: 20, healthCheckGraceSeconds: 120, requestsPerTargetPerMinute: 3000 },
    payment: { instanceType: 't4g.small', minCapacity: 1, maxCapacity: 2, cpuTargetPercent: 70, volumeSizeGiB: 20, healthCheckGraceSeconds: 120, requestsPerTargetPerMinute: 3000 },
    worker: { instanceType: 't4g.small', minCapacity: 1, maxCapacity: 2, cpuTargetPercent: 70, volumeSizeGiB: 20, healthCheckGraceSeconds: 120, backlogPerInstance: 100 },
  },
  saleEvents: [],
  database: { instanceClass: 't4g.medium', readers: 1, backupRetentionDays: 7 },
  cache: { nodeType: 'cache.t4g.small', clusterMode: false, shards: 1, replicasPerShard: 1, snapshotRetentionDays: 1 },
  queues: { maxReceiveCount: 5, handlerTimeoutSeconds: 30, oldestMessageAlarmSeconds: 300 },
  waf: { rateLimit: 1000, evaluationWindowSeconds: 300 },
  rateLimits: { ordersPerMinute: 20, loginPerMinute: 10, defaultPerSecond: 50, defaultBurst: 100 },
  observability: { logRetentionDays: 14 },
};
