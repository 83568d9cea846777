// Cache: the Valkey replication group's engine, encryption, AUTH token, port, Multi-AZ failover,
// replicas, snapshots, cluster-mode switch, network admission, validation and cdk-nag.
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Cache, type CacheProps } from '../../lib/construct/cache';
import { standaloneStack, standaloneVpc, unacknowledgedNagFindings } from './standalone-stack';

function build(props: Partial<CacheProps> = {}) {
  const stack = standaloneStack('Cache');
  const vpc = standaloneVpc(stack);
  const cache = new Cache(stack, 'Cache', { vpc, ...props });
  return { stack, vpc, cache, template: () => Template.fromStack(stack) };
}

/** Which replication-group attribute `endpointAddress` points at. */
function endpointAttribute(cache: Cache): string {
  return Stack.of(cache).resolve(cache.endpointAddress)['Fn::GetAtt'][1];
}

describe('Cache', () => {
  test('runs Valkey with encryption at rest and required TLS in transit', () => {
    build().template().hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'valkey',
      EngineVersion: '8.0',
      AtRestEncryptionEnabled: true,
      TransitEncryptionEnabled: true,
      // Unset means `required` for a group created with transit encryption; `preferred` would
      // accept plain-text clients.
      TransitEncryptionMode: Match.absent(),
    });
  });

  test('takes its AUTH token from Secrets Manager by dynamic reference, never as plain text', () => {
    const { cache, stack, template } = build();
    const t = template();
    const secretId = stack.getLogicalId(cache.authToken.node.defaultChild as secretsmanager.CfnSecret);
    t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      AuthToken: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:::}}']] },
    });
    // AUTH tokens allow 16-128 characters and forbid @ " /: 64 letters and digits fit.
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
  });

  test('listens on a non-default port (6390 unless configured)', () => {
    build().template().hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { Port: 6390 });
    build({ port: 7000 }).template().hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { Port: 7000 });
  });

  test('is Multi-AZ with automatic failover and one replica by default (cluster mode off)', () => {
    const t = build().template();
    t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      MultiAZEnabled: true,
      AutomaticFailoverEnabled: true,
      NumCacheClusters: 2,
      ClusterMode: 'disabled',
      NumNodeGroups: Match.absent(),
    });
    t.hasResourceProperties('AWS::ElastiCache::ParameterGroup', {
      CacheParameterGroupFamily: 'valkey8',
      Properties: { 'cluster-enabled': 'no' },
    });
  });

  test('turns cluster mode on with more than one shard, with a cluster-enabled parameter group', () => {
    const { cache, template } = build({ shards: 3, replicasPerShard: 2 });
    const t = template();
    t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      ClusterMode: 'enabled',
      NumNodeGroups: 3,
      ReplicasPerNodeGroup: 2,
      NumCacheClusters: Match.absent(),
      CacheParameterGroupName: { Ref: Match.stringLikeRegexp('CacheParameterGroup') },
    });
    t.hasResourceProperties('AWS::ElastiCache::ParameterGroup', { Properties: { 'cluster-enabled': 'yes' } });
    expect(cache.clusterMode).toBe(true);
    expect(endpointAttribute(cache)).toBe('ConfigurationEndPoint.Address');
  });

  test('can run cluster mode with a single shard when asked explicitly', () => {
    const { cache, template } = build({ clusterMode: true });
    template().hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { ClusterMode: 'enabled', NumNodeGroups: 1 });
    expect(endpointAttribute(cache)).toBe('ConfigurationEndPoint.Address');
    expect(endpointAttribute(build().cache)).toBe('PrimaryEndPoint.Address');
  });

  test('keeps daily snapshots for 1 day by default, or as configured', () => {
    build().template().hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { SnapshotRetentionLimit: 1 });
    build({ snapshotRetentionDays: 7 }).template().hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { SnapshotRetentionLimit: 7 });
  });

  test('is deleted with the stack by default and snapshotted when asked', () => {
    build().template().hasResource('AWS::ElastiCache::ReplicationGroup', { DeletionPolicy: 'Delete' });
    build({ removalPolicy: RemovalPolicy.SNAPSHOT }).template().hasResource('AWS::ElastiCache::ReplicationGroup', {
      DeletionPolicy: 'Snapshot',
      UpdateReplacePolicy: 'Snapshot',
    });
  });

  test('places nodes in the isolated subnets of both AZs', () => {
    const { vpc, stack, template } = build();
    const isolated = vpc.isolatedSubnets.map((s) => ({ Ref: stack.getLogicalId(s.node.defaultChild as ec2.CfnSubnet) }));
    template().hasResourceProperties('AWS::ElastiCache::SubnetGroup', { SubnetIds: isolated });
  });

  test('publishes its slow log to a log group with retention', () => {
    const t = build().template();
    t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      LogDeliveryConfigurations: [
        Match.objectLike({ LogType: 'slow-log', DestinationType: 'cloudwatch-logs', LogFormat: 'json' }),
      ],
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30, Tags: Match.absent() });
  });

  test('its security group admits nothing until a fleet is allowed, and then only that fleet on the cache port', () => {
    const untouched = build().template();
    untouched.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('Valkey'),
      SecurityGroupIngress: Match.absent(),
    });
    untouched.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);

    const { stack, vpc, cache, template } = build();
    const fleet = new ec2.SecurityGroup(stack, 'Fleet', { vpc });
    cache.allowFrom(fleet);
    const t = template();
    t.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 6390,
      ToPort: 6390,
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('Fleet'), 'GroupId'] },
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('CacheSecurityGroup'), 'GroupId'] },
      CidrIp: Match.absent(),
    });
  });

  test('grants reading the AUTH token', () => {
    const { stack, cache, template } = build();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    cache.grantReadAuthToken(role);
    template().hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Resource: { Ref: Match.stringLikeRegexp('CacheAuthToken') },
          }),
        ]),
      },
    });
  });

  test.each<[string, Partial<CacheProps>, RegExp]>([
    ['the default Redis port', { port: 6379 }, /port must not be the well-known Redis port 6379/],
    ['a privileged port', { port: 80 }, /port must be an integer from 1024 to 65535, got 80/],
    ['zero replicas', { replicasPerShard: 0 }, /replicasPerShard must be an integer from 1 to 5 .* got 0/],
    ['six replicas', { replicasPerShard: 6 }, /replicasPerShard .* got 6/],
    ['zero shards', { shards: 0 }, /shards must be an integer from 1 to 90, got 0/],
    ['shards without cluster mode', { shards: 2, clusterMode: false }, /shards is 2 but clusterMode is off/],
    ['no snapshots', { snapshotRetentionDays: 0 }, /snapshotRetentionDays must be an integer from 1 to 35, got 0/],
    ['a malformed engine version', { engineVersion: '8' }, /engineVersion must look like '8.0', got '8'/],
    ['a malformed node type', { nodeType: 'r7g.large' }, /nodeType must look like 'cache.r7g.large', got 'r7g.large'/],
  ])('rejects %s', (_label, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('rejects subnets in a single AZ (no Multi-AZ failover possible)', () => {
    const stack = standaloneStack('OneAz');
    const vpc = standaloneVpc(stack);
    expect(() => new Cache(stack, 'Cache', { vpc, vpcSubnets: { subnets: [vpc.isolatedSubnets[0]] } })).toThrow(
      /vpcSubnets must span at least two availability zones .* got 1/,
    );
  });

  test('reports every invalid prop at once', () => {
    expect(() => build({ port: 6379, replicasPerShard: 0 })).toThrow(/6379.*; replicasPerShard/);
  });

  test('passes cdk-nag AwsSolutions with no unacknowledged errors (SMG4 acknowledged on the token)', () => {
    const { stack } = build({ shards: 2 });
    expect(unacknowledgedNagFindings(stack)).toEqual([]);
  });
});
