// What each fleet runs and may do: its bundle in the launch template's user data, the environment
// the services read, exactly its IAM grants (no wildcard actions), migrations in one fleet only,
// and a rolling refresh whenever the bundle changes.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { FLEET_NAMES, type FleetName } from '../../lib/config';
import { dev } from '../../lib/config/dev';
import { ServiceFleet } from '../../lib/construct/service-fleet';
import { SurgeStack } from '../../lib/stack/surge-stack';
import { buildSurgeApp, cdkContext, constructTestStack } from '../helpers/app';

const surge = buildSurgeApp('dev');
const template = Template.fromStack(surge.stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: any }>;

const logicalId = (construct: { node: { defaultChild?: unknown } }) => surge.stack.getLogicalId(construct.node.defaultChild as never);

/** The launch template's user data with every CloudFormation expression shown as <ref>. */
function userDataText(fleet: FleetName, stack: SurgeStack = surge.stack): string {
  const stackResources = stack === surge.stack ? resources : Template.fromStack(stack).toJSON().Resources;
  const lt = stackResources[stack.getLogicalId(stack.fleets[fleet].launchTemplate.node.defaultChild as never)];
  const encoded = lt.Properties.LaunchTemplateData.UserData['Fn::Base64'];
  if (typeof encoded === 'string') return encoded;
  return (encoded['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : '<ref>')).join('');
}

function environment(fleet: FleetName, stack: SurgeStack = surge.stack): Record<string, string> {
  const text = userDataText(fleet, stack);
  const body = text.split("<<'SURGE_ENVIRONMENT'\n")[1].split('\nSURGE_ENVIRONMENT\n')[0];
  return Object.fromEntries(body.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** Every statement of every inline policy attached to the fleet's instance role. */
function statements(fleet: FleetName): Array<{ Action: string | string[]; Resource: unknown }> {
  const roleId = logicalId(surge.stack.fleets[fleet].role);
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: { Ref?: string }) => role.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
}
const actionsOf = (fleet: FleetName) => [...new Set(statements(fleet).flatMap((s) => [s.Action].flat()))].sort();

const SECRET_READ = ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'];
const BUNDLE_AND_LOGS = ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents', 's3:GetObject'];
const QUEUE_SEND_AND_CONSUME = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
  'sqs:SendMessage',
];

describe('instance role grants', () => {
  test.each(['user', 'order', 'payment'] as const)('%s fleet: secrets, bundle and logs only (no queues, no rds-db:connect)', (fleet) => {
    expect(actionsOf(fleet)).toEqual([...BUNDLE_AND_LOGS, ...SECRET_READ].sort());
  });

  test('worker fleet: additionally sends to and consumes from both queues', () => {
    expect(actionsOf('worker')).toEqual([...BUNDLE_AND_LOGS, ...SECRET_READ, ...QUEUE_SEND_AND_CONSUME].sort());
    const queueStatements = statements('worker').filter((s) => [s.Action].flat().some((a) => a.startsWith('sqs:')));
    const queueArns = queueStatements.map((s) => JSON.stringify(s.Resource));
    for (const name of ['order-placed', 'payment-result'] as const) {
      expect(queueArns.some((arn) => arn.includes(logicalId(surge.stack.queues[name].queue)))).toBe(true);
    }
  });

  test.each([...FLEET_NAMES])('%s fleet: no wildcard action, and only the SSM core managed policy', (fleet) => {
    for (const action of actionsOf(fleet)) expect(action).not.toContain('*');
    const role = resources[logicalId(surge.stack.fleets[fleet].role)];
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toMatch(/AmazonSSMManagedInstanceCore/);
    expect(role.Properties.ManagedPolicyArns).toHaveLength(1);
  });

  test.each([...FLEET_NAMES])('%s fleet reads exactly the database, cache and token signing secrets', (fleet) => {
    const secretResources = statements(fleet)
      .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
      .flatMap((s) => [s.Resource].flat())
      .map((r) => JSON.stringify(r));
    const expected = [
      JSON.stringify(surge.stack.resolve(surge.stack.database.secret.secretArn)),
      JSON.stringify(surge.stack.resolve(surge.stack.cache.authToken.secretArn)),
      JSON.stringify(surge.stack.resolve(surge.stack.tokenSigningKey.secretArn)),
    ];
    expect(secretResources.sort()).toEqual(expected.sort());
  });

  test('the token signing key is generated by Secrets Manager (never in the template)', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
      Description: 'Surge dev: seed of the Ed25519 key signing login tokens (rotate: npm run rotate-token-key)',
    });
  });
});

describe('service environment', () => {
  test.each([...FLEET_NAMES])('%s fleet: endpoints, secret ARNs, env name, rate limits, drain deadline below the deregistration delay', (fleet) => {
    const env = environment(fleet);
    const config = surge.config;
    expect(env).toMatchObject({
      SURGE_ENV: 'dev',
      PORT: '8080',
      AWS_REGION: config.region,
      DB_WRITER_HOST: '<ref>',
      DB_READER_HOST: '<ref>',
      DB_PORT: String(surge.stack.database.port),
      DB_NAME: 'surge',
      DB_SECRET_ARN: '<ref>',
      REDIS_HOST: '<ref>',
      REDIS_PORT: String(surge.stack.cache.port),
      REDIS_TLS: 'true',
      REDIS_AUTH_SECRET_ARN: '<ref>',
      TOKEN_SIGNING_SECRET_ARN: '<ref>',
      RATE_LIMIT_ORDERS_PER_MINUTE: String(config.rateLimits.ordersPerMinute),
      RATE_LIMIT_LOGIN_PER_MINUTE: String(config.rateLimits.loginPerMinute),
      RATE_LIMIT_DEFAULT_PER_SECOND: String(config.rateLimits.defaultPerSecond),
      RATE_LIMIT_DEFAULT_BURST: String(config.rateLimits.defaultBurst),
    });
    expect(Number(env.SHUTDOWN_DEADLINE_MS)).toBeLessThan(config.loadBalancer.deregistrationDelaySeconds * 1000);
    expect(Object.keys(env).filter((k) => /KEY$|PASSWORD|TOKEN$|_URL$/.test(k) && !k.endsWith('QUEUE_URL'))).toEqual([]);
  });

  test('only the worker fleet applies migrations and knows the queue URLs', () => {
    const migrating = FLEET_NAMES.filter((f) => environment(f).MIGRATE_ON_START === 'true');
    expect(migrating).toEqual(['worker']);
    for (const fleet of FLEET_NAMES) {
      expect(environment(fleet).MIGRATE_ON_START).toMatch(/^(true|false)$/);
      const queueUrls = Object.keys(environment(fleet)).filter((k) => k.endsWith('_QUEUE_URL')).sort();
      expect(queueUrls).toEqual(fleet === 'worker' ? ['ORDER_PLACED_QUEUE_URL', 'PAYMENT_RESULT_QUEUE_URL'] : []);
    }
  });

  test.each([...FLEET_NAMES])('%s fleet: service logs go to a log group with the configured retention', (fleet) => {
    const logGroup = resources[logicalId(surge.stack.fleets[fleet].logGroup!)];
    expect(logGroup.Properties.RetentionInDays).toBe(surge.config.observability.logRetentionDays);
    expect(userDataText(fleet)).toContain(`"file_path": "/var/log/surge/${fleet}.log"`);
  });
});

describe('with the cache in cluster mode', () => {
  const app = new App({ context: cdkContext });
  const stack = new SurgeStack(app, 'Surge-cluster', {
    env: { region: dev.region },
    config: { ...dev, cache: { ...dev.cache, clusterMode: true, shards: 2 } },
  });

  test.each([...FLEET_NAMES])('%s fleet: Redis Cluster client seeded by the configuration endpoint', (fleet) => {
    const env = environment(fleet, stack);
    expect(env).toMatchObject({ REDIS_CLUSTER: 'true', REDIS_PORT: String(stack.cache.port), REDIS_TLS: 'true', REDIS_AUTH_SECRET_ARN: '<ref>' });
    // REDIS_HOST is the expression that follows "REDIS_HOST=" in the user data's Fn::Join.
    const lt = Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(stack.fleets[fleet].launchTemplate.node.defaultChild as never)];
    const parts: unknown[] = lt.Properties.LaunchTemplateData.UserData['Fn::Base64']['Fn::Join'][1];
    const host = parts[parts.findIndex((part) => typeof part === 'string' && part.endsWith('\nREDIS_HOST=')) + 1];
    expect(host).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^CacheReplicationGroup/), 'ConfigurationEndPoint.Address'] });
  });

  test('without cluster mode the variable is not written at all', () => {
    for (const fleet of FLEET_NAMES) expect(environment(fleet)).not.toHaveProperty('REDIS_CLUSTER');
  });
});

describe('a new bundle rolls the fleet', () => {
  function fleetWithBundle(content: string) {
    const dir = mkdtempSync(join(tmpdir(), 'surge-bundle-'));
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'app', 'main.js'), content);
    const stack = constructTestStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['us-west-2a', 'us-west-2b'], natGateways: 1 });
    new ServiceFleet(stack, 'Fleet', {
      vpc,
      fleetName: 'worker',
      instanceType: new ec2.InstanceType('t4g.small'),
      minCapacity: 1,
      maxCapacity: 2,
      notificationTopic: new sns.Topic(stack, 'Events'),
      release: { bundleDirectory: dir, environment: { SURGE_ENV: 'dev' }, shutdownDeadline: Duration.seconds(20), logRetention: logs.RetentionDays.TWO_WEEKS },
    });
    const t = Template.fromStack(stack);
    const [lt] = Object.values(t.findResources('AWS::EC2::LaunchTemplate'));
    const [asg] = Object.values(t.findResources('AWS::AutoScaling::AutoScalingGroup'));
    return { userData: JSON.stringify(lt.Properties.LaunchTemplateData.UserData), asg };
  }

  test('changing the bundle changes the launch template, whose latest version the group follows with a rolling refresh', () => {
    const v1 = fleetWithBundle('console.log(1)');
    const v1Again = fleetWithBundle('console.log(1)');
    const v2 = fleetWithBundle('console.log(2)');
    expect(v1Again.userData).toBe(v1.userData);
    expect(v2.userData).not.toBe(v1.userData);
    expect(v2.asg.Properties.LaunchTemplate.Version).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^FleetLaunchTemplate/), 'LatestVersionNumber'] });
    expect(v2.asg.UpdatePolicy.AutoScalingRollingUpdate).toBeUndefined();
    expect(JSON.stringify(v2.asg)).toMatch(/MinHealthyPercentage|InstanceRefresh|minHealthyPercentage/i);
  });

  test('release and userData together are refused', () => {
    const stack = constructTestStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['us-west-2a', 'us-west-2b'], natGateways: 1 });
    expect(
      () =>
        new ServiceFleet(stack, 'Fleet', {
          vpc,
          fleetName: 'worker',
          instanceType: new ec2.InstanceType('t4g.small'),
          minCapacity: 1,
          maxCapacity: 2,
          notificationTopic: new sns.Topic(stack, 'Events'),
          userData: ec2.UserData.forLinux(),
          release: { bundleDirectory: '/nonexistent', environment: {}, shutdownDeadline: Duration.seconds(20), logRetention: logs.RetentionDays.TWO_WEEKS },
        }),
    ).toThrow(/either release or userData/);
  });
});
