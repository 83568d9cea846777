// Shared fixtures for the construct tests: a small stack with an explicit environment and cdk.json's
// feature flags, a two-AZ VPC (with a flow log, so the VPC itself passes cdk-nag), and a helper that
// lists cdk-nag AwsSolutions findings that no acknowledgment covers.
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { cdkContext } from '../helpers/app';

export const TEST_ACCOUNT = '123456789012';
export const TEST_REGION = 'us-west-2';

/** A stack in its own App with cdk.json's context (`new App()` alone would ignore cdk.json). */
export function standaloneStack(id = 'Test', region = TEST_REGION): Stack {
  const app = new App({ context: cdkContext });
  return new Stack(app, id, { env: { account: TEST_ACCOUNT, region } });
}

/** A VPC over two explicit AZs with public, private-with-egress and isolated subnets. */
export function standaloneVpc(stack: Stack): ec2.Vpc {
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    availabilityZones: [`${stack.region}a`, `${stack.region}b`],
    natGateways: 1,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
      { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
      { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
    ],
  });
  vpc.addFlowLog('FlowLog');
  return vpc;
}

/**
 * cdk-nag AwsSolutions findings of `severity` in `scope` that no acknowledgment covers, as
 * `RuleId at construct/path` lines (empty when clean). Synthesizes first so lazily-added resources
 * are in the tree.
 */
export function unacknowledgedNagFindings(scope: IConstruct, severity: 'error' | 'warning' = 'error'): string[] {
  const app = scope.node.root as App;
  app.synth();
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations
    .filter((v) => v.severity === severity)
    .flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
}
