// aws-cdk-lib's built-in CloudFormation validation on the apps `cdk synth` builds: with cdk.json's
// `@aws-cdk/core:validateAgainstDefaultRules` a rule violation fails the synth. The other infra tests
// run with it off (test/helpers/builtin-validation.ts: its engine's start costs seconds of CPU per file).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnResource } from 'aws-cdk-lib';
import { buildSurgeApp } from '../helpers/app';

beforeAll(() => {
  delete process.env.CDK_VALIDATION;
});

describe.each(['dev', 'prod'])('Surge %s', (envName) => {
  test('passes CloudFormation validation with no errors', () => {
    const { app } = buildSurgeApp(envName);
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));
    const cloudFormation = report.pluginReports.find((r: { pluginName: string }) => r.pluginName === 'CloudFormation Validate');
    expect({ conclusion: cloudFormation.conclusion, violations: cloudFormation.violations }).toEqual({ conclusion: 'success', violations: [] });
  });
});

// Proves the validation above is on: without it this synth would succeed.
test('a template CloudFormation would reject fails the synth', () => {
  const { app, stack } = buildSurgeApp('dev');
  new CfnResource(stack, 'Broken', { type: 'AWS::SQS::Queue', properties: { VisibilityTimeout: 'not a number' } });
  expect(() => app.synth()).toThrow(/VisibilityTimeout: 'not a number' is not of type 'integer' \(CloudFormation Validate\)/);
});
