// Service bundles: each fleet's entry point (services/<fleet>/main.ts) bundled by esbuild into one
// CommonJS file for Node 20, next to every service's SQL migrations and the cluster launcher that runs
// one process per vCPU. Bundles are cached by a hash of their inputs, so synthesizing the app (and
// every infra test that does) bundles each fleet at most once per change to the services.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildSync, version as esbuildVersion } from 'esbuild';
import { DATA_OWNERS } from '../../services/platform/ownership';
import type { FleetName } from '../config';

const REPO_ROOT = join(__dirname, '..', '..');
const SERVICES_DIR = join(REPO_ROOT, 'services');
/** Where bundles are cached: SURGE_BUNDLE_CACHE, or node_modules/.cache/surge-bundles. */
const cacheDir = () => process.env.SURGE_BUNDLE_CACHE ?? join(REPO_ROOT, 'node_modules', '.cache', 'surge-bundles');
const LAUNCHER = join(__dirname, 'cluster-launcher.js');

/** Inside a bundle directory: the bundled entry point, relative to the directory. */
export const BUNDLE_ENTRY = 'app/main.js';
/** Inside a bundle directory: the launcher systemd starts (node:cluster, one worker per vCPU). */
export const BUNDLE_LAUNCHER = 'cluster-launcher.js';

/**
 * V8 flags of every fleet process: systemd passes them to the launcher, whose node:cluster workers
 * inherit its execArgv, and perf/lib/stack.ts starts services (and the bench's ceilings) with them, so
 * a benchmark measures the runtime that ships.
 *
 * `--no-memory-reducer`: V8's memory reducer shrinks the heap of a process that has gone quiet (8 s
 * after its allocation rate drops). On this Node (20) a process it has run on stays slower afterwards
 * (through the whole minute we watched). Side by side in one run here, after 15 s idle, per cached
 * product read: the order bundle 15.2-17.0 us of CPU without this flag, 13.1-14.3 us with it; the
 * bare node:http ceiling 13.0-13.9 against 10.9-12.2 us. Idle-then-busy is the sale-day pattern (fleets
 * scaled out before the sale wait for it; idles longer than 15 s and the arm64 fleets were not
 * measured), so the fleets keep the heap they grew instead. Peak memory
 * under load is unchanged (bench: order 109.7 MB, worker 112.5 MB); an idle process keeps its heap.
 *
 * `--max-old-space-size=256 --max-semi-space-size=8` (MB): without them V8 sizes the heap from the
 * machine's memory (a 24 GB box: a 4 GB old generation that grows 4x its live size between full
 * collections and 16 MB semi-spaces; a 1 GB t4g.micro: about 512 MB, 1.4x and 4 MB), so one bundle's
 * memory depended on where it ran. A 256 MB old generation grows the least (1.3x) between full collections, still ten
 * times the worker's live heap (about 25 MB). Draining a backlog of orders, the worker peaked at
 * 172 MB RSS without these flags and 113 MB with them, for about the same GC time per message.
 */
export const FLEET_NODE_FLAGS: readonly string[] = ['--max-old-space-size=256', '--max-semi-space-size=8', '--no-memory-reducer'];

/** Options that shape the output; part of the cache key. */
const BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // No keepNames: the bundle is not minified, so names in stack traces stay readable anyway (esbuild
  // only suffixes the few it renames, e.g. `createMetrics2`), while keepNames wraps every function
  // created at run time in a defineProperty call - measured at 15-20% of the CPU of a cached product
  // read (docs/BENCHMARKS.md).
  keepNames: false,
  legalComments: 'none',
  logLevel: 'warning',
} as const;

/**
 * Returns a directory holding `app/main.js` (the fleet's bundled entry point), each service's
 * `<service>/migrations/*.sql` (found at `__dirname/../<service>/migrations` by
 * services/platform/migrate.ts, as in the source tree) and `cluster-launcher.js`.
 */
export function bundleFleet(fleet: FleetName): string {
  const entry = entryOf(fleet);
  if (!existsSync(entry)) throw new Error(`No entry point for fleet "${fleet}": ${entry} does not exist`);
  return bundle(fleet, entry);
}

/** The deployment steps run as Lambda functions during a deployment, by their source module. */
const STEP_ENTRIES = {
  'migration-step': join(SERVICES_DIR, 'platform', 'migration-step.ts'),
  'token-public-keys': join(SERVICES_DIR, 'platform', 'token-public-keys.ts'),
} as const;

/** A deployment step: `migration-step` (services/platform/migration-step.ts) or `token-public-keys` (services/platform/token-public-keys.ts). */
export type DeploymentStep = keyof typeof STEP_ENTRIES;

/** A bundle: a fleet's or a deployment step's. */
export type BundleName = FleetName | DeploymentStep;

/** The module a bundle is built from: a fleet's `services/<fleet>/main.ts`, or a step's module. */
function entryOf(name: BundleName): string {
  return name in STEP_ENTRIES ? STEP_ENTRIES[name as DeploymentStep] : join(SERVICES_DIR, name, 'main.ts');
}

/** Inside a deployment step's bundle: the Lambda handler (`app/main.js` exports `handler`). */
export const DEPLOYMENT_STEP_HANDLER = 'app/main.handler';

/**
 * A deployment step as a Lambda bundle, in a fleet's layout: the migration step applies the same
 * `<service>/migrations/*.sql` the fleets were built with (in the token key publisher they go unused).
 */
export function bundleDeploymentStep(step: DeploymentStep): string {
  return bundle(step, entryOf(step));
}

/**
 * The source files esbuild puts into a bundle (a fleet's, or the migration step's), relative to the
 * repository: what ships, for the tests that keep test helpers and other services' code out of it.
 */
export function bundleInputs(name: BundleName): string[] {
  const { metafile } = buildSync({ ...BUILD_OPTIONS, entryPoints: [entryOf(name)], outfile: join(cacheDir(), 'inputs-only.js'), write: false, metafile: true });
  return Object.keys(metafile.inputs).map((path) => relative(REPO_ROOT, join(process.cwd(), path)).split('\\').join('/'));
}

function bundle(name: string, entry: string): string {
  const cache = cacheDir();
  const dir = join(cache, `${name}-${inputHash(name)}`);
  const built = () => existsSync(join(dir, BUNDLE_ENTRY));
  if (built()) return dir;

  // One process builds a bundle; the others wait for it (parallel jest workers synthesize at once, and
  // each built every bundle itself: three times the work on a fresh clone). The lock is `<name>.lock`
  // in the cache, holding the builder's process id; a lock whose process has died is taken over.
  mkdirSync(cache, { recursive: true });
  const lock = join(cache, `${name}.lock`);
  for (;;) {
    if (claim(lock)) break;
    if (holderGone(lock)) rmSync(lock, { force: true });
    else Atomics.wait(POLL, 0, 0, 50);
    if (built()) return dir;
  }
  try {
    if (!built()) build(dir, entry);
  } finally {
    rmSync(lock, { force: true });
  }
  return dir;
}

/** Something to Atomics.wait on: a synchronous 50 ms sleep between looks at another process's lock. */
const POLL = new Int32Array(new SharedArrayBuffer(4));

/** Builds a bundle next to `dir` and renames it into place, so no process ever sees half a bundle. */
function build(dir: string, entry: string): void {
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  buildSync({ ...BUILD_OPTIONS, entryPoints: [entry], outfile: join(staging, BUNDLE_ENTRY) });
  for (const service of DATA_OWNERS) {
    const from = join(SERVICES_DIR, service, 'migrations');
    mkdirSync(join(staging, service, 'migrations'), { recursive: true });
    for (const file of readdirSync(from).filter((f) => f.endsWith('.sql')).sort()) {
      copyFileSync(join(from, file), join(staging, service, 'migrations', file));
    }
  }
  copyFileSync(LAUNCHER, join(staging, BUNDLE_LAUNCHER));
  renameSync(staging, dir);
}

/** Takes the lock file (holding this process's id); false when another process holds it. */
function claim(lock: string): boolean {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Whether the process holding the lock has died without removing it (a killed test worker, say). */
function holderGone(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(lock, 'utf8'));
  } catch {
    return false; // released meanwhile
  }
  if (!Number.isInteger(pid) || pid <= 0) return false; // being written
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Hash of everything a bundle is made from: service sources, migrations, lockfile, esbuild and its options. */
function inputHash(name: string): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ fleet: name, esbuildVersion, BUILD_OPTIONS }));
  for (const file of sourceFiles(SERVICES_DIR)) {
    hash.update(relative(REPO_ROOT, file));
    hash.update(readFileSync(file));
  }
  hash.update(readFileSync(join(REPO_ROOT, 'package-lock.json')));
  hash.update(readFileSync(LAUNCHER));
  return hash.digest('hex').slice(0, 16);
}

/** Service sources a bundle can include; tests and docs are left out. */
function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'test' && name !== 'node_modules') files.push(...sourceFiles(path));
    } else if (/\.(ts|js|json|sql)$/.test(name)) {
      files.push(path);
    }
  }
  return files;
}
