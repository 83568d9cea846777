// Test helpers that build Surge the way `cdk synth` does: cdk.json's context (feature flags)
// passed explicitly, because `new App()` under jest does not read cdk.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { createApp, type SurgeApp } from '../../lib/app';
import type { FleetName } from '../../lib/config';
import type { SurgeStack } from '../../lib/stack/surge-stack';

/**
 * cdk.json's context, and no creation stack trace on every CloudFormation element: they go to the cloud
 * assembly's metadata, never to a template, and capturing them (each through jest's source maps) was
 * about a tenth of an infra test file's CPU.
 */
export const cdkContext: Record<string, unknown> = {
  ...JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context,
  'aws:cdk:disable-creation-stack-traces': true,
};

/** The app bin/surge.ts builds for `-c env=<envName>`. */
export function buildSurgeApp(envName: string): SurgeApp {
  return createApp({ ...cdkContext, env: envName });
}

/** An empty stack in an app with cdk.json's context, for construct tests. */
export function constructTestStack(region = 'us-west-2'): Stack {
  const app = new App({ context: cdkContext });
  return new Stack(app, 'Test', { env: { account: '111122223333', region } });
}

/** A writable deep copy of a readonly config, for building invalid variants in tests. */
export type Writable<T> = { -readonly [K in keyof T]: T[K] extends object ? Writable<T[K]> : T[K] };
export function writableCopy<T>(value: T): Writable<T> {
  return structuredClone(value) as Writable<T>;
}

/** A fleet's launch template user data, every CloudFormation expression in it shown as <ref>. */
export function fleetUserData(stack: SurgeStack, fleet: FleetName, template: Template = Template.fromStack(stack)): string {
  const resources = template.toJSON().Resources as Record<string, { Properties: any }>;
  const lt = resources[stack.getLogicalId(stack.fleets[fleet].launchTemplate.node.defaultChild as never)];
  const encoded = lt.Properties.LaunchTemplateData.UserData['Fn::Base64'];
  if (typeof encoded === 'string') return encoded;
  return (encoded['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : '<ref>')).join('');
}

/** The environment file a fleet's boot script writes (what its service processes read), from the synthesized stack. */
export function fleetEnvironment(stack: SurgeStack, fleet: FleetName, template?: Template): Record<string, string> {
  const body = fleetUserData(stack, fleet, template).split("<<'SURGE_ENVIRONMENT'\n")[1].split('\nSURGE_ENVIRONMENT\n')[0];
  return Object.fromEntries(body.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
