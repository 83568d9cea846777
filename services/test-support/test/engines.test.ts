// How a run chooses its engines (../engines.ts): the rule, the probes, and two whole jest runs
// in child processes on closed ports: without CI they pass on embedded engines and list what they
// skipped; with CI=true they fail naming what to start.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startEmbeddedRedis } from '../embedded-redis';
import { decideEngine, engineNotice, probeEngines } from '../engines';
import { createTestDatabase, freePort } from '../testing';

const ROOT = join(__dirname, '..', '..', '..');

describe('decideEngine', () => {
  it('uses what is there, stands in outside CI, and requires the real engine in CI', () => {
    expect(decideEngine('postgres', true, true)).toBe('real');
    expect(decideEngine('postgres', false, false)).toBe('embedded');
    expect(decideEngine('redis', false, false)).toBe('embedded');
    expect(decideEngine('redis-server', false, false)).toBe('embedded');
    expect(decideEngine('shellcheck', false, false)).toBe('absent');
    expect(decideEngine('postgres', false, true)).toBe('required');
    expect(decideEngine('shellcheck', false, true)).toBe('required');
  });
});

describe('engineNotice', () => {
  it('is empty when everything is real and names each engine that is not', () => {
    expect(engineNotice({ postgres: 'real', redis: 'real', 'redis-server': 'real', shellcheck: 'real', chromium: 'real' })).toBe('');
    const local = engineNotice({ postgres: 'embedded', redis: 'real', 'redis-server': 'embedded', shellcheck: 'absent', chromium: 'absent' });
    expect(local).toMatch(/PostgreSQL \(.*\): not found, EMBEDDED \(PGlite/);
    expect(local).toMatch(/shellcheck program: not found, suites that need it are SKIPPED/);
    expect(local).not.toMatch(/Redis \(redis:/);
    expect(engineNotice({ postgres: 'required', redis: 'real', 'redis-server': 'real', shellcheck: 'real', chromium: 'real' })).toMatch(
      /PostgreSQL .*not found and CI=true: the tests that need it FAIL\n.*\.ci\/run/,
    );
  });
});

describe('probeEngines', () => {
  it('finds servers that answer and not closed ports', async () => {
    const database = await createTestDatabase();
    const redis = await startEmbeddedRedis();
    try {
      const there = await probeEngines({ postgres: database.url, redis: redis.url });
      expect([there.postgres, there.redis]).toEqual([true, true]);
      const closed = await probeEngines({
        postgres: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`,
        redis: `redis://127.0.0.1:${await freePort()}`,
      });
      expect([closed.postgres, closed.redis]).toEqual([false, false]);
    } finally {
      await redis.stop();
      await database.drop();
    }
  });
});

describe('a whole jest run on a machine without PostgreSQL and Redis', () => {
  jest.setTimeout(240_000);

  async function runFixture(ci: boolean) {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEST_DATABASE_ADMIN_URL: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`,
      TEST_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    };
    for (const carried of ['CI', 'JEST_WORKER_ID', 'SURGE_TEST_ENGINES', 'SURGE_TEST_ENGINE_NOTICE', 'SURGE_TEST_PGLITE_HOST']) delete env[carried];
    if (ci) env.CI = 'true';
    const config = {
      rootDir: ROOT,
      testEnvironment: 'node',
      testMatch: ['<rootDir>/services/test-support/test/fixtures/engines.fixture.ts'],
      transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
      globalSetup: '<rootDir>/services/test-support/jest-global-setup.ts',
      reporters: ['default', '<rootDir>/test/summary-reporter.js'],
      // As in jest.config.js: this child runs beside the suite's other files, and a PGlite database takes seconds.
      testTimeout: 30_000,
    };
    const run = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', JSON.stringify(config), '--ci'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 200_000,
    });
    return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
  }

  it('passes on embedded engines, says so at the start and the end, and lists the skipped suite with its reason', async () => {
    const { status, output } = await runFixture(false);
    expect(output).toMatch(/jest: 1 passed, 0 failed, 1 skipped\n/);
    expect(status).toBe(0);
    // Once from the global setup, once from the summary.
    expect(output.match(/PostgreSQL \(postgres:\/\/[^)]*\): not found, EMBEDDED/g)).toHaveLength(2);
    expect(output).toMatch(/skipped for missing engines:\n.*engines\.fixture\.ts > a suite that needs PostgreSQL \[skipped: needs PostgreSQL .*: the fixture pretends to need row locks\]/);
  });

  it('fails with CI=true, naming the engine to start', async () => {
    const { status, output } = await runFixture(true);
    expect(status).not.toBe(0);
    expect(output).toMatch(/not found and CI=true: the tests that need it FAIL/);
    expect(output).toMatch(/PostgreSQL is not reachable at postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres .*start it \(`\.ci\/run` does\)/);
    expect(output).toMatch(/jest: 1 passed, 1 failed\n/);
  });
});
