// Cache: the ElastiCache for Valkey replication group the services use for cache-aside reads and
// rate limiting, with its AUTH token secret, subnet group, parameter group and security group.
//
// Why Valkey and not Redis OSS: Valkey is the Linux Foundation fork of Redis 7.2 that ElastiCache
// now leads with. It speaks the same protocol (ioredis, RESP, Lua, MULTI all work unchanged, and
// the local engine is Redis 7), node-based Valkey clusters cost about 20% less than the same Redis
// OSS nodes, and it stays under an open-source licence (Redis moved to RSAL/SSPL/AGPL), so a fork of
// this template never inherits a licence question. Engine and version are props, so switching back
// to `redis` is a one-line change.
import { RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface CacheProps {
  /** VPC the cache nodes live in. */
  readonly vpc: ec2.IVpc;

  /**
   * Subnets for the cache nodes; pick subnets in at least two AZs for Multi-AZ failover.
   * @default - the VPC's isolated subnets: the cache needs no route to the internet
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * ElastiCache node type. Needs in-transit encryption support (every current generation does).
   * @default 'cache.t4g.small'
   */
  readonly nodeType?: string;

  /**
   * Valkey engine version. Its major version picks the parameter group family (`valkey<major>`).
   * @default '8.0'
   */
  readonly engineVersion?: string;

  /**
   * TCP port the nodes listen on (1024-65535), deliberately not Redis' well-known 6379 so a
   * scanner that finds the network still has to guess.
   * @default 6390
   */
  readonly port?: number;

  /**
   * Shards (node groups), 1-90. More than one requires cluster mode.
   * @default 1
   */
  readonly shards?: number;

  /**
   * Read replicas per shard (1-5). At least one, so automatic failover has somewhere to go.
   * @default 1
   */
  readonly replicasPerShard?: number;

  /**
   * Cluster mode: keys are spread over `shards` shards and clients must use the cluster protocol
   * against the configuration endpoint. A single-shard cluster-mode group can add shards online.
   * @default - on when `shards` is more than 1, off otherwise
   */
  readonly clusterMode?: boolean;

  /**
   * Days automatic daily snapshots are kept (1-35).
   * @default 1
   */
  readonly snapshotRetentionDays?: number;

  /**
   * What happens to the replication group when it leaves the stack. `SNAPSHOT` keeps a final
   * snapshot; `DESTROY` deletes it (cached data can be rebuilt from the database).
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Customer managed KMS key for encryption at rest.
   * @default - the ElastiCache-owned key (still encrypted at rest)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * Retention of the slow-log log group the nodes publish to.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** A Multi-AZ, TLS-only, AUTH-protected Valkey replication group. */
export class Cache extends Construct implements ec2.IConnectable {
  /** The replication group. */
  public readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** The AUTH token, a plain-string secret; the template only holds a dynamic reference to it. */
  public readonly authToken: secretsmanager.Secret;
  /** Security group of the nodes; it admits only what `allowFrom` adds. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** Network access to the nodes, on the cache port. */
  public readonly connections: ec2.Connections;
  /** Port the nodes listen on. */
  public readonly port: number;
  /** Whether clients must speak the cluster protocol. */
  public readonly clusterMode: boolean;
  /** Shards (node groups) in the group. */
  public readonly shards: number;
  /** Read replicas per shard. */
  public readonly replicasPerShard: number;
  /**
   * Host clients connect to: the configuration endpoint in cluster mode, the primary endpoint otherwise.
   */
  public readonly endpointAddress: string;
  /** Replication group ID, the prefix of every node's CacheClusterId (for metrics). */
  public readonly replicationGroupId: string;
  /** Log group receiving the nodes' slow log. */
  public readonly slowLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    const nodeType = props.nodeType ?? 'cache.t4g.small';
    const engineVersion = props.engineVersion ?? '8.0';
    const port = props.port ?? 6390;
    const shards = props.shards ?? 1;
    const replicasPerShard = props.replicasPerShard ?? 1;
    const clusterMode = props.clusterMode ?? shards > 1;
    const snapshotRetentionDays = props.snapshotRetentionDays ?? 1;
    validate({ ...props, engineVersion, port, shards, replicasPerShard, clusterMode, snapshotRetentionDays });

    this.port = port;
    this.clusterMode = clusterMode;
    this.shards = shards;
    this.replicasPerShard = replicasPerShard;

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Valkey cache nodes: admits only the service fleets on the cache port',
      allowAllOutbound: false,
    });
    this.connections = new ec2.Connections({
      securityGroups: [this.securityGroup],
      defaultPort: ec2.Port.tcp(port),
    });

    // AUTH tokens allow 16-128 characters and only a few symbols; letters and digits alone avoid
    // every restricted character and survive URLs (rediss://:token@host) unescaped.
    this.authToken = new secretsmanager.Secret(this, 'AuthToken', {
      description: 'AUTH token of the Surge Valkey cache',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(this.authToken).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'ElastiCache AUTH tokens have no Secrets Manager managed rotation: a token change must go through ModifyReplicationGroup (AuthTokenUpdateStrategy ROTATE, then SET once every client uses the new token), so it is an operator runbook step, not a scheduled rotation.',
    });

    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: 'Subnets of the Surge Valkey cache',
      subnetIds: props.vpc.selectSubnets(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
    });

    const parameterGroup = new elasticache.CfnParameterGroup(this, 'ParameterGroup', {
      description: `Surge Valkey ${engineVersion}, cluster mode ${clusterMode ? 'on' : 'off'}`,
      cacheParameterGroupFamily: `valkey${engineVersion.split('.')[0]}`,
      properties: { 'cluster-enabled': clusterMode ? 'yes' : 'no' },
    });

    this.slowLogGroup = new logs.LogGroup(this, 'SlowLog', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const nodes = clusterMode
      ? { numNodeGroups: shards, replicasPerNodeGroup: replicasPerShard }
      : { numCacheClusters: replicasPerShard + 1 };

    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: 'Surge cache: cache-aside reads and rate-limit buckets',
      engine: 'valkey',
      engineVersion,
      cacheNodeType: nodeType,
      port,
      ...nodes,
      clusterMode: clusterMode ? 'enabled' : 'disabled',
      cacheParameterGroupName: parameterGroup.ref,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      multiAzEnabled: true,
      automaticFailoverEnabled: true,
      atRestEncryptionEnabled: true,
      kmsKeyId: props.encryptionKey?.keyArn,
      // transitEncryptionMode is left unset on purpose: a group created with transit encryption is in
      // mode `required` (TLS only), and CloudFormation documents setting `required` as the second
      // step of a preferred -> required migration of an existing group.
      transitEncryptionEnabled: true,
      // A dynamic reference ({{resolve:secretsmanager:...}}): CloudFormation reads the value at
      // deploy time, so the token never appears in the template or the cloud assembly.
      authToken: this.authToken.secretValue.unsafeUnwrap(),
      snapshotRetentionLimit: snapshotRetentionDays,
      autoMinorVersionUpgrade: true,
      logDeliveryConfigurations: [
        {
          destinationType: 'cloudwatch-logs',
          destinationDetails: { cloudWatchLogsDetails: { logGroup: this.slowLogGroup.logGroupName } },
          logFormat: 'json',
          logType: 'slow-log',
        },
      ],
    });
    this.replicationGroup.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.DESTROY);

    this.replicationGroupId = this.replicationGroup.ref;
    this.endpointAddress = clusterMode
      ? this.replicationGroup.attrConfigurationEndPointAddress
      : this.replicationGroup.attrPrimaryEndPointAddress;
  }

  /** Admits `peer` (a fleet's security group or ASG) to the cache port. */
  public allowFrom(peer: ec2.IConnectable, description = 'Service fleet to Valkey cache'): void {
    this.connections.allowDefaultPortFrom(peer, description);
  }

  /** Lets `grantee` read the AUTH token. */
  public grantReadAuthToken(grantee: iam.IGrantable): iam.Grant {
    return this.authToken.grantRead(grantee);
  }
}

interface ResolvedCacheProps extends CacheProps {
  readonly engineVersion: string;
  readonly port: number;
  readonly shards: number;
  readonly replicasPerShard: number;
  readonly clusterMode: boolean;
  readonly snapshotRetentionDays: number;
}

function validate(p: ResolvedCacheProps): void {
  const problems: string[] = [];
  const known = (v: unknown) => !Token.isUnresolved(v);
  const intIn = (v: number, min: number, max: number) => Number.isInteger(v) && v >= min && v <= max;

  if (known(p.port)) {
    if (!intIn(p.port, 1024, 65535)) problems.push(`port must be an integer from 1024 to 65535, got ${p.port}`);
    else if (p.port === 6379) problems.push('port must not be the well-known Redis port 6379');
  }
  if (known(p.shards) && !intIn(p.shards, 1, 90)) problems.push(`shards must be an integer from 1 to 90, got ${p.shards}`);
  if (known(p.shards) && p.shards > 1 && !p.clusterMode) {
    problems.push(`shards is ${p.shards} but clusterMode is off; more than one shard needs cluster mode`);
  }
  if (known(p.replicasPerShard) && !intIn(p.replicasPerShard, 1, 5)) {
    problems.push(`replicasPerShard must be an integer from 1 to 5 (automatic failover needs a replica), got ${p.replicasPerShard}`);
  }
  if (known(p.snapshotRetentionDays) && !intIn(p.snapshotRetentionDays, 1, 35)) {
    problems.push(`snapshotRetentionDays must be an integer from 1 to 35, got ${p.snapshotRetentionDays}`);
  }
  if (known(p.engineVersion) && !/^\d+\.\d+$/.test(p.engineVersion)) {
    problems.push(`engineVersion must look like '8.0', got '${p.engineVersion}'`);
  }
  if (p.nodeType !== undefined && known(p.nodeType) && !/^cache\.[a-z0-9]+\.[a-z0-9]+$/.test(p.nodeType)) {
    problems.push(`nodeType must look like 'cache.r7g.large', got '${p.nodeType}'`);
  }
  const subnets = p.vpc.selectSubnets(p.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
  const zones = new Set(subnets.availabilityZones);
  if (zones.size < 2 && !subnets.availabilityZones.some((az) => Token.isUnresolved(az))) {
    problems.push(`vpcSubnets must span at least two availability zones for Multi-AZ failover, got ${zones.size}`);
  }
  if (problems.length > 0) {
    throw new Error(`Invalid Cache props: ${problems.join('; ')}`);
  }
}

