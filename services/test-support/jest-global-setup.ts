// jest globalSetup of the projects whose tests use engines (services, perf, infra, web): decides once
// per run which engines are real, embedded or missing (./engines.ts), hands the decision to the
// test workers through the environment and prints the notice once at the start; the summary
// reporter (test/summary-reporter.js) prints it again at the end, with the suites it skipped.
// It also starts the run's one SQS emulator, which every test file shares (./jest-global-teardown.ts
// stops it): starting fauxqs cost each of about twenty files half a second of CPU.
import { engineNotice, ENGINES_VARIABLE, resolveEngines } from './engines';
import { embeddedPostgresHost, HOST_VARIABLE } from './embedded-postgres';
import { SHARED_SQS_VARIABLE, spawnSqsEmulator } from './child-processes';

/** Where the setup leaves the emulator for the teardown (both run in jest's main process). */
export const SHARED_SQS_STOP = Symbol.for('surge.test.sharedSqs.stop');

export default async function decideTestEngines(): Promise<void> {
  if (!process.env[SHARED_SQS_VARIABLE]) {
    const emulator = await spawnSqsEmulator();
    process.env[SHARED_SQS_VARIABLE] = emulator.endpoint;
    (globalThis as Record<symbol, unknown>)[SHARED_SQS_STOP] = emulator.stop;
  }
  // The same module is every project's globalSetup; jest runs it once, but be safe if it does not.
  if (process.env[ENGINES_VARIABLE]) return;
  const states = await resolveEngines();
  process.env[ENGINES_VARIABLE] = JSON.stringify(states);
  const notice = engineNotice(states);
  if (!notice) return;
  process.env.SURGE_TEST_ENGINE_NOTICE = notice;
  process.stderr.write(`\n${notice}\n\n`);
  if (states.postgres === 'embedded') {
    // One PGlite host for every test worker: the migrated template is built once, here, up front.
    const started = Date.now();
    process.env[HOST_VARIABLE] = (await embeddedPostgresHost()).control;
    process.stderr.write(`test engines: embedded PostgreSQL ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n\n`);
  }
}
