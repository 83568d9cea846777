// The regional Surge stack: network, load balancer, the four fleets, queues, database, cache, the
// CloudFront edge with the web storefront, and observability, composed from one environment's config.
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { type FleetConfig, type FleetName, type SaleEvent, SERVICE_NAMES, type ServiceName, type SurgeConfig } from '../config';
import { Cache } from '../construct/cache';
import { Database } from '../construct/database';
import { DatabaseMigration } from '../construct/database-migration';
import { Edge } from '../construct/edge';
import { EventQueue } from '../construct/event-queue';
import type { SaleWindow } from '../construct/fleet-scaling';
import { LoadBalancer } from '../construct/load-balancer';
import { Network } from '../construct/network';
import { Observability } from '../construct/observability';
import { ServiceFleet, type ServiceRelease } from '../construct/service-fleet';
import { Storefront } from '../construct/storefront';
import { TokenPublicKeys } from '../construct/token-public-keys';
import { INSTANCE_PATHS, RDS_CA_BUNDLE_URL } from '../deploy/boot-script';
import { schemaOf } from '../../services/platform/ownership';
import { bundleDeploymentStep, bundleFleet, DEPLOYMENT_STEP_HANDLER } from '../deploy/bundle';
import { buildStorefront } from '../../web/build';
import { FleetOutputs, type QueueName, QueueOutputs, StackOutputs } from './outputs';

/** ALB routes per service (the contract with the services' route prefixes). */
export const SERVICE_ROUTES: Record<ServiceName, { readonly priority: number; readonly pathPatterns: readonly string[] }> = {
  user: { priority: 10, pathPatterns: ['/api/users*'] },
  order: { priority: 20, pathPatterns: ['/api/orders*', '/api/products*', '/api/waiting-room*'] },
  payment: { priority: 30, pathPatterns: ['/api/payments*'] },
};

/**
 * The PostgreSQL roles each fleet logs in as, with IAM database authentication: each service's own
 * (its migrations create it and, on Aurora, grant it rds_iam). The worker fleet runs the order and the
 * payment workers, each under its service's role.
 */
export const FLEET_DATABASE_USERS: Record<FleetName, readonly string[]> = {
  user: [schemaOf('user')],
  order: [schemaOf('order')],
  payment: [schemaOf('payment')],
  worker: [schemaOf('order'), schemaOf('payment')],
};

/** The fleets that verify login tokens but never sign them: they get the public keys only. */
const VERIFYING_FLEETS: readonly FleetName[] = ['order', 'payment', 'worker'];

/** The port every service process listens on (the target groups' port). */
export const SERVICE_PORT = 8080;

/** The queues the services exchange events through (names shared with services/), as listed in outputs.ts. */
export const QUEUE_NAMES = Object.keys(QueueOutputs) as readonly QueueName[];

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
  /** Applies the migrations during deployment; every fleet's Auto Scaling group waits for it. */
  public readonly migration: DatabaseMigration;
  public readonly cache: Cache;
  /** The seed of the key login tokens are signed with (generated; read by the user fleet alone). */
  public readonly tokenSigningKey: secretsmanager.Secret;
  /** The public keys verifying login tokens, derived from `tokenSigningKey`; read by the other fleets. */
  public readonly tokenPublicKeys: TokenPublicKeys;
  /**
   * The key the order fleet signs waiting-room tickets and admission tokens with (its own, so it
   * changes apart from the login key); only when a sale event has a waiting room.
   */
  public readonly waitingRoomKey?: secretsmanager.Secret;
  public readonly edge: Edge;
  /** The web storefront in the edge's static bucket. */
  public readonly storefront: Storefront;
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
      natInstanceType: config.network.natInstanceType ? new ec2.InstanceType(config.network.natInstanceType) : undefined,
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

    this.database = new Database(this, 'Database', {
      vpc,
      instanceType: new ec2.InstanceType(config.database.instanceClass),
      readers: config.database.readers,
      backupRetention: Duration.days(config.database.backupRetentionDays),
      removalPolicy: config.retainData ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      deletionProtection: config.retainData,
      logRetention: retention,
    });

    this.migration = new DatabaseMigration(this, 'Migration', {
      vpc,
      database: this.database,
      bundleDirectory: bundleDeploymentStep('migration-step'),
      handler: DEPLOYMENT_STEP_HANDLER,
      environment: {
        DB_WRITER_HOST: this.database.writerEndpoint.hostname,
        DB_PORT: String(this.database.port),
        DB_NAME: this.database.databaseName,
        DB_SECRET_ARN: this.database.secret.secretArn,
        DB_CA_BUNDLE_URL: RDS_CA_BUNDLE_URL,
      },
      logRetention: retention,
      logRemovalPolicy: removalPolicy,
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

    // The services derive the Ed25519 key that signs login tokens from this random value
    // (services/platform/auth.ts tokenKeyFromSecret); `npm run rotate-token-key` puts a new one and
    // the old one stays as AWSPREVIOUS, which still verifies.
    this.tokenSigningKey = new secretsmanager.Secret(this, 'TokenSigningKey', {
      description: `Surge ${config.envName}: seed of the Ed25519 key signing login tokens (rotate: npm run rotate-token-key)`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(this.tokenSigningKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Rotated by `npm run rotate-token-key` (ops/rotate-token-key.ts), not by a rotation Lambda: the services accept the current and the previous key (AWSPREVIOUS), so a rotation logs no one out; run it no more often than the token lifetime.',
    });

    // Its public half, for the fleets that only verify tokens.
    this.tokenPublicKeys = new TokenPublicKeys(this, 'TokenPublicKeys', {
      signingKey: this.tokenSigningKey,
      bundleDirectory: bundleDeploymentStep('token-public-keys'),
      handler: DEPLOYMENT_STEP_HANDLER,
      parameterName: `/surge/${config.envName}/token-public-keys`,
      logRetention: retention,
      logRemovalPolicy: removalPolicy,
    });

    if (config.saleEvents.some((event) => event.waitingRoom)) {
      this.waitingRoomKey = new secretsmanager.Secret(this, 'WaitingRoomKey', {
        description: `Surge ${config.envName}: HS256 key signing waiting-room tickets and admission tokens`,
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
      });
      Validations.of(this.waitingRoomKey).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'The order fleet reads this key at start and accepts one key at a time; rotating it during a sale would void the tickets and admissions in hand. Rotate by hand between sales (docs/FORKING.md).',
      });
    }

    const saleWindows = config.saleEvents.map(toSaleWindow);
    this.warnAboutPastSales(saleWindows, props.now ?? new Date());
    this.warnAboutPlaceholderDomain();
    const shared = { vpc, notificationTopic: this.fleetEvents, saleWindows };

    const serviceFleets = Object.fromEntries(
      SERVICE_NAMES.map((name) => {
        const targetGroup = this.loadBalancer.addServiceRoute(name, {
          ...SERVICE_ROUTES[name],
          port: SERVICE_PORT,
          deregistrationDelay: Duration.seconds(lb.deregistrationDelaySeconds),
          slowStart: lb.slowStartSeconds > 0 ? Duration.seconds(lb.slowStartSeconds) : undefined,
        });
        const fleet = new ServiceFleet(this, fleetConstructId(name), {
          ...shared,
          ...fleetSizing(name, config.fleets[name]),
          targetGroup,
          requestsPerTargetPerMinute: config.fleets[name].requestsPerTargetPerMinute,
          release: this.release(name, removalPolicy),
        });
        return [name, fleet];
      }),
    ) as Record<ServiceName, ServiceFleet>;

    const workerFleet = new ServiceFleet(this, fleetConstructId('worker'), {
      ...shared,
      ...fleetSizing('worker', config.fleets.worker),
      backlog: { queues: QUEUE_NAMES.map((name) => this.queues[name].queue), messagesPerInstance: config.fleets.worker.backlogPerInstance },
      release: this.release('worker', removalPolicy),
    });
    this.fleets = { ...serviceFleets, worker: workerFleet };
    // No fleet is created or rolled (instance refresh) before the schema its code expects exists, and
    // none that verifies tokens before their public keys are published.
    this.migration.runBefore(...Object.values(this.fleets).map((fleet) => fleet.autoScalingGroup));
    this.tokenPublicKeys.runBefore(...VERIFYING_FLEETS.map((name) => this.fleets[name].autoScalingGroup));

    // The worker fleet runs both consumers and both outbox relays, so it alone touches the queues.
    for (const name of QUEUE_NAMES) {
      this.queues[name].queue.grantConsumeMessages(workerFleet.role);
      this.queues[name].queue.grantSendMessages(workerFleet.role);
    }

    // Every fleet runs service code that reads and writes the database and the cache. It logs in to
    // the database as its services' own roles with IAM tokens: only the migration step reads the
    // master secret, so its rotation never touches a fleet.
    for (const [name, fleet] of Object.entries(this.fleets) as [FleetName, ServiceFleet][]) {
      this.database.allowFrom(fleet.securityGroup, `Surge ${name} fleet to Aurora PostgreSQL`);
      for (const user of FLEET_DATABASE_USERS[name]) this.database.grantConnect(fleet.role, user);
      this.cache.allowFrom(fleet.securityGroup, `Surge ${name} fleet to the Valkey cache`);
      this.cache.grantReadAuthToken(fleet.role);
    }
    // Only the user fleet signs tokens; the others verify with the public keys, so a compromised
    // order, payment or worker instance cannot mint them.
    this.tokenSigningKey.grantRead(this.fleets.user.role);
    for (const name of VERIFYING_FLEETS) this.tokenPublicKeys.parameter.grantRead(this.fleets[name].role);
    // Only the order fleet runs the waiting room and checks admissions.
    this.waitingRoomKey?.grantRead(this.fleets.order.role);

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

    this.storefront = new Storefront(this, 'Storefront', {
      bucket: this.edge.staticBucket,
      distribution: this.edge.distribution,
      buildDirectory: buildStorefront(),
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
      databaseReaders: config.database.readers,
      alarms: QUEUE_NAMES.flatMap((name) => this.queues[name].alarms),
      alarmEmail: config.observability.alarmEmail,
      dashboardName: `Surge-${config.envName}`,
    });

    this.addOutputs();
  }

  /**
   * What one fleet runs: its bundle and the environment its processes read (services/platform/config.ts).
   * No fleet applies migrations (the deployment's migration step does, see docs/ARCHITECTURE.md,
   * "Deployment"); only the worker fleet gets queue URLs.
   */
  private release(name: FleetName, removalPolicy: RemovalPolicy): ServiceRelease {
    const { config } = this;
    const environment: Record<string, string> = {
      SURGE_ENV: config.envName,
      PORT: String(SERVICE_PORT),
      AWS_REGION: this.region,
      DB_WRITER_HOST: this.database.writerEndpoint.hostname,
      DB_READER_HOST: this.database.readerEndpoint.hostname,
      DB_PORT: String(this.database.port),
      DB_NAME: this.database.databaseName,
      DB_AUTH: 'iam',
      DB_CA_BUNDLE: INSTANCE_PATHS.rdsCaBundle,
      REDIS_HOST: this.cache.endpointAddress,
      REDIS_PORT: String(this.cache.port),
      REDIS_TLS: 'true',
      REDIS_AUTH_SECRET_ARN: this.cache.authToken.secretArn,
      RATE_LIMIT_ORDERS_PER_MINUTE: String(config.rateLimits.ordersPerMinute),
      RATE_LIMIT_LOGIN_PER_MINUTE: String(config.rateLimits.loginPerMinute),
      RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE: String(config.rateLimits.loginAccountPerMinute),
      RATE_LIMIT_REGISTER_PER_MINUTE: String(config.rateLimits.registerPerMinute),
      RATE_LIMIT_DEFAULT_PER_SECOND: String(config.rateLimits.defaultPerSecond),
      RATE_LIMIT_DEFAULT_BURST: String(config.rateLimits.defaultBurst),
      QUEUE_HANDLER_TIMEOUT_MS: String(config.queues.handlerTimeoutSeconds * 1000),
      MIGRATE_ON_START: 'false',
    };
    if (name === 'user') environment.TOKEN_SIGNING_SECRET_ARN = this.tokenSigningKey.secretArn;
    else environment.TOKEN_PUBLIC_KEYS_SECRET_ARN = this.tokenPublicKeys.parameter.parameterArn;
    // A fleet of one service logs in as its role; the worker's processes pick a role per service.
    const databaseUsers = FLEET_DATABASE_USERS[name];
    if (databaseUsers.length === 1) environment.DB_USER = databaseUsers[0];
    // The services then speak the cluster protocol, seeded by the configuration endpoint (REDIS_HOST).
    // Only set when on, so a stack without cluster mode renders the same environment as before.
    if (this.cache.clusterMode) environment.REDIS_CLUSTER = 'true';
    const waitingRooms = waitingRoomEvents(config.saleEvents);
    if (name === 'order' && waitingRooms.length > 0 && this.waitingRoomKey) {
      // Base64 of the JSON: the systemd environment file cannot carry its quotes.
      environment.WAITING_ROOM_EVENTS = Buffer.from(JSON.stringify(waitingRooms)).toString('base64');
      environment.WAITING_ROOM_ADMISSION_SECRET_ARN = this.waitingRoomKey.secretArn;
    }
    if (name === 'worker') {
      environment.ORDER_PLACED_QUEUE_URL = this.queues['order-placed'].queue.queueUrl;
      environment.PAYMENT_RESULT_QUEUE_URL = this.queues['payment-result'].queue.queueUrl;
      // The consumers receive with the queues' own visibility timeout and know when SQS dead-letters
      // (both queues are built from config.queues, so they agree; a test checks it).
      const queue = this.queues['order-placed'];
      environment.QUEUE_VISIBILITY_TIMEOUT_SECONDS = String(queue.visibilityTimeout.toSeconds());
      environment.QUEUE_MAX_RECEIVE_COUNT = String(queue.maxReceiveCount);
    }
    return {
      bundleDirectory: bundleFleet(name),
      environment,
      // Below the ALB's deregistration delay, so a target finishes draining before the ALB gives up on it.
      shutdownDeadline: Duration.seconds(config.loadBalancer.deregistrationDelaySeconds - 10),
      logRetention: config.observability.logRetentionDays as logs.RetentionDays,
      logRemovalPolicy: removalPolicy,
    };
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

  /** The shipped prod config names example.com and a documentation account: deploying it would fail on the certificates. */
  private warnAboutPlaceholderDomain(): void {
    const domain = this.config.domain;
    if (!domain) return;
    const placeholder = [...domain.domainNames, domain.originDomainName].some((name) => /(^|\.)example\.(com|org|net)$/.test(name)) ||
      [domain.cloudFrontCertificateArn, domain.loadBalancerCertificateArn].some((arn) => arn.split(':')[4] === '111122223333');
    if (placeholder) {
      Annotations.of(this).addWarningV2(
        'surge:placeholder-domain',
        `The ${this.config.envName} config's domain holds placeholders (example.com names or account 111122223333 certificates): deploying will fail until lib/config/${this.config.envName}.ts names your domain and ACM certificates.`,
      );
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
    // What `npm run rotate-token-key` needs.
    new CfnOutput(this, StackOutputs.tokenSigningKeyArn, { value: this.tokenSigningKey.secretArn });
    new CfnOutput(this, StackOutputs.tokenPublicKeysParameterName, { value: this.tokenPublicKeys.parameter.parameterName });
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

/** The order fleet's WAITING_ROOM_EVENTS (services/platform/config.ts parses it): events with a waiting room. */
export function waitingRoomEvents(events: readonly SaleEvent[]) {
  return events.flatMap((event) =>
    event.waitingRoom
      ? [
          {
            eventId: event.name,
            name: event.waitingRoom.title ?? event.name,
            startsAt: new Date(event.start).toISOString(),
            endsAt: new Date(event.end).toISOString(),
            productIds: event.waitingRoom.productIds.map((id) => id.toLowerCase()),
            inletPerSecond: event.waitingRoom.inletPerSecond,
          },
        ]
      : [],
  );
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
