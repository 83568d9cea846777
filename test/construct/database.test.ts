// Database: Aurora PostgreSQL 16 writer + same-class readers, managed rotating credentials, IAM
// auth, TLS-only parameter group, encryption, port, backups, removal behaviour, exported logs,
// network admission, validation and cdk-nag.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Database, type DatabaseProps } from '../../lib/construct/database';
import { standaloneStack, standaloneVpc, TEST_ACCOUNT, TEST_REGION, unacknowledgedNagFindings } from './standalone-stack';

function build(props: Partial<DatabaseProps> = {}, stackId = 'Data') {
  const stack = standaloneStack(stackId);
  const vpc = standaloneVpc(stack);
  const database = new Database(stack, 'Database', { vpc, ...props });
  return { stack, vpc, database, template: () => Template.fromStack(stack) };
}

describe('Database', () => {
  test('is Aurora PostgreSQL 16 with encrypted storage, IAM auth and a non-default port', () => {
    build().template().hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-postgresql',
      EngineVersion: Match.stringLikeRegexp('^16\\.'),
      StorageEncrypted: true,
      EnableIAMDatabaseAuthentication: true,
      Port: 5433,
      DatabaseName: 'surge',
    });
  });

  test('has a writer plus N readers, all of the writer\'s instance class', () => {
    const t = build({ readers: 2, instanceType: new ec2.InstanceType('r7g.xlarge') }).template();
    t.resourceCountIs('AWS::RDS::DBInstance', 3);
    t.allResourcesProperties('AWS::RDS::DBInstance', { DBInstanceClass: 'db.r7g.xlarge', PubliclyAccessible: false });
    t.hasResourceProperties('AWS::RDS::DBInstance', { PromotionTier: 0 });
    expect(Object.values(t.findResources('AWS::RDS::DBInstance', { Properties: { PromotionTier: 1 } }))).toHaveLength(2);
    build({ readers: 0 }).template().resourceCountIs('AWS::RDS::DBInstance', 1);
  });

  test('keeps credentials in a Secrets Manager secret that RDS manages and rotates', () => {
    const { database, stack, template } = build();
    const t = template();
    t.hasResourceProperties('AWS::RDS::DBCluster', {
      ManageMasterUserPassword: true,
      MasterUsername: 'surge_admin',
      MasterUserPassword: Match.absent(),
    });
    // No password anywhere in the template, and no secret resource CDK would have to rotate.
    t.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(stack.resolve(database.secret.secretArn)).toEqual({
      'Fn::GetAtt': [stack.getLogicalId(database.cluster.node.defaultChild as never), 'MasterUserSecret.SecretArn'],
    });
  });

  test('forces TLS through a cluster parameter group', () => {
    const t = build().template();
    t.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Family: 'aurora-postgresql16',
      Parameters: { 'rds.force_ssl': '1' },
    });
    t.hasResourceProperties('AWS::RDS::DBCluster', {
      DBClusterParameterGroupName: { Ref: Match.stringLikeRegexp('ParameterGroup') },
    });
  });

  test('keeps backups 7 days by default and as configured', () => {
    build().template().hasResourceProperties('AWS::RDS::DBCluster', { BackupRetentionPeriod: 7 });
    build({ backupRetention: Duration.days(14) }).template().hasResourceProperties('AWS::RDS::DBCluster', { BackupRetentionPeriod: 14 });
  });

  test('by default is deletion-protected and snapshotted on delete (production)', () => {
    build().template().hasResource('AWS::RDS::DBCluster', {
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
      Properties: Match.objectLike({ DeletionProtection: true }),
    });
  });

  test('with removalPolicy DESTROY is deleted with the stack and not deletion-protected (dev)', () => {
    const t = build({ removalPolicy: RemovalPolicy.DESTROY }).template();
    t.hasResource('AWS::RDS::DBCluster', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtection: false }),
    });
    t.hasResource('AWS::Logs::LogGroup', { DeletionPolicy: 'Delete', Properties: Match.objectLike({ LogGroupName: Match.stringLikeRegexp('postgresql') }) });
  });

  test('exports the postgresql log to a log group with retention that exists before the cluster', () => {
    const t = build({ logRetention: logs.RetentionDays.THREE_MONTHS }).template();
    t.hasResourceProperties('AWS::RDS::DBCluster', {
      DBClusterIdentifier: 'data-database',
      EnableCloudwatchLogsExports: ['postgresql'],
    });
    t.hasResource('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: '/aws/rds/cluster/data-database/postgresql', RetentionInDays: 90 },
      DeletionPolicy: 'Retain',
    });
    t.hasResource('AWS::RDS::DBCluster', { DependsOn: Match.arrayWith([Match.stringLikeRegexp('DatabasePostgresqlLog')]) });
  });

  test('derives a valid cluster identifier from a mixed-case stack name', () => {
    build({}, 'Surge-dev-Data').template().hasResourceProperties('AWS::RDS::DBCluster', {
      DBClusterIdentifier: 'surge-dev-data-database',
    });
  });

  test('lives in the isolated subnets and exposes writer and reader endpoints', () => {
    const { stack, vpc, database, template } = build();
    const isolated = vpc.isolatedSubnets.map((s) => ({ Ref: stack.getLogicalId(s.node.defaultChild as ec2.CfnSubnet) }));
    template().hasResourceProperties('AWS::RDS::DBSubnetGroup', { SubnetIds: isolated });
    const cluster = stack.getLogicalId(database.cluster.node.defaultChild as never);
    expect(stack.resolve(database.writerEndpoint.hostname)).toEqual({ 'Fn::GetAtt': [cluster, 'Endpoint.Address'] });
    expect(stack.resolve(database.readerEndpoint.hostname)).toEqual({ 'Fn::GetAtt': [cluster, 'ReadEndpoint.Address'] });
    expect(Stack.of(database).resolve(database.writerEndpoint.port)).toBe(5433);
  });

  test('its security group admits only the fleets it is told to, on the database port', () => {
    build().template().resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);

    const { stack, vpc, database, template } = build();
    database.allowFrom(new ec2.SecurityGroup(stack, 'Fleet', { vpc }));
    const t = template();
    t.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 5433,
      ToPort: 5433,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('Fleet'), 'GroupId'] },
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseSecurityGroup'), 'GroupId'] },
      CidrIp: Match.absent(),
    });
  });

  test('grants reading the master credentials', () => {
    const { stack, database, template } = build();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    database.grantReadCredentials(role);
    template().hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Role') }],
      PolicyDocument: {
        Statement: [
          {
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('DatabaseCluster'), 'MasterUserSecret.SecretArn'] },
          },
        ],
      },
    });
  });

  test('grants IAM login as exactly the named database users of this cluster', () => {
    const { stack, database, template } = build();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    database.grantConnect(role, 'order_service');
    database.grantConnect(role, 'payment_service');
    // arn:aws:rds-db:<region>:<account>:dbuser:<cluster resource ID, cluster-...>/<user> (Aurora's IAM policy format)
    const dbUser = (user: string) => ({
      'Fn::Join': ['', [`arn:aws:rds-db:${TEST_REGION}:${TEST_ACCOUNT}:dbuser:`, { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseCluster'), 'DBClusterResourceId'] }, `/${user}`]],
    });
    template().hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Role') }],
      PolicyDocument: { Statement: [{ Action: 'rds-db:connect', Effect: 'Allow', Resource: [dbUser('order_service'), dbUser('payment_service')] }] },
    });
  });

  test.each<[string, Partial<DatabaseProps>, RegExp]>([
    ['negative readers', { readers: -1 }, /readers must be an integer from 0 to 15, got -1/],
    ['16 readers', { readers: 16 }, /readers must be an integer from 0 to 15, got 16/],
    ['the default PostgreSQL port', { port: 5432 }, /port must not be the well-known PostgreSQL port 5432/],
    ['a port below 1150', { port: 1000 }, /port must be an integer from 1150 to 65535, got 1000/],
    ['backups under 7 days', { backupRetention: Duration.days(3) }, /backupRetention must be 7 to 35 whole days, got 3/],
    ['backups over 35 days', { backupRetention: Duration.days(36) }, /backupRetention .* got 36/],
    ['a database name with a hyphen', { databaseName: 'sur-ge' }, /databaseName must be .* got 'sur-ge'/],
    ['an rds-prefixed user', { masterUsername: 'rdsadmin' }, /masterUsername .* got 'rdsadmin'/],
  ])('rejects %s', (_label, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('reports every invalid prop at once', () => {
    expect(() => build({ readers: -1, port: 5432 })).toThrow(/readers .*; port/);
  });

  test('passes cdk-nag AwsSolutions with no unacknowledged errors (production settings)', () => {
    expect(unacknowledgedNagFindings(build({ readers: 2 }).stack)).toEqual([]);
  });

  test('passes cdk-nag in dev settings, RDS10 acknowledged only there', () => {
    const dev = build({ readers: 0, removalPolicy: RemovalPolicy.DESTROY });
    expect(unacknowledgedNagFindings(dev.stack)).toEqual([]);
    const acknowledged = (db: Database) =>
      db.cluster.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').flatMap((m) => Object.keys(m.data as object));
    expect(acknowledged(dev.database).join()).toMatch(/AwsSolutions-RDS10/);
    expect(acknowledged(build().database)).toEqual([]);
  });
});
