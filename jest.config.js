// Five projects: the CDK app's tests (test/, mirroring lib/), the services' tests (services/**/test),
// the load/benchmark/drill tools' tests (perf/test), the storefront in a browser (web/test) and the
// sale-day operations tools' tests (ops/test).
// JavaScript is transformed too, for the ESM-only packages on a CommonJS path: cookie 2 (needed by
// light-my-request, which powers fastify's inject()) and @apidevtools/json-schema-ref-parser (needed by
// openapi-backend, which the contract tests validate responses with).
const transform = { '^.+\\.(t|j)sx?$': ['@swc/jest'] };
const transformIgnorePatterns = ['/node_modules/(?!cookie/|@apidevtools/json-schema-ref-parser/)'];
// Decides once per run which test engines are real, embedded or missing (services/test-support/engines.ts)
// and starts the SQS emulator the run's test files share; the same path in several projects runs once.
const globalSetup = '<rootDir>/services/test-support/jest-global-setup.ts';
const globalTeardown = '<rootDir>/services/test-support/jest-global-teardown.ts';

/** @type {import('jest').Config} */
module.exports = {
  // Most test files wait on servers, engines and browsers rather than compute: jest's default of one
  // worker per core but one (a single worker on 2 cores) left the cores idle more than half the time.
  // Four: on this 2-core machine, side by side on one tree, three workers took 120 s, four 106 s and
  // five 104 s, and at four the cores are busy about 93% of the run. The timing-bound tests (drain,
  // database outage, a browser's waiting room, the load tool's phases) pass at four.
  maxWorkers: 4,
  // With several files at once on two cores, a hook that starts engines (a database, an SQS emulator)
  // can take longer than jest's default 5 s; a file that needs longer still sets its own.
  testTimeout: 30_000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  // In CI a missing engine fails the run; test files whose setup failed may leave children (SQS
  // emulators) that would keep jest from exiting after it has printed the failures.
  forceExit: process.env.CI === 'true',
  projects: [
    {
      displayName: 'infra',
      testEnvironment: 'node',
      globalSetup,
      globalTeardown,
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      // aws-cdk-lib's built-in template validation runs only where a test turns it back on (see the file).
      setupFiles: ['<rootDir>/test/helpers/builtin-validation.ts'],
      // Every synth stages the fleets' bundles into a temporary cdk.out; remove them after each file.
      setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
    },
    {
      displayName: 'services',
      testEnvironment: 'node',
      globalSetup,
      globalTeardown,
      roots: ['<rootDir>/services'],
      testMatch: ['**/test/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
    },
    {
      displayName: 'perf',
      testEnvironment: 'node',
      globalSetup,
      globalTeardown,
      roots: ['<rootDir>/perf'],
      testMatch: ['**/test/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
    },
    {
      // The storefront in a real browser against `npm start` (web/test).
      displayName: 'web',
      testEnvironment: 'node',
      globalSetup,
      globalTeardown,
      roots: ['<rootDir>/web'],
      testMatch: ['**/test/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
    },
    {
      displayName: 'ops',
      testEnvironment: 'node',
      roots: ['<rootDir>/ops'],
      testMatch: ['**/test/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
    },
  ],
};
