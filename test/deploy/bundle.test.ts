// Service bundles: one CommonJS file per fleet for Node 20 with the migrations and the cluster
// launcher beside it, built once per change to the services (cached by content hash), by one process
// at a time.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
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

describe('parallel builds (jest workers synthesize at once)', () => {
  let cache: string;
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), 'surge-bundle-cache-'));
  });
  afterEach(() => {
    delete process.env.SURGE_BUNDLE_CACHE;
    rmSync(cache, { recursive: true, force: true });
  });

  test('a process waits for the one building a bundle and takes its result, building nothing itself', async () => {
    const built = bundleFleet('user'); // the default cache: what the holder below "finishes" with
    writeFileSync(join(cache, 'user.lock'), String(process.pid));
    const script = join(cache, 'bundle-user.ts');
    writeFileSync(script, `import { bundleFleet } from ${JSON.stringify(join(__dirname, '..', '..', 'lib', 'deploy', 'bundle'))};\nconsole.log(bundleFleet('user'));\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, SURGE_BUNDLE_CACHE: cache }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

    await new Promise((resolve) => setTimeout(resolve, 1500));
    // Still waiting, and no bundle of its own started (a build would stage `<dir>.<pid>.tmp`).
    expect({ running: child.exitCode === null, files: readdirSync(cache).sort() }).toEqual({ running: true, files: ['bundle-user.ts', 'user.lock'] });

    cpSync(built, join(cache, basename(built)), { recursive: true });
    rmSync(join(cache, 'user.lock'));
    expect(await exited).toBe(0);
    expect(out.trim()).toBe(join(cache, basename(built)));
  });

  test('a lock left by a process that died is taken over', () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(join(cache, 'user.lock'), String(dead));
    process.env.SURGE_BUNDLE_CACHE = cache;
    const dir = bundleFleet('user');
    expect(dir.startsWith(cache)).toBe(true);
    expect(existsSync(join(dir, BUNDLE_ENTRY))).toBe(true);
    expect(existsSync(join(cache, 'user.lock'))).toBe(false);
  });
});
