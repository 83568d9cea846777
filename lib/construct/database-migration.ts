// The deployment's migration step: a Lambda function in the VPC's private subnets, bundled with the
// services' migrations (services/platform/migration-step.ts), run by a CDK trigger (a custom
// resource) once the database is provisioned, and again whenever the bundle changes. Fleets passed to
// `runBefore` depend on the trigger, so CloudFormation creates or updates their Auto Scaling groups
// (and starts their instance refreshes) only after the migration succeeded; a failed migration fails
// the deployment, which rolls back with the old fleets untouched.
import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct, type IConstruct } from 'constructs';
import type { Database } from './database';
import { deploymentStepFunction } from './deployment-step';

/** Lambda's longest run: a migration step that needs longer must be split (docs/OPS.md, "Migrations"). */
const LAMBDA_MAX_TIMEOUT = Duration.minutes(15);

export interface DatabaseMigrationProps {
  readonly vpc: ec2.IVpc;
  /** The database to migrate; the step gets network access to it and reads its credentials. */
  readonly database: Database;
  /** Bundle directory with `app/main.js` exporting `handler` and `migrations/*.sql` (lib/deploy/bundle.ts). */
  readonly bundleDirectory: string;
  /** Handler inside the bundle, e.g. `app/main.handler`. */
  readonly handler: string;
  /** Environment of the function: the database settings the services use (endpoints, secret ARN), never a secret value. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Longest the step may run; the deployment fails (and rolls back) after it.
   * @default Duration.minutes(15), Lambda's maximum
   */
  readonly timeout?: Duration;
  /** Retention of the function's log group. */
  readonly logRetention: logs.RetentionDays;
  /**
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.DESTROY
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

export class DatabaseMigration extends Construct {
  /** The function that applies the migrations. */
  public readonly function: lambda.Function;
  /** Attached to the function; the database admits it. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** Runs the function during deployment; what must wait for the migration depends on it. */
  public readonly trigger: triggers.Trigger;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DatabaseMigrationProps) {
    super(scope, id);
    const timeout = props.timeout ?? LAMBDA_MAX_TIMEOUT;
    if (!timeout.isUnresolved() && (timeout.toSeconds() < 60 || timeout.toSeconds() > LAMBDA_MAX_TIMEOUT.toSeconds())) {
      throw new Error(`DatabaseMigration: timeout must be 1-15 minutes (Lambda's limit), got ${timeout.toHumanString()}`);
    }
    if (!/^[\w/.-]+\.\w+$/.test(props.handler) && !Token.isUnresolved(props.handler)) {
      throw new Error(`DatabaseMigration: handler ${JSON.stringify(props.handler)} must look like path/file.export`);
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Surge migration step: outbound to the database and Secrets Manager',
      allowAllOutbound: true,
    });
    // No reserved concurrency: reserving even 1 fails the deployment in accounts whose Lambda
    // concurrency quota is still the new-account 10. One trigger invokes it, and the advisory
    // lock would serialise a second run anyway.
    ({ logGroup: this.logGroup, function: this.function } = deploymentStepFunction(this, {
      description: 'Surge: applies the bundled database migrations during deployment, before the fleets roll',
      stepName: 'the migration step',
      bundleDirectory: props.bundleDirectory,
      handler: props.handler,
      environment: props.environment,
      timeout,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      network: { vpc: props.vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, securityGroups: [this.securityGroup] },
    }));
    props.database.allowFrom(this.function, 'Surge migration step to Aurora PostgreSQL');
    props.database.grantReadCredentials(this.function);
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      reason: 'The AWS managed VPC access policy creates and deletes the network interfaces Lambda needs in the private subnets to reach Aurora.',
    });

    this.trigger = new triggers.Trigger(this, 'Trigger', {
      handler: this.function,
      // Run again whenever the function changes, i.e. with every new bundle of migrations.
      executeOnHandlerChange: true,
      invocationType: triggers.InvocationType.REQUEST_RESPONSE,
      timeout,
      executeAfter: [props.database],
    });
  }

  /** Makes each scope (an Auto Scaling group) wait for a successful migration before it is created or updated. */
  public runBefore(...scopes: IConstruct[]): void {
    this.trigger.executeBefore(...(scopes as Construct[]));
  }
}
