// Service bundles: one CommonJS file per fleet for Node 20 with the migrations and the cluster
// launcher beside it, built once per change to the services (cached by content hash).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FLEET_NAMES, type FleetName } from '../../lib/config';
import { BUNDLE_ENTRY, BUNDLE_LAUNCHER, bundleDeploymentStep, bundleFleet, DEPLOYMENT_STEP_HANDLER } from '../../lib/deploy/bundle';
import { DATA_OWNERS } from '../../services/platform/ownership';

jest.setTimeout(60_000);

test.each([...FLEET_NAMES])('%s: one bundled file, every service\'s migrations and the launcher, no node_modules', (fleet) => {
  const dir = bundleFleet(fleet);
  expect(readdirSync(dir).sort()).toEqual(['app', BUNDLE_LAUNCHER, ...DATA_OWNERS].sort());
  expect(readdirSync(join(dir, 'app'))).toEqual(['main.js']);
  for (const service of DATA_OWNERS) {
    const migrations = readdirSync(join(dir, service, 'migrations'));
    expect(migrations).toEqual(readdirSync(join(__dirname, '..', '..', 'services', service, 'migrations')).filter((f) => f.endsWith('.sql')).sort());
  }
  const code = readFileSync(join(dir, BUNDLE_ENTRY), 'utf8');
  // Dependencies are inlined: nothing is left for require() to find in node_modules.
  expect(code).not.toMatch(/require\("(fastify|pg|ioredis|jose|pino|@aws-sdk\/client-sqs)"\)/);
});

test('a second build of unchanged services reuses the cached bundle', () => {
  const first = bundleFleet('user');
  const builtAt = statSync(join(first, BUNDLE_ENTRY)).mtimeMs;
  const second = bundleFleet('user');
  expect(second).toBe(first);
  expect(statSync(join(second, BUNDLE_ENTRY)).mtimeMs).toBe(builtAt);
});

test('each fleet gets its own bundle', () => {
  expect(new Set(FLEET_NAMES.map((f) => bundleFleet(f))).size).toBe(FLEET_NAMES.length);
});

test('a fleet without an entry point is refused, naming the missing file', () => {
  expect(() => bundleFleet('cart' as FleetName)).toThrow(/No entry point for fleet "cart": .*services\/cart\/main\.ts does not exist/);
});

test('the token key publisher bundles its handler with the AWS SDK inlined', () => {
  const dir = bundleDeploymentStep('token-public-keys');
  expect(DEPLOYMENT_STEP_HANDLER).toBe(`${BUNDLE_ENTRY.replace(/\.js$/, '')}.handler`);
  const step = require(join(dir, BUNDLE_ENTRY)) as typeof import('../../services/platform/token-public-keys');
  expect(typeof step.handler).toBe('function');
  expect(readFileSync(join(dir, BUNDLE_ENTRY), 'utf8')).not.toMatch(/require\("@aws-sdk\/client-secrets-manager"\)/);
});
