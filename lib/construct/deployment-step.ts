// What the deployment steps (the migration step, the token key publisher) share: a Node.js Lambda
// function on arm64 built from a bundle of lib/deploy/bundle.ts, with its own log group, and the
// acknowledged basic execution policy. Each step adds its network, grants and CDK trigger itself.
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export interface DeploymentStepFunctionProps {
  /** What the step does, for the console; also names it in the execution policy's acknowledgment. */
  readonly description: string;
  /** Who the step is in the acknowledgment's reason, e.g. `the migration step`. */
  readonly stepName: string;
  readonly bundleDirectory: string;
  readonly handler: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Network placement, for a step that must reach something inside the VPC. @default - outside any VPC */
  readonly network?: Pick<lambda.FunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'>;
}

/** Adds `Logs` and `Function` to `scope` (a step's own construct) and returns them. */
export function deploymentStepFunction(scope: Construct, props: DeploymentStepFunctionProps): { logGroup: logs.LogGroup; function: lambda.Function } {
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    retention: props.logRetention,
    removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
  });
  const fn = new lambda.Function(scope, 'Function', {
    description: props.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    code: lambda.Code.fromAsset(props.bundleDirectory),
    handler: props.handler,
    environment: { ...props.environment },
    timeout: props.timeout,
    memorySize: 256,
    ...props.network,
    logGroup,
  });
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: `The AWS managed basic execution policy lets ${props.stepName} write its own log stream; AWS keeps it in step with Lambda.`,
  });
  return { logGroup, function: fn };
}
