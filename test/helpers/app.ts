// Test helpers that build Surge the way `cdk synth` does: cdk.json's context (feature flags)
// passed explicitly, because `new App()` under jest does not read cdk.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { createApp, type SurgeApp } from '../../lib/app';

export const cdkContext: Record<string, unknown> = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')).context;

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
