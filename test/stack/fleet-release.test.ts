// What each fleet runs and may do: its bundle in the launch template's user data, the environment
// the services read, exactly its IAM grants (no wildcard actions; the worker's health watchdog may
// report only its own group's instances), no migrations at start (the deployment's migration step
// applies them), and a rolling refresh whenever the bundle changes.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { FLEET_NAMES, type FleetName } from '../../lib/config';
import { dev } from '../../lib/config/dev';
import { ServiceFleet } from '../../lib/construct/service-fleet';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SurgeStack } from '../../lib/stack/surge-stack';
import { publicKeySet, tokenKeyFromSecret } from '../../services/platform/token-keys';
import { loadConfig } from '../../services/platform/config';
import { buildSurgeApp, cdkContext, constructTestStack, fleetEnvironment, fleetUserData } from '../helpers/app';

const surge = buildSurgeApp('dev');
const template = Template.fromStack(surge.stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: any }>;

const logicalId = (construct: { node: { defaultChild?: unknown } }) => surge.stack.getLogicalId(construct.node.defaultChild as never);

/** The launch template's user data with every CloudFormation expression shown as <ref>. */
function userDataText(fleet: FleetName, stack: SurgeStack = surge.stack): string {
  return fleetUserData(stack, fleet, stack === surge.stack ? template : undefined);
}

function environment(fleet: FleetName, stack: SurgeStack = surge.stack): Record<string, string> {
  return fleetEnvironment(stack, fleet, stack === surge.stack ? template : undefined);
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
const SET_INSTANCE_HEALTH = 'autoscaling:SetInstanceHealth';
const DB_CONNECT = 'rds-db:connect';
const PARAMETER_READ = ['ssm:DescribeParameters', 'ssm:GetParameter', 'ssm:GetParameterHistory', 'ssm:GetParameters'];
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
  test.each(['user', 'order', 'payment'] as const)('%s fleet: secrets, token public keys (order, payment), database login, bundle and logs only (no queues)', (fleet) => {
    expect(actionsOf(fleet)).toEqual([...BUNDLE_AND_LOGS, ...SECRET_READ, DB_CONNECT, ...(fleet === 'user' ? [] : PARAMETER_READ)].sort());
  });

  test('worker fleet: additionally sends to and consumes from both queues, and reports its own health', () => {
    expect(actionsOf('worker')).toEqual([...BUNDLE_AND_LOGS, ...SECRET_READ, PARAMETER_READ, DB_CONNECT, ...QUEUE_SEND_AND_CONSUME, SET_INSTANCE_HEALTH].flat().sort());
    const queueStatements = statements('worker').filter((s) => [s.Action].flat().some((a) => a.startsWith('sqs:')));
    const queueArns = queueStatements.map((s) => JSON.stringify(s.Resource));
    for (const name of ['order-placed', 'payment-result'] as const) {
      expect(queueArns.some((arn) => arn.includes(logicalId(surge.stack.queues[name].queue)))).toBe(true);
    }
  });

  test('the worker may mark instances unhealthy in its own Auto Scaling group and no other', () => {
    const health = statements('worker').filter((s) => [s.Action].flat().includes(SET_INSTANCE_HEALTH));
    expect(health).toHaveLength(1);
    expect(health[0].Action).toBe(SET_INSTANCE_HEALTH);
    // arn:<partition>:autoscaling:<region>:<account>:autoScalingGroup:*:autoScalingGroupName/<this group's name>
    const groupId = logicalId(surge.stack.fleets.worker.autoScalingGroup);
    const resource = JSON.stringify(health[0].Resource);
    expect(resource).toContain(':autoscaling:');
    expect(resource).toContain(':autoScalingGroup:*:autoScalingGroupName/');
    expect(resource).toContain(`{"Ref":"${groupId}"}`);
    // No other Auto Scaling group is named in it.
    for (const fleet of ['user', 'order', 'payment'] as const) {
      expect(resource).not.toContain(logicalId(surge.stack.fleets[fleet].autoScalingGroup));
    }
  });

  test.each(['user', 'order', 'payment'] as const)('%s fleet: the ALB health check replaces its instances, so no watchdog and no SetInstanceHealth', (fleet) => {
    expect(actionsOf(fleet)).not.toContain(SET_INSTANCE_HEALTH);
    expect(userDataText(fleet)).not.toContain('surge-health-watchdog');
  });

  test('the worker instances run the health watchdog on the service port, reporting after 10 minutes', () => {
    const text = userDataText('worker');
    expect(text).toContain('systemctl enable --now surge-health-watchdog.timer');
    expect(text).toContain('curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:8080/health/live');
    expect(text).toMatch(/^limit=600$/m);
    expect(text).toContain(`aws autoscaling set-instance-health --region ${surge.config.region} --instance-id "$instance_id" --health-status Unhealthy`);
  });

  test.each([...FLEET_NAMES])('%s fleet: no wildcard action, and only the SSM core managed policy', (fleet) => {
    for (const action of actionsOf(fleet)) expect(action).not.toContain('*');
    const role = resources[logicalId(surge.stack.fleets[fleet].role)];
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toMatch(/AmazonSSMManagedInstanceCore/);
    expect(role.Properties.ManagedPolicyArns).toHaveLength(1);
  });

  const secretsReadBy = (fleet: FleetName) =>
    statements(fleet)
      .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
      .flatMap((s) => [s.Resource].flat())
      .map((r) => JSON.stringify(r))
      .sort();
  const arnOf = (secret: { secretArn: string }) => JSON.stringify(surge.stack.resolve(secret.secretArn));

  test('the user fleet reads exactly the cache secret and the token signing key, not the database master secret', () => {
    expect(secretsReadBy('user')).toEqual([arnOf(surge.stack.cache.authToken), arnOf(surge.stack.tokenSigningKey)].sort());
  });

  test.each(['order', 'payment', 'worker'] as const)('%s fleet reads exactly the cache secret and the token public keys parameter: never the signing key or the database master secret', (fleet) => {
    expect(secretsReadBy(fleet)).toEqual([arnOf(surge.stack.cache.authToken)]);
    const parameterReads = statements(fleet).filter((s) => [s.Action].flat().some((a) => a.startsWith('ssm:')));
    expect(parameterReads.map((s) => JSON.stringify(s.Resource))).toEqual([JSON.stringify(surge.stack.resolve(surge.stack.tokenPublicKeys.parameter.parameterArn))]);
  });

  test('the user fleet does not read the public keys parameter (it holds the signing key)', () => {
    expect(actionsOf('user').filter((a) => a.startsWith('ssm:'))).toEqual([]);
  });

  test('only the user fleet and the public key publisher may read the token signing key', () => {
    const signing = arnOf(surge.stack.tokenSigningKey);
    const readers = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.PolicyDocument.Statement.some((s: { Action: string | string[]; Resource: unknown }) => [s.Action].flat().includes('secretsmanager:GetSecretValue') && JSON.stringify(s.Resource).includes(signing)))
      .flatMap((r) => r.Properties.Roles);
    expect(readers.sort((a: { Ref: string }, b: { Ref: string }) => a.Ref.localeCompare(b.Ref))).toEqual(
      [{ Ref: logicalId(surge.stack.fleets.user.role) }, { Ref: logicalId(surge.stack.tokenPublicKeys.function.role as never) }].sort((a, b) => a.Ref.localeCompare(b.Ref)),
    );
  });

  test('the order, payment and worker fleets start only after the public keys are published', () => {
    const trigger = Object.keys(resources).find((id) => resources[id].Type === 'Custom::Trigger' && id.startsWith('TokenPublicKeysTrigger'))!;
    expect(trigger).toBeDefined();
    for (const fleet of FLEET_NAMES) {
      const dependsOn: string[] = (resources[logicalId(surge.stack.fleets[fleet].autoScalingGroup)] as { DependsOn?: string[] }).DependsOn ?? [];
      expect({ fleet, waits: dependsOn.includes(trigger) }).toEqual({ fleet, waits: fleet !== 'user' });
    }
  });

  test('only the migration step may read the database master secret', () => {
    const master = JSON.stringify(surge.stack.resolve(surge.stack.database.secret.secretArn));
    const readers = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.PolicyDocument).includes(master))
      .flatMap((r) => r.Properties.Roles);
    expect(readers).toEqual([{ Ref: logicalId(surge.stack.migration.function.role as never) }]);
  });

  test.each<[FleetName, string[]]>([
    ['user', ['user_service']],
    ['order', ['order_service']],
    ['payment', ['payment_service']],
    ['worker', ['order_service', 'payment_service']],
  ])('%s fleet may log in to this cluster as %j and as no other database user', (fleet, users) => {
    const connect = statements(fleet).filter((s) => [s.Action].flat().includes(DB_CONNECT));
    expect(connect).toHaveLength(1);
    expect(connect[0].Action).toBe(DB_CONNECT);
    // arn:aws:rds-db:<region>:<account>:dbuser:<cluster resource ID>/<user>
    const clusterResourceId = { 'Fn::GetAtt': [logicalId(surge.stack.database.cluster), 'DBClusterResourceId'] };
    expect([connect[0].Resource].flat()).toEqual(
      users.map((user) => ({ 'Fn::Join': ['', [`arn:aws:rds-db:${surge.config.region}:`, { Ref: 'AWS::AccountId' }, ':dbuser:', clusterResourceId, `/${user}`]] })),
    );
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
      DB_AUTH: 'iam',
      REDIS_HOST: '<ref>',
      REDIS_PORT: String(surge.stack.cache.port),
      REDIS_TLS: 'true',
      REDIS_AUTH_SECRET_ARN: '<ref>',
      RATE_LIMIT_ORDERS_PER_MINUTE: String(config.rateLimits.ordersPerMinute),
      RATE_LIMIT_LOGIN_PER_MINUTE: String(config.rateLimits.loginPerMinute),
      RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE: String(config.rateLimits.loginAccountPerMinute),
      RATE_LIMIT_REGISTER_PER_MINUTE: String(config.rateLimits.registerPerMinute),
      RATE_LIMIT_DEFAULT_PER_SECOND: String(config.rateLimits.defaultPerSecond),
      RATE_LIMIT_DEFAULT_BURST: String(config.rateLimits.defaultBurst),
    });
    expect(env.DB_SECRET_ARN).toBeUndefined();
    // The user fleet signs tokens; the others get only the public keys.
    const tokenKeys = Object.keys(env).filter((k) => k.startsWith('TOKEN_'));
    expect(tokenKeys).toEqual(fleet === 'user' ? ['TOKEN_SIGNING_SECRET_ARN'] : ['TOKEN_PUBLIC_KEYS_SECRET_ARN']);
    // For the verifying fleets, the public keys parameter's ARN (the services read an SSM ARN from Parameter Store).
    if (fleet !== 'user') expect(env.TOKEN_PUBLIC_KEYS_SECRET_ARN).toBe(`arn:aws:ssm:${config.region}:<ref>:parameter<ref>`);
    expect(Number(env.SHUTDOWN_DEADLINE_MS)).toBeLessThan(config.loadBalancer.deregistrationDelaySeconds * 1000);
    expect(Object.keys(env).filter((k) => /KEY$|PASSWORD|TOKEN$|_URL$/.test(k) && !k.endsWith('QUEUE_URL'))).toEqual([]);
  });

  test('a service fleet logs in as its service\'s role; the worker names none (it runs two services, each under its own role)', () => {
    expect(FLEET_NAMES.map((fleet) => environment(fleet).DB_USER)).toEqual(['user_service', 'order_service', 'payment_service', undefined]);
  });

  test.each([...FLEET_NAMES])('%s fleet: its environment loads as the services parse it, reading no database secret', async (fleet) => {
    const dir = mkdtempSync(join(tmpdir(), 'surge-ca-'));
    const caBundle = join(dir, 'rds-ca.pem');
    writeFileSync(caBundle, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    // Every CloudFormation reference made concrete: secret ARNs and URLs named after their variable, hosts as example names.
    const concrete = (key: string) => (key.endsWith('_SECRET_ARN') ? `arn:test:${key}` : key.endsWith('_URL') ? `https://${key.toLowerCase()}.example` : `${key.toLowerCase()}.example`);
    const env = Object.fromEntries(Object.entries(environment(fleet)).map(([key, value]) => [key, value.includes('<ref>') ? concrete(key) : value]));
    const values: Record<string, string> = {
      'arn:test:REDIS_AUTH_SECRET_ARN': 'redis-auth-token-0123456789',
      ...(fleet === 'user'
        ? { 'arn:test:TOKEN_SIGNING_SECRET_ARN': 'a'.repeat(64) }
        : { 'arn:test:TOKEN_PUBLIC_KEYS_SECRET_ARN': JSON.stringify(publicKeySet({ keys: [tokenKeyFromSecret('a'.repeat(64))] })) }),
    };
    const asked: string[] = [];
    const cfg = await loadConfig(
      { ...env, DB_CA_BUNDLE: caBundle },
      {
        async getSecretString(arn, versionStage) {
          asked.push(arn);
          if (versionStage === 'AWSPREVIOUS' || !(arn in values)) throw new Error(`no such secret ${arn} ${versionStage ?? ''}`);
          return values[arn];
        },
      },
    ).finally(() => rmSync(dir, { recursive: true, force: true }));
    expect(new Set(asked)).toEqual(new Set(Object.keys(values)));
    expect(cfg.database.credentials).toBeDefined();
    expect(cfg.database.credentials!.user).toBeUndefined();
    expect(new URL(cfg.database.writerUrl).password).toBe('');
    expect(cfg.database.tls?.ca).toContain('BEGIN CERTIFICATE');
  });

  test('the worker consumes with each queue\'s own visibility timeout and maxReceiveCount, as the services parse them', async () => {
    const env = environment('worker');
    for (const name of ['order-placed', 'payment-result'] as const) {
      const queue = resources[logicalId(surge.stack.queues[name].queue)].Properties;
      expect(String(queue.VisibilityTimeout)).toBe(env.QUEUE_VISIBILITY_TIMEOUT_SECONDS);
      expect(String(queue.RedrivePolicy.maxReceiveCount)).toBe(env.QUEUE_MAX_RECEIVE_COUNT);
    }
    const parsed = await loadConfig({
      SURGE_ENV: 'local',
      DATABASE_URL: 'postgres://u@127.0.0.1:5432/surge',
      QUEUE_HANDLER_TIMEOUT_MS: env.QUEUE_HANDLER_TIMEOUT_MS,
      QUEUE_VISIBILITY_TIMEOUT_SECONDS: env.QUEUE_VISIBILITY_TIMEOUT_SECONDS,
      QUEUE_MAX_RECEIVE_COUNT: env.QUEUE_MAX_RECEIVE_COUNT,
    });
    expect(parsed.queue).toMatchObject({
      visibilityTimeoutSeconds: Number(env.QUEUE_VISIBILITY_TIMEOUT_SECONDS),
      maxReceiveCount: surge.config.queues.maxReceiveCount,
    });
    // Without the stack's values the services assume what the construct builds by default.
    const defaults = await loadConfig({ SURGE_ENV: 'local', DATABASE_URL: 'postgres://u@127.0.0.1:5432/surge', QUEUE_HANDLER_TIMEOUT_MS: env.QUEUE_HANDLER_TIMEOUT_MS });
    expect(defaults.queue.visibilityTimeoutSeconds).toBe(Number(env.QUEUE_VISIBILITY_TIMEOUT_SECONDS));
    expect(defaults.queue.maxReceiveCount).toBe(Number(env.QUEUE_MAX_RECEIVE_COUNT));
  });

  test('without SURGE_ENV an instance\'s environment refuses to start, naming SURGE_ENV', async () => {
    for (const fleet of FLEET_NAMES) {
      const { SURGE_ENV: _omitted, ...rest } = environment(fleet);
      await expect(loadConfig(rest)).rejects.toThrow(/^SURGE_ENV: is not set, but AWS settings are/);
    }
  });

  test('no fleet migrates at start (the migration step does); only the worker knows the queue URLs', () => {
    for (const fleet of FLEET_NAMES) {
      expect(environment(fleet).MIGRATE_ON_START).toBe('false');
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

describe('with a sale event that has a waiting room', () => {
  const app = new App({ context: cdkContext });
  const productIds = ['6F1C2A3B-0000-4000-8000-000000000001', '6f1c2a3b-0000-4000-8000-000000000002'];
  const stack = new SurgeStack(app, 'Surge-waiting-room', {
    env: { region: dev.region },
    now: new Date('2027-01-01T00:00:00Z'),
    config: {
      ...dev,
      saleEvents: [
        { name: 'spring-sale', start: '2027-03-01T08:00:00Z', end: '2027-03-01T20:00:00Z', minCapacity: 2, waitingRoom: { productIds, inletPerSecond: 250, title: 'Spring sale' } },
        { name: 'prewarm-only', start: '2027-04-01T08:00:00Z', end: '2027-04-01T20:00:00Z', minCapacity: 2 },
      ],
    },
  });
  const t = Template.fromStack(stack);

  test('the order fleet alone gets the events (base64 JSON, as the services parse it) and the admission key ARN', () => {
    const env = environment('order', stack);
    expect(JSON.parse(Buffer.from(env.WAITING_ROOM_EVENTS, 'base64').toString('utf8'))).toEqual([
      {
        eventId: 'spring-sale',
        name: 'Spring sale',
        startsAt: '2027-03-01T08:00:00.000Z',
        endsAt: '2027-03-01T20:00:00.000Z',
        productIds: productIds.map((id) => id.toLowerCase()),
        inletPerSecond: 250,
      },
    ]);
    expect(env.WAITING_ROOM_ADMISSION_SECRET_ARN).toBe('<ref>');
    for (const fleet of FLEET_NAMES.filter((f) => f !== 'order')) {
      expect(Object.keys(environment(fleet, stack)).filter((k) => k.startsWith('WAITING_ROOM_'))).toEqual([]);
    }
  });

  test('the admission key is generated by Secrets Manager and readable by the order fleet only', () => {
    const keyId = stack.getLogicalId(stack.waitingRoomKey!.node.defaultChild as never);
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('waiting-room tickets and admission tokens'),
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
    const readers = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes(`"Ref":"${keyId}"`))
      .flatMap((p) => p.Properties.Roles.map((r: { Ref: string }) => r.Ref));
    expect(readers).toEqual([stack.getLogicalId(stack.fleets.order.role.node.defaultChild as never)]);
  });

  test('AwsSolutions finds nothing unacknowledged', () => {
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  test('without a waiting room there is no key and no waiting-room setting', () => {
    expect(surge.stack.waitingRoomKey).toBeUndefined();
    expect(Object.keys(environment('order')).filter((k) => k.startsWith('WAITING_ROOM_'))).toEqual([]);
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
