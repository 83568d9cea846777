// Database: the Aurora PostgreSQL 16 cluster (writer plus N same-size readers) holding users,
// catalog, orders and payments, with RDS-managed rotating credentials, IAM auth, TLS-only
// connections, encrypted storage, exported PostgreSQL logs and a security group that admits only
// the service fleets.
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface DatabaseProps {
  /** VPC the cluster lives in. */
  readonly vpc: ec2.IVpc;

  /**
   * Subnets for the cluster's instances (at least two AZs).
   * @default - the VPC's isolated subnets: the database needs no route to the internet
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Instance class of the writer and of every reader. Readers match the writer so a failover never
   * lands the whole load on a smaller machine.
   * @default - r7g.large (memory-optimised Graviton)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * Reader instances (0-15) besides the writer; at least 1 gives a failover target in another AZ.
   * @default 1
   */
  readonly readers?: number;

  /**
   * Aurora PostgreSQL 16 engine version.
   * @default rds.AuroraPostgresEngineVersion.VER_16_9
   */
  readonly engineVersion?: rds.AuroraPostgresEngineVersion;

  /**
   * Port PostgreSQL listens on (1150-65535), deliberately not the well-known 5432.
   * @default 5433
   */
  readonly port?: number;

  /**
   * Database created in the cluster; the services' migrations run in it.
   * @default 'surge'
   */
  readonly databaseName?: string;

  /**
   * Master user name. RDS generates its password, keeps it in Secrets Manager and rotates it.
   * @default 'surge_admin'
   */
  readonly masterUsername?: string;

  /**
   * How long automated backups (point-in-time restore) are kept, 7-35 days.
   * @default Duration.days(7)
   */
  readonly backupRetention?: Duration;

  /**
   * What happens to the cluster when it leaves the stack: `SNAPSHOT` (production) keeps a final
   * snapshot, `DESTROY` (throwaway environments) deletes it with its data.
   * @default RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Refuse DeleteDBCluster calls until this is turned off.
   * @default - true unless `removalPolicy` is `DESTROY`
   */
  readonly deletionProtection?: boolean;

  /**
   * Customer managed KMS key for storage encryption.
   * @default - the AWS managed `aws/rds` key (storage is always encrypted)
   */
  readonly storageEncryptionKey?: kms.IKey;

  /**
   * Retention of the exported PostgreSQL log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** An Aurora PostgreSQL cluster for the Surge services. */
export class Database extends Construct implements ec2.IConnectable {
  /** The cluster. */
  public readonly cluster: rds.DatabaseCluster;
  /**
   * Master credentials, JSON `{ "username", "password" }`, created and rotated (every 7 days) by
   * RDS. Whoever reads it (`grantReadCredentials`) must re-read it when a login fails; services
   * rather log in as their own roles with IAM tokens (`grantConnect`).
   */
  public readonly secret: secretsmanager.ISecret;
  /** Security group of the cluster; it admits only what `allowFrom` adds. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** Network access to the cluster on its port. */
  public readonly connections: ec2.Connections;
  /** Read/write endpoint (follows the writer through failovers). */
  public readonly writerEndpoint: rds.Endpoint;
  /** Load-balanced endpoint over the readers (the writer when there are none). */
  public readonly readerEndpoint: rds.Endpoint;
  /** Port the cluster listens on. */
  public readonly port: number;
  /** Database the services use. */
  public readonly databaseName: string;
  /** Log group receiving the exported `postgresql` log. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const instanceType = props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.R7G, ec2.InstanceSize.LARGE);
    const readers = props.readers ?? 1;
    const port = props.port ?? 5433;
    const databaseName = props.databaseName ?? 'surge';
    const masterUsername = props.masterUsername ?? 'surge_admin';
    const backupRetention = props.backupRetention ?? Duration.days(7);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.SNAPSHOT;
    const deletionProtection = props.deletionProtection ?? removalPolicy !== RemovalPolicy.DESTROY;
    validate({ ...props, readers, port, databaseName, masterUsername, backupRetention });

    this.port = port;
    this.databaseName = databaseName;

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Aurora PostgreSQL: admits only the service fleets on the database port',
      allowAllOutbound: false,
    });

    // The exported log group's name derives from the cluster identifier, so the identifier is fixed
    // here and the log group is created (with its retention) before RDS starts writing to it.
    const clusterIdentifier = `${Stack.of(this).stackName}-${id}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-');
    this.logGroup = new logs.LogGroup(this, 'PostgresqlLog', {
      logGroupName: `/aws/rds/cluster/${clusterIdentifier}/postgresql`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      // Log groups cannot be snapshotted: keep them whenever the data is kept.
      removalPolicy: removalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });

    const engine = rds.DatabaseClusterEngine.auroraPostgres({
      version: props.engineVersion ?? rds.AuroraPostgresEngineVersion.VER_16_9,
    });
    const instanceProps = { instanceType, autoMinorVersionUpgrade: true };
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine,
      clusterIdentifier,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.securityGroup],
      port,
      defaultDatabaseName: databaseName,
      credentials: rds.Credentials.fromUsername(masterUsername),
      // RDS keeps the password in Secrets Manager and rotates it itself: no rotation Lambda, and
      // no network path from a Lambda to the database and to Secrets Manager to maintain.
      manageMasterUserPassword: true,
      iamAuthentication: true,
      storageEncrypted: true,
      storageEncryptionKey: props.storageEncryptionKey,
      // A cluster parameter group: force_ssl refuses any connection that does not use TLS.
      parameters: { 'rds.force_ssl': '1' },
      writer: rds.ClusterInstance.provisioned('Writer', instanceProps),
      // Promotion tier 1 makes every reader an equal failover target.
      readers: Array.from({ length: readers }, (_, i) =>
        rds.ClusterInstance.provisioned(`Reader${i + 1}`, { ...instanceProps, promotionTier: 1 }),
      ),
      backup: { retention: backupRetention },
      cloudwatchLogsExports: ['postgresql'],
      deletionProtection,
      removalPolicy,
      copyTagsToSnapshot: true,
    });
    this.cluster.node.addDependency(this.logGroup);

    if (!deletionProtection) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: `Deletion protection is off because this environment is configured as disposable (deletionProtection false, removalPolicy ${removalPolicy}) so that cdk destroy can remove it; production configurations keep it on.`,
      });
    }

    const cfnCluster = this.cluster.node.defaultChild as rds.CfnDBCluster;
    this.secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'MasterSecret', cfnCluster.attrMasterUserSecretSecretArn);
    // Literal ports (not the cluster's Endpoint.Port attribute) keep security group rules and
    // instance environment readable in the template.
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup], defaultPort: ec2.Port.tcp(port) });
    this.writerEndpoint = new rds.Endpoint(this.cluster.clusterEndpoint.hostname, port);
    this.readerEndpoint = new rds.Endpoint(this.cluster.clusterReadEndpoint.hostname, port);
  }

  /** Admits `peer` (a fleet's security group or ASG) to the database port. */
  public allowFrom(peer: ec2.IConnectable, description = 'Service fleet to Aurora PostgreSQL'): void {
    this.connections.allowDefaultPortFrom(peer, description);
  }

  /** Lets `grantee` read the master credentials secret. */
  public grantReadCredentials(grantee: iam.IGrantable): iam.Grant {
    return this.secret.grantRead(grantee);
  }

  /** Lets `grantee` log in as `dbUser` with an IAM authentication token. */
  public grantConnect(grantee: iam.IGrantable, dbUser: string): iam.Grant {
    return this.cluster.grantConnect(grantee, dbUser);
  }
}

interface ResolvedDatabaseProps extends DatabaseProps {
  readonly readers: number;
  readonly port: number;
  readonly databaseName: string;
  readonly masterUsername: string;
  readonly backupRetention: Duration;
}

function validate(p: ResolvedDatabaseProps): void {
  const problems: string[] = [];
  const known = (v: unknown) => !Token.isUnresolved(v);
  if (known(p.readers) && (!Number.isInteger(p.readers) || p.readers < 0 || p.readers > 15)) {
    problems.push(`readers must be an integer from 0 to 15, got ${p.readers}`);
  }
  if (known(p.port)) {
    if (!Number.isInteger(p.port) || p.port < 1150 || p.port > 65535) problems.push(`port must be an integer from 1150 to 65535, got ${p.port}`);
    else if (p.port === 5432) problems.push('port must not be the well-known PostgreSQL port 5432');
  }
  if (known(p.databaseName) && !/^[a-z][a-z0-9_]{0,62}$/.test(p.databaseName)) {
    problems.push(`databaseName must be a lower-case letter then up to 62 lower-case letters, digits or underscores, got '${p.databaseName}'`);
  }
  if (known(p.masterUsername) && (!/^[a-z][a-z0-9_]{0,62}$/.test(p.masterUsername) || p.masterUsername.startsWith('rds'))) {
    problems.push(`masterUsername must be a lower-case identifier not starting with 'rds', got '${p.masterUsername}'`);
  }
  if (!p.backupRetention.isUnresolved()) {
    const days = p.backupRetention.toDays({ integral: false });
    if (!Number.isInteger(days) || days < 7 || days > 35) problems.push(`backupRetention must be 7 to 35 whole days, got ${days}`);
  }
  if (problems.length > 0) {
    throw new Error(`Invalid Database props: ${problems.join('; ')}`);
  }
}
