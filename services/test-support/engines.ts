// Which engines the tests run against, decided once per jest run (support/jest-global-setup.ts) and
// read by every test file: the real PostgreSQL and Redis when they answer; otherwise, in CI, the
// real ones anyway so the tests fail loudly saying what to start; otherwise (a machine with only
// Node) embedded stand-ins, PGlite and an ioredis-mock server. Suites whose point needs a real
// engine say so with needsRealEngine() and are skipped, with their reason, when it is embedded.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import pg from 'pg';

/** Server-level connection used to create and drop test databases. */
export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Debian's Chromium, which the storefront's browser tests drive (playwright-core; no browser download). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The shared test Redis. */
export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Engines and tools the tests use: two servers, two programs on PATH and a browser. */
export type Engine = 'postgres' | 'redis' | 'redis-server' | 'shellcheck' | 'chromium';

/**
 * - real: reachable (servers) or on PATH (programs);
 * - embedded: missing, outside CI: a stand-in runs instead (PGlite, the ioredis-mock server);
 * - absent: missing, outside CI, and nothing stands in (shellcheck): suites needing it are skipped;
 * - required: missing in CI: tests use it anyway and fail, saying what to start.
 */
export type EngineState = 'real' | 'embedded' | 'absent' | 'required';
export type EngineStates = Record<Engine, EngineState>;

export const ENGINE_NAMES: Record<Engine, string> = {
  postgres: `PostgreSQL (${ADMIN_URL})`,
  redis: `Redis (${SHARED_REDIS_URL})`,
  'redis-server': 'the redis-server program',
  shellcheck: 'the shellcheck program',
  chromium: `Chromium (${CHROMIUM_PATH})`,
};

const STAND_INS: Partial<Record<Engine, string>> = {
  postgres: 'PGlite, one per test database',
  redis: 'ioredis-mock behind a RESP server',
  'redis-server': 'ioredis-mock RESP servers a test may stop',
};

/** The environment variable that carries the decision from the global setup to the test workers. */
export const ENGINES_VARIABLE = 'SURGE_TEST_ENGINES';

/** The rule, on its own: a missing engine is embedded (or absent) outside CI and required in CI. */
export function decideEngine(engine: Engine, available: boolean, ci: boolean): EngineState {
  if (available) return 'real';
  if (ci) return 'required';
  return STAND_INS[engine] ? 'embedded' : 'absent';
}

/** What is there: the two servers (short connect timeouts), the two programs and the browser. */
export async function probeEngines(urls = { postgres: ADMIN_URL, redis: SHARED_REDIS_URL }, timeoutMs = 1500): Promise<Record<Engine, boolean>> {
  const [postgres, redis] = await Promise.all([postgresAnswers(urls.postgres, timeoutMs), redisAnswers(urls.redis, timeoutMs)]);
  return { postgres, redis, 'redis-server': onPath('redis-server'), shellcheck: onPath('shellcheck'), chromium: existsSync(CHROMIUM_PATH) };
}

/** Probes and decides; `ci` is CI=true. */
export async function resolveEngines(env: NodeJS.ProcessEnv = process.env): Promise<EngineStates> {
  const available = await probeEngines();
  const ci = env.CI === 'true';
  const states = {} as EngineStates;
  for (const engine of Object.keys(available) as Engine[]) states[engine] = decideEngine(engine, available[engine], ci);
  return states;
}

/**
 * The decision for this run: from the global setup when it ran, else probed here once per process.
 * Outside jest nothing is embedded: perf tools measure real engines or fail saying what is missing.
 */
let resolved: Promise<EngineStates> | undefined;
export function testEngines(): Promise<EngineStates> {
  const decided = decidedEngines();
  if (decided) return Promise.resolve(decided);
  resolved ??= resolveEngines(process.env.JEST_WORKER_ID === undefined ? { ...process.env, CI: 'true' } : process.env);
  return resolved;
}

function decidedEngines(): EngineStates | undefined {
  const carried = process.env[ENGINES_VARIABLE];
  return carried ? (JSON.parse(carried) as EngineStates) : undefined;
}

/** Marks a skipped suite's title so the summary reporter can list it with its reason. */
export const SKIP_MARK = 'skipped: needs';

/**
 * `describe` for a suite whose point needs the real `engine` (true concurrency, a process to kill,
 * a program to run). It runs when the engine is real, and in CI, where a missing engine fails it;
 * with a stand-in or nothing in its place it is skipped and listed, with `reason`, at the end of
 * the run. Usage: `needsRealEngine('postgres', 'relays race on SKIP LOCKED')('outbox relays', () => {...})`.
 */
export function needsRealEngine(engine: Engine, reason: string): (title: string, fn: () => void) => void {
  // Without the global setup's decision, assume real: the suite runs and fails loudly if it cannot.
  const state = decidedEngines()?.[engine] ?? 'real';
  if (state === 'embedded' || state === 'absent') {
    return (title, fn) => describe.skip(`${title} [${SKIP_MARK} ${ENGINE_NAMES[engine]}: ${reason}]`, fn);
  }
  return (title, fn) => describe(title, fn);
}

/** One paragraph for the start and the end of a run; empty when every engine is real. */
export function engineNotice(states: EngineStates): string {
  const lines: string[] = [];
  for (const engine of Object.keys(states) as Engine[]) {
    const state = states[engine];
    if (state === 'embedded') lines.push(`  ${ENGINE_NAMES[engine]}: not found, EMBEDDED (${STAND_INS[engine]})`);
    if (state === 'absent') lines.push(`  ${ENGINE_NAMES[engine]}: not found, suites that need it are SKIPPED`);
    if (state === 'required') lines.push(`  ${ENGINE_NAMES[engine]}: not found and CI=true: the tests that need it FAIL`);
  }
  if (lines.length === 0) return '';
  const ci = Object.values(states).includes('required');
  const tail = ci
    ? 'Start them (`.ci/run` does) or point TEST_DATABASE_ADMIN_URL / TEST_REDIS_URL at them.'
    : 'Suites whose point needs a real engine are skipped and listed at the end. Start PostgreSQL and Redis ' +
      '(`.ci/run` does) to run everything.';
  return ['test engines:', ...lines, tail].join('\n');
}

async function postgresAnswers(url: string, timeoutMs: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A PING over a raw socket: no client library retries to wait for. */
function redisAnswers(url: string, timeoutMs: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    // An AUTH-protected server answers -NOAUTH: it is there, and the tests' own error will say why.
    socket.once('data', (data) => done(/PONG|NOAUTH/.test(data.toString())));
    socket.connect(Number(port || 6379), hostname.replace(/^\[|\]$/g, ''), () => socket.write('PING\r\n'));
  });
}

function onPath(program: string): boolean {
  return !spawnSync(program, ['--version'], { stdio: 'ignore' }).error;
}
