// The regional Surge stack: network, load balancer, the four fleets, queues, database, cache, the
// CloudFront edge and observability, composed from one environment's config.
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { type FleetConfig, type FleetName, type SaleEvent, SERVICE_NAMES, type ServiceName, type SurgeConfig } from '../config';
import { Cache } from '../construct/cache';
import { Database } from '../construct/database';
import { Edge } from '../construct/edge';
import { EventQueue } from '../construct/event-queue';
import type { SaleWindow } from '../construct/fleet-scaling';
import { LoadBalancer } from '../construct/load-balancer';
import { Network } from '../construct/network';
import { Observability } from '../construct/observability';
import { ServiceFleet } from '../construct/service-fleet';
import { FleetOutputs, type QueueName, QueueOutputs, StackOutputs } from './outputs';

/** ALB routes per service (the contract with the services' route prefixes). */
export const SERVICE_ROUTES: Record<ServiceName, { readonly priority: number; readonly pathPatterns: readonly string[] }> = {
  user: { priority: 10, pathPatterns: ['/api/users*'] },
  order: { priority: 20, pathPatterns: ['/api/orders*', '/api/products*'] },
  payment: { priority: 30, pathPatterns: ['/api/payments*'] },
};

/** The queues the services exchange events through (names shared with services/). */
export const QUEUE_NAMES: readonly QueueName[] = ['order-placed', 'payment-result'];

export interface SurgeStackProps extends StackProps {
  readonly config: SurgeConfig;
  /**
   * ARN of the CLOUDFRONT-scope web ACL (from the us-east-1 stack).
   * @default - the distribution has no web ACL
   */
  readonly webAclArn?: string;
  /**
   * The time sale events are compared with (a test seam).
   * @default - the time of synthesis
   */
  readonly now?: Date;
}

export class SurgeStack extends Stack {
  public readonly config: SurgeConfig;
  public readonly network: Network;
  public readonly loadBalancer: LoadBalancer;
  /** Receives every fleet's launch / terminate notifications. */
  public readonly fleetEvents: sns.Topic;
  public readonly fleets: Record<FleetName, ServiceFleet>;
  public readonly queues: Record<QueueName, EventQueue>;
  public readonly database: Database;
  public readonly cache: Cache;
  public readonly edge: Edge;
  public readonly observability: Observability;

  constructor(scope: Construct, id: string, props: SurgeStackProps) {
    super(scope, id, { ...props, crossRegionReferences: true });
    const { config } = props;
    this.config = config;
    const retention = config.observability.logRetentionDays as logs.RetentionDays;
    const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.network = new Network(this, 'Network', {
      cidr: config.network.cidr,
      availabilityZones: config.availabilityZones,
      natGateways: config.network.natGateways,
      interfaceEndpoints: config.network.interfaceEndpoints,
      flowLogRetention: config.network.flowLogRetentionDays as logs.RetentionDays,
      removalPolicy,
    });
    const vpc = this.network.vpc;

    const lb = config.loadBalancer;
    this.loadBalancer = new LoadBalancer(this, 'LoadBalancer', {
      vpc,
      cloudFrontPrefixListId: lb.cloudFrontPrefixListId,
      certificate: config.domain
        ? acm.Certificate.fromCertificateArn(this, 'LoadBalancerCertificate', config.domain.loadBalancerCertificateArn)
        : undefined,
      deletionProtection: lb.deletionProtection,
      idleTimeout: Duration.seconds(lb.idleTimeoutSeconds),
      accessLogRetention: Duration.days(lb.accessLogRetentionDays),
    });

    this.queues = Object.fromEntries(
      QUEUE_NAMES.map((name) => [
        name,
        new EventQueue(this, queueConstructId(name), {
          name,
          queueNamePrefix: `surge-${config.envName}-`,
          handlerTimeout: Duration.seconds(config.queues.handlerTimeoutSeconds),
          maxReceiveCount: config.queues.maxReceiveCount,
          oldestMessageAlarmAge: Duration.seconds(config.queues.oldestMessageAlarmSeconds),
        }),
      ]),
    ) as Record<QueueName, EventQueue>;

    this.fleetEvents = new sns.Topic(this, 'FleetEvents', { displayName: `Surge ${config.envName} fleet lifecycle events`, enforceSSL: true });
    Validations.of(this.fleetEvents).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason: 'Carries only instance IDs and group names from EC2 Auto Scaling; a customer managed key would need a key policy naming the Auto Scaling service-linked role, which does not exist in a fresh account before the first group.',
    });

    const saleWindows = config.saleEvents.map(toSaleWindow);
    this.warnAboutPastSales(saleWindows, props.now ?? new Date());
    const shared = { vpc, notificationTopic: this.fleetEvents, saleWindows };

    const serviceFleets = Object.fromEntries(
      SERVICE_NAMES.map((name) => {
        const targetGroup = this.loadBalancer.addServiceRoute(name, {
          ...SERVICE_ROUTES[name],
          port: 8080,
          healthCheckPath: '/health/ready',
          deregistrationDelay: Duration.seconds(lb.deregistrationDelaySeconds),
          slowStart: lb.slowStartSeconds > 0 ? Duration.seconds(lb.slowStartSeconds) : undefined,
        });
        const fleet = new ServiceFleet(this, fleetConstructId(name), {
          ...shared,
          ...fleetSizing(name, config.fleets[name]),
          targetGroup,
          requestsPerTargetPerMinute: config.fleets[name].requestsPerTargetPerMinute,
        });
        return [name, fleet];
      }),
    ) as Record<ServiceName, ServiceFleet>;

    const workerFleet = new ServiceFleet(this, fleetConstructId('worker'), {
      ...shared,
      ...fleetSizing('worker', config.fleets.worker),
      backlog: { queues: QUEUE_NAMES.map((name) => this.queues[name].queue), messagesPerInstance: config.fleets.worker.backlogPerInstance },
    });
    this.fleets = { ...serviceFleets, worker: workerFleet };

    // The worker fleet runs both consumers and both outbox relays, so it alone touches the queues.
    for (const name of QUEUE_NAMES) {
      this.queues[name].queue.grantConsumeMessages(workerFleet.role);
      this.queues[name].queue.grantSendMessages(workerFleet.role);
    }

    this.database = new Database(this, 'Database', {
      vpc,
      instanceType: new ec2.InstanceType(config.database.instanceClass),
      readers: config.database.readers,
      backupRetention: Duration.days(config.database.backupRetentionDays),
      removalPolicy: config.retainData ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      deletionProtection: config.retainData,
      logRetention: retention,
    });

    this.cache = new Cache(this, 'Cache', {
      vpc,
      nodeType: config.cache.nodeType,
      shards: config.cache.shards,
      replicasPerShard: config.cache.replicasPerShard,
      clusterMode: config.cache.clusterMode,
      snapshotRetentionDays: config.cache.snapshotRetentionDays,
      removalPolicy: config.retainData ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      logRetention: retention,
    });

    // Every fleet runs service code that reads and writes the database and the cache.
    for (const [name, fleet] of Object.entries(this.fleets)) {
      this.database.allowFrom(fleet.securityGroup, `Surge ${name} fleet to Aurora PostgreSQL`);
      this.database.grantReadCredentials(fleet.role);
      this.cache.allowFrom(fleet.securityGroup, `Surge ${name} fleet to the Valkey cache`);
      this.cache.grantReadAuthToken(fleet.role);
    }

    this.edge = new Edge(this, 'Edge', {
      loadBalancer: this.loadBalancer.alb,
      originVerifyValue: this.loadBalancer.originVerifySecret.secretValue,
      originVerifyHeaderName: this.loadBalancer.originVerifyHeaderName,
      loadBalancerOriginDomainName: config.domain?.originDomainName,
      domainNames: config.domain ? [...config.domain.domainNames] : undefined,
      certificate: config.domain
        ? acm.Certificate.fromCertificateArn(this, 'CloudFrontCertificate', config.domain.cloudFrontCertificateArn)
        : undefined,
      webAclArn: props.webAclArn,
      accessLogRetention: Duration.days(lb.accessLogRetentionDays),
    });

    this.observability = new Observability(this, 'Observability', {
      loadBalancer: this.loadBalancer.alb,
      fleets: (Object.entries(this.fleets) as [FleetName, ServiceFleet][]).map(([name, fleet]) => ({
        name,
        autoScalingGroup: fleet.autoScalingGroup,
        targetGroup: fleet.targetGroup,
      })),
      cache: this.cache,
      queues: QUEUE_NAMES.map((name) => this.queues[name]),
      databaseCluster: this.database.cluster,
      alarms: QUEUE_NAMES.flatMap((name) => this.queues[name].alarms),
      alarmEmail: config.observability.alarmEmail,
      dashboardName: `Surge-${config.envName}`,
    });

    this.addOutputs();
  }

  /** EC2 Auto Scaling rejects one-time scheduled actions in the past, which would fail the deployment. */
  private warnAboutPastSales(windows: readonly SaleWindow[], now: Date): void {
    for (const window of windows) {
      const prewarmAt = new Date(window.start.getTime() - window.prewarmMinutes * 60_000);
      if (prewarmAt.getTime() <= now.getTime()) {
        Annotations.of(this).addWarningV2(
          'surge:sale-event-in-past',
          `Sale event "${window.name}" pre-warms at ${prewarmAt.toISOString()}, which is not in the future: deploying will fail. Move or remove it in the ${this.config.envName} config.`,
        );
      }
    }
  }

  private addOutputs(): void {
    for (const [name, fleet] of Object.entries(this.fleets) as [FleetName, ServiceFleet][]) {
      new CfnOutput(this, FleetOutputs[name], { value: fleet.autoScalingGroup.autoScalingGroupName });
    }
    for (const name of QUEUE_NAMES) {
      new CfnOutput(this, QueueOutputs[name].queueUrl, { value: this.queues[name].queue.queueUrl });
      new CfnOutput(this, QueueOutputs[name].dlqUrl, { value: this.queues[name].deadLetterQueue.queueUrl });
    }
    new CfnOutput(this, StackOutputs.databaseClusterIdentifier, { value: this.database.cluster.clusterIdentifier });
    new CfnOutput(this, StackOutputs.cacheReplicationGroupId, { value: this.cache.replicationGroupId });
    new CfnOutput(this, StackOutputs.distributionId, { value: this.edge.distribution.distributionId });
    new CfnOutput(this, 'DistributionDomainName', { value: this.edge.distribution.distributionDomainName });
  }
}

/** Construct IDs are a contract (renaming one replaces the resource): keep these stable. */
function fleetConstructId(name: FleetName): string {
  return `${name[0].toUpperCase()}${name.slice(1)}Fleet`;
}

function queueConstructId(name: QueueName): string {
  return name.split('-').map((part) => `${part[0].toUpperCase()}${part.slice(1)}`).join('') + 'Queue';
}

/** The config-derived part of a fleet's props. */
function fleetSizing(name: FleetName, fleet: FleetConfig) {
  return {
    fleetName: name,
    instanceType: new ec2.InstanceType(fleet.instanceType),
    minCapacity: fleet.minCapacity,
    maxCapacity: fleet.maxCapacity,
    cpuTargetPercent: fleet.cpuTargetPercent,
    volumeSizeGiB: fleet.volumeSizeGiB,
    healthCheckGracePeriod: Duration.seconds(fleet.healthCheckGraceSeconds),
  };
}

function toSaleWindow(event: SaleEvent): SaleWindow {
  return {
    name: event.name,
    start: new Date(event.start),
    end: new Date(event.end),
    minCapacity: event.minCapacity,
    prewarmMinutes: event.prewarmMinutes ?? 30,
  };
}
