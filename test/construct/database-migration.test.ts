// DatabaseMigration: the function, its network access and secret grant, the trigger that runs it
// after the database exists, `runBefore` making groups wait for it, and prop validation.
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Database } from '../../lib/construct/database';
import { DatabaseMigration, type DatabaseMigrationProps } from '../../lib/construct/database-migration';
import { standaloneStack, standaloneVpc } from './standalone-stack';

// Any directory works as the function's code here; the real bundle is tested in test/deploy/migration-step.test.ts.
const CODE_DIR = __dirname;

function build(props: Partial<DatabaseMigrationProps> = {}) {
  const stack = standaloneStack('Migration');
  const vpc = standaloneVpc(stack);
  const database = new Database(stack, 'Database', { vpc });
  const migration = new DatabaseMigration(stack, 'Migration', {
    vpc,
    database,
    bundleDirectory: CODE_DIR,
    handler: 'app/main.handler',
    environment: { DB_NAME: 'surge' },
    logRetention: logs.RetentionDays.ONE_MONTH,
    ...props,
  });
  return { stack, vpc, migration };
}

describe('DatabaseMigration', () => {
  test('an Auto Scaling group passed to runBefore depends on the trigger', () => {
    const { stack, vpc, migration } = build();
    const group = new autoscaling.AutoScalingGroup(stack, 'Group', {
      vpc,
      instanceType: new ec2.InstanceType('t4g.micro'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
    });
    migration.runBefore(group);
    const template = Template.fromStack(stack);
    const [triggerId] = Object.keys(template.findResources('Custom::Trigger'));
    const [groupId] = Object.keys(template.findResources('AWS::AutoScaling::AutoScalingGroup'));
    expect(template.toJSON().Resources[groupId].DependsOn).toContain(triggerId);
  });

  test('the function times out at 15 minutes by default and the trigger waits as long', () => {
    const template = Template.fromStack(build().stack);
    template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 900, Handler: 'app/main.handler', Environment: { Variables: { DB_NAME: 'surge' } } });
    template.hasResourceProperties('Custom::Trigger', { Timeout: '900000', InvocationType: 'RequestResponse' });
  });

  test('rejects a timeout Lambda cannot run and a malformed handler', () => {
    expect(() => build({ timeout: Duration.minutes(16) })).toThrow(/timeout must be 1-15 minutes \(Lambda's limit\), got 16 minutes/);
    expect(() => build({ timeout: Duration.seconds(30) })).toThrow(/timeout must be 1-15 minutes/);
    expect(() => build({ handler: 'main' })).toThrow(/handler "main" must look like path\/file.export/);
  });
});
