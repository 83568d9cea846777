// The typed configuration of one Surge environment. A fork edits one file per environment
// (lib/config/dev.ts, lib/config/prod.ts); stacks and constructs receive these values and never
// read context or process.env themselves.

/** The three HTTP services, each with its own fleet and ALB path rules. */
export type ServiceName = 'user' | 'order' | 'payment';

/** Every Auto Scaling group Surge runs: the three services plus the queue `worker` fleet. */
export type FleetName = ServiceName | 'worker';

export const SERVICE_NAMES: readonly ServiceName[] = ['user', 'order', 'payment'];
export const FLEET_NAMES: readonly FleetName[] = ['user', 'order', 'payment', 'worker'];

/** AWS service interface endpoints the network construct knows how to add. */
export const INTERFACE_ENDPOINT_NAMES = ['sqs', 'logs', 'monitoring', 'secretsmanager', 'ssm', 'ssmmessages', 'ec2messages', 'kms'] as const;
export type InterfaceEndpointName = (typeof INTERFACE_ENDPOINT_NAMES)[number];

/** Settings shared by every fleet. */
export interface FleetConfig {
  /** EC2 instance type, e.g. `t4g.small`. The AMI's CPU architecture follows it (Graviton -> arm64). */
  readonly instanceType: string;
  /** Instances the group never goes below (outside sale events). */
  readonly minCapacity: number;
  /** Instances the group never goes above, sale events included. */
  readonly maxCapacity: number;
  /** Target average CPU utilization (percent) for target-tracking scaling. */
  readonly cpuTargetPercent: number;
  /** Root EBS volume size in GiB (gp3, encrypted). */
  readonly volumeSizeGiB: number;
  /** Seconds after launch before health checks can mark an instance unhealthy. */
  readonly healthCheckGraceSeconds: number;
}

/** A fleet behind the load balancer. */
export interface ServiceFleetConfig extends FleetConfig {
  /** Target ALB requests per instance per minute (ALBRequestCountPerTarget target tracking). */
  readonly requestsPerTargetPerMinute: number;
}

/** The queue worker fleet. */
export interface WorkerFleetConfig extends FleetConfig {
  /** Acceptable visible messages per in-service instance (backlog-per-instance target tracking). */
  readonly backlogPerInstance: number;
}

/** A planned sale: fleets pre-warm to `minCapacity` before `start` and release at `end`. */
export interface SaleEvent {
  /** Letters, digits and hyphens; unique. Used in resource IDs. */
  readonly name: string;
  /** Start, ISO 8601 in UTC (`2027-11-26T08:00:00Z`). Must be in the future when deployed. */
  readonly start: string;
  /** End, ISO 8601 in UTC; after `start`. */
  readonly end: string;
  /** Minimum instances per fleet while the event runs (pre-warm included). */
  readonly minCapacity: number;
  /** Minutes before `start` the fleets scale up. @default 30 */
  readonly prewarmMinutes?: number;
  /**
   * A virtual waiting room for the event's products (served by the order fleet): from `start` to
   * `end` shoppers queue, are admitted at the inlet rate, and only admitted shoppers may order them.
   * @default - no waiting room: the event only pre-warms the fleets
   */
  readonly waitingRoom?: SaleWaitingRoom;
}

/** The products a sale event sells through the waiting room, and how fast shoppers are let in. */
export interface SaleWaitingRoom {
  /** Catalog product ids (UUIDs) that need an admission while the event runs; each in one event only. */
  readonly productIds: readonly string[];
  /**
   * Shoppers admitted per second while the order fleet is healthy, 1-100000. The services halve it
   * while the order fleet's order latency is over its threshold and raise it back as it recovers.
   */
  readonly inletPerSecond: number;
  /** What shoppers see as the event's name. @default - the event's `name` */
  readonly title?: string;
}

/** Custom domain and certificates. Without it the app still synthesizes, on CloudFront's own name. */
export interface DomainConfig {
  /** Names viewers use, served by CloudFront (e.g. `shop.example.com`). */
  readonly domainNames: readonly string[];
  /** ACM certificate in us-east-1 covering `domainNames` (CloudFront only reads certificates there). */
  readonly cloudFrontCertificateArn: string;
  /** Name CloudFront uses to reach the ALB over HTTPS (a DNS record you point at the ALB). */
  readonly originDomainName: string;
  /** ACM certificate in the stack's region covering `originDomainName`, for the ALB's HTTPS listener. */
  readonly loadBalancerCertificateArn: string;
}

/**
 * A prod-like environment's explicit, named consent to run without a domain: CloudFront then reaches
 * the ALB over plain HTTP (passwords, tokens and the origin-verify header cross the internet
 * unencrypted) and viewers may use TLSv1 (the `*.cloudfront.net` certificate's fixed policy).
 */
export interface HttpOriginOptOut {
  /** Why this environment may do so (e.g. `a throwaway sales demo with test accounts only`); at least 20 characters. */
  readonly reason: string;
}

export interface NetworkConfig {
  /** VPC IPv4 CIDR, /16 or /17: each AZ takes a /20 private subnet plus /24 public and isolated subnets. */
  readonly cidr: string;
  /** NAT gateways (or NAT instances, with `natInstanceType`): one per AZ in prod for AZ independence, one in dev to save cost. */
  readonly natGateways: number;
  /**
   * Route egress through EC2 NAT instances of this type (Amazon Linux 2023, placed by CDK's
   * `NatProvider.instanceV2`, see lib/construct/network.ts) instead of managed NAT gateways. A t4g.nano costs about a tenth of a NAT
   * gateway and processes bytes for free, but it is an instance: its bandwidth is the instance's and a
   * failed instance cuts egress until EC2 recovers it. Graviton types get the arm64 image.
   * @default - managed NAT gateways
   */
  readonly natInstanceType?: string;
  /** Interface endpoints to add (an S3 gateway endpoint is always added: it is free). */
  readonly interfaceEndpoints: readonly InterfaceEndpointName[];
  /** VPC flow log retention in days (a CloudWatch Logs retention value). */
  readonly flowLogRetentionDays: number;
}

export interface LoadBalancerConfig {
  /**
   * ID of the `com.amazonaws.global.cloudfront.origin-facing` managed prefix list in `region`
   * (`aws ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing`).
   * The ALB security group admits only these addresses. Kept in config because a lookup would need AWS calls at synth.
   */
  readonly cloudFrontPrefixListId: string;
  /** Refuse deletion of the ALB (prod). */
  readonly deletionProtection: boolean;
  /** ALB idle timeout in seconds (1-69): the services' keep-alive (70 s) must outlast it. */
  readonly idleTimeoutSeconds: number;
  /** Seconds a deregistering target keeps serving in-flight requests (covers the services' 20 s drain). */
  readonly deregistrationDelaySeconds: number;
  /** Seconds a new target ramps up its share of requests; 0 turns slow start off, else 30-900. */
  readonly slowStartSeconds: number;
  /** Days ALB access logs are kept in S3. */
  readonly accessLogRetentionDays: number;
}

export interface DatabaseConfig {
  /** Instance class for the writer and every reader, without the `db.` prefix (e.g. `r7g.large`). */
  readonly instanceClass: string;
  /** Aurora readers (0-15); at least 1 for a failover target. */
  readonly readers: number;
  /** Automated backup retention in days (7-35). */
  readonly backupRetentionDays: number;
}

export interface CacheConfig {
  /** ElastiCache node type (e.g. `cache.r7g.large`). */
  readonly nodeType: string;
  /** Cluster mode: keys spread over `shards`; clients use the cluster protocol. Required for shards > 1. */
  readonly clusterMode: boolean;
  /** Shards (node groups), 1-90. */
  readonly shards: number;
  /** Replicas per shard (1-5); at least one for automatic failover. */
  readonly replicasPerShard: number;
  /** Days automatic snapshots are kept (1-35). */
  readonly snapshotRetentionDays: number;
}

export interface QueueConfig {
  /** Receives before a message moves to its DLQ. */
  readonly maxReceiveCount: number;
  /** The consumers' handler timeout in seconds (services' QUEUE_HANDLER_TIMEOUT_MS / 1000); visibility timeout derives from it. */
  readonly handlerTimeoutSeconds: number;
  /** Alarm when the oldest message is older than this many seconds. */
  readonly oldestMessageAlarmSeconds: number;
}

export interface WafConfig {
  /** Requests one client IP may send per evaluation window before WAF blocks it (10 - 2,000,000,000). */
  readonly rateLimit: number;
  /** Evaluation window in seconds: 60, 120, 300 or 600. */
  readonly evaluationWindowSeconds: number;
}

/** The services' per-client rate limits (token buckets in Redis), passed as RATE_LIMIT_* variables. */
export interface RateLimitConfig {
  /** Orders one client may place per minute (RATE_LIMIT_ORDERS_PER_MINUTE). */
  readonly ordersPerMinute: number;
  /** Login attempts one client address may make per minute (RATE_LIMIT_LOGIN_PER_MINUTE). */
  readonly loginPerMinute: number;
  /**
   * Login attempts on one account per minute, from any number of addresses (RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE):
   * what a botnet guessing one account's password gets.
   */
  readonly loginAccountPerMinute: number;
  /** Registrations one client address may make per minute (RATE_LIMIT_REGISTER_PER_MINUTE); each costs a password hash. */
  readonly registerPerMinute: number;
  /** Sustained requests per second per client on every other route (RATE_LIMIT_DEFAULT_PER_SECOND). */
  readonly defaultPerSecond: number;
  /** Requests a client may send at once on every other route (RATE_LIMIT_DEFAULT_BURST); at least defaultPerSecond. */
  readonly defaultBurst: number;
}

export interface ObservabilityConfig {
  /** Retention in days for every log group the app creates (a CloudWatch Logs retention value). */
  readonly logRetentionDays: number;
  /** Optional email subscribed to the alarm topic. */
  readonly alarmEmail?: string;
}

/** Everything that differs between environments. */
export interface SurgeConfig {
  /** Environment name, used in stack names (`Surge-<envName>`). */
  readonly envName: string;
  /** Target account; when absent the CDK default account (from credentials) or none (env-agnostic). */
  readonly account?: string;
  /** Target region for the regional stack (the WAF stack always goes to us-east-1). */
  readonly region: string;
  /** Availability zones in `region`, listed so synth needs no AWS lookup: 3 in prod, 2 in dev. */
  readonly availabilityZones: readonly string[];
  /** Production-grade data protection: deletion protection, snapshots on delete, retained buckets. */
  readonly retainData: boolean;
  readonly network: NetworkConfig;
  /** Custom domain and certificates: HTTPS from viewer to CloudFront (TLSv1.2_2021) and from CloudFront to the ALB. Required when prod-like, unless `allowHttpOrigin`. */
  readonly domain?: DomainConfig;
  /**
   * Lets a prod-like environment (`retainData: true`, or named `prod`) synthesize without `domain`.
   * @default - a prod-like environment without `domain` is refused by validateConfig
   */
  readonly allowHttpOrigin?: HttpOriginOptOut;
  readonly loadBalancer: LoadBalancerConfig;
  readonly fleets: {
    readonly user: ServiceFleetConfig;
    readonly order: ServiceFleetConfig;
    readonly payment: ServiceFleetConfig;
    readonly worker: WorkerFleetConfig;
  };
  readonly saleEvents: readonly SaleEvent[];
  readonly database: DatabaseConfig;
  readonly cache: CacheConfig;
  readonly queues: QueueConfig;
  readonly waf: WafConfig;
  readonly rateLimits: RateLimitConfig;
  readonly observability: ObservabilityConfig;
}
