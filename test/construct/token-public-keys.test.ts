// TokenPublicKeys: the public keys secret (an empty key set until published), the publisher function
// that may read the signing secret and write the public one and nothing else, the trigger that runs it
// after both secrets exist, `runBefore` making groups wait for it, and cdk-nag.
import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { TokenPublicKeys } from '../../lib/construct/token-public-keys';
import { loadConfig } from '../../services/platform/config';
import { standaloneStack, standaloneVpc, unacknowledgedNagFindings } from './standalone-stack';

// Any directory works as the function's code here; the real bundle is tested in test/deploy/bundle.test.ts.
const CODE_DIR = __dirname;

function build() {
  const stack = standaloneStack('Keys');
  const signingKey = new secretsmanager.Secret(stack, 'SigningKey', { generateSecretString: { passwordLength: 64, excludePunctuation: true } });
  Validations.of(signingKey).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test stand-in for the stack\'s TokenSigningKey, which carries its own acknowledgement (rotated by npm run rotate-token-key).' });
  const keys = new TokenPublicKeys(stack, 'TokenPublicKeys', {
    signingKey,
    bundleDirectory: CODE_DIR,
    handler: 'app/main.handler',
    description: 'Surge test',
    logRetention: logs.RetentionDays.ONE_MONTH,
  });
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  return { stack, signingKey, keys, id, template: () => Template.fromStack(stack) };
}

describe('TokenPublicKeys', () => {
  test('the secret starts as an empty key set, which the services refuse, until the step writes the keys', async () => {
    const { keys, id, template } = build();
    const secret = template().toJSON().Resources[id(keys.secret)];
    expect(JSON.parse(secret.Properties.SecretString)).toEqual({ keys: [] });
    expect(secret.Properties.GenerateSecretString).toBeUndefined();
    const env = { SURGE_ENV: 'dev', DATABASE_URL: 'postgres://u@127.0.0.1:5432/surge', REDIS_URL: 'redis://127.0.0.1:6379', TOKEN_PUBLIC_KEYS_SECRET_ARN: 'arn:keys' };
    await expect(loadConfig(env, { getSecretString: async () => secret.Properties.SecretString })).rejects.toThrow(/^TOKEN_PUBLIC_KEYS_SECRET_ARN: is not a usable token key set: the key set has no keys/);
  });

  test('the function gets both ARNs, may read the signing secret and write the public one, nothing more', () => {
    const { keys, signingKey, id, template } = build();
    const t = template();
    t.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'app/main.handler',
      Environment: { Variables: { TOKEN_SIGNING_SECRET_ARN: { Ref: id(signingKey) }, TOKEN_PUBLIC_KEYS_SECRET_ARN: { Ref: id(keys.secret) } } },
    });
    const roleId = id(keys.function.role as never);
    const statements = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([
      { Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Effect: 'Allow', Resource: { Ref: id(signingKey) } },
      { Action: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecret', 'secretsmanager:UpdateSecretVersionStage'], Effect: 'Allow', Resource: { Ref: id(keys.secret) } },
    ]);
  });

  test('the trigger runs after both secrets exist, and again when the function changes', () => {
    const { keys, signingKey, id, template } = build();
    const t = template().toJSON();
    const [triggerId, trigger] = Object.entries<any>(t.Resources).find(([, r]) => r.Type === 'Custom::Trigger')!;
    expect(trigger.DependsOn).toEqual(expect.arrayContaining([id(signingKey), id(keys.secret)]));
    expect(JSON.stringify(trigger.Properties.HandlerArn)).toContain('CurrentVersion');
    expect(triggerId).toMatch(/^TokenPublicKeysTrigger/);
  });

  test('an Auto Scaling group passed to runBefore depends on the trigger', () => {
    const { stack, keys, template } = build();
    const group = new autoscaling.AutoScalingGroup(stack, 'Group', {
      vpc: standaloneVpc(stack),
      instanceType: new ec2.InstanceType('t4g.micro'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
    });
    keys.runBefore(group);
    const t = template();
    const [triggerId] = Object.keys(t.findResources('Custom::Trigger'));
    const [groupId] = Object.keys(t.findResources('AWS::AutoScaling::AutoScalingGroup'));
    expect(t.toJSON().Resources[groupId].DependsOn).toContain(triggerId);
  });

  test('passes cdk-nag AwsSolutions with no unacknowledged errors', () => {
    expect(unacknowledgedNagFindings(build().stack)).toEqual([]);
  });
});
