// TokenPublicKeys: the public keys parameter (an empty key set until published), the publisher function
// that may read the signing secret and write the parameter and nothing else, the trigger that runs it
// after both exist (and again when the parameter's definition changes), `runBefore` making groups wait
// for it, and cdk-nag.
import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { TokenPublicKeys, type TokenPublicKeysProps } from '../../lib/construct/token-public-keys';
import { loadConfig } from '../../services/platform/config';
import { standaloneStack, standaloneVpc, TEST_ACCOUNT, TEST_REGION, unacknowledgedNagFindings } from './standalone-stack';

// Any directory works as the function's code here; the real bundle is tested in test/deploy/bundle.test.ts.
const CODE_DIR = __dirname;
const NAME = '/surge/test/token-public-keys';

function build(props: Partial<TokenPublicKeysProps> = {}) {
  const stack = standaloneStack('Keys');
  const signingKey = new secretsmanager.Secret(stack, 'SigningKey', { generateSecretString: { passwordLength: 64, excludePunctuation: true } });
  Validations.of(signingKey).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'Test stand-in for the stack\'s TokenSigningKey, which carries its own acknowledgement (rotated by npm run rotate-token-key).' });
  const keys = new TokenPublicKeys(stack, 'TokenPublicKeys', {
    signingKey,
    bundleDirectory: CODE_DIR,
    handler: 'app/main.handler',
    parameterName: NAME,
    logRetention: logs.RetentionDays.ONE_MONTH,
    ...props,
  });
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  return { stack, signingKey, keys, id, template: () => Template.fromStack(stack) };
}

/** arn:aws:ssm:<region>:<account>:parameter/surge/test/token-public-keys, the name (which starts with /) from the parameter. */
const parameterArn = (parameterId: string) => ({ 'Fn::Join': ['', [`arn:aws:ssm:${TEST_REGION}:${TEST_ACCOUNT}:parameter`, { Ref: parameterId }]] });

describe('TokenPublicKeys', () => {
  test('a free standard String parameter that starts as an empty key set, which the services refuse', async () => {
    const { keys, id, template } = build();
    const parameter = template().toJSON().Resources[id(keys.parameter)];
    expect(parameter.Properties).toMatchObject({ Name: NAME, Type: 'String', Tier: 'Standard' });
    expect(JSON.parse(parameter.Properties.Value)).toEqual({ keys: [] });
    const env = { SURGE_ENV: 'dev', DATABASE_URL: 'postgres://u@127.0.0.1:5432/surge', REDIS_URL: 'redis://127.0.0.1:6379', TOKEN_PUBLIC_KEYS_SECRET_ARN: 'arn:aws:ssm:us-west-2:1:parameter/x' };
    await expect(loadConfig(env, { getSecretString: async () => parameter.Properties.Value })).rejects.toThrow(/^TOKEN_PUBLIC_KEYS_SECRET_ARN: is not a usable token key set: the key set has no keys/);
  });

  test('the function gets the secret ARN and the parameter name, may read the one and write the other, nothing more', () => {
    const { keys, signingKey, id, template } = build();
    const t = template();
    t.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'app/main.handler',
      Environment: { Variables: { TOKEN_SIGNING_SECRET_ARN: { Ref: id(signingKey) }, TOKEN_PUBLIC_KEYS_PARAMETER: { Ref: id(keys.parameter) } } },
    });
    const roleId = id(keys.function.role as never);
    const statements = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([
      { Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Effect: 'Allow', Resource: { Ref: id(signingKey) } },
      { Action: 'ssm:PutParameter', Effect: 'Allow', Resource: parameterArn(id(keys.parameter)) },
    ]);
  });

  test('the trigger runs after the secret and the parameter exist, and again when the function changes', () => {
    const { keys, signingKey, id, template } = build();
    const t = template().toJSON();
    const [triggerId, trigger] = Object.entries<any>(t.Resources).find(([, r]) => r.Type === 'Custom::Trigger')!;
    expect(trigger.DependsOn).toEqual(expect.arrayContaining([id(signingKey), id(keys.parameter)]));
    expect(trigger.Properties).toMatchObject({ HandlerArn: { Ref: expect.stringMatching(/^TokenPublicKeysFunctionCurrentVersion/) }, ExecuteOnHandlerChange: true });
    expect(triggerId).toMatch(/^TokenPublicKeysTrigger/);
  });

  test('a new parameter definition (which CloudFormation writes over the keys) changes the function, so the keys are published again', () => {
    const fingerprint = (props: Partial<TokenPublicKeysProps>) => {
      const { keys, id, template } = build(props);
      const fn = template().toJSON().Resources[id(keys.function)];
      return fn.Properties.Environment.Variables.TOKEN_PUBLIC_KEYS_DEFINITION as string;
    };
    expect(fingerprint({})).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint({})).toBe(fingerprint({}));
    expect(fingerprint({ parameterName: '/surge/other/token-public-keys' })).not.toBe(fingerprint({}));
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
