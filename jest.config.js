// Four projects: the CDK app's tests (test/, mirroring lib/), the services' tests (services/**/test),
// the load/benchmark/drill tools' tests (perf/test) and the sale-day operations tools' tests (ops/test).
// JavaScript is transformed too, for the one ESM-only package on a CommonJS path: cookie 2 (needed by
// light-my-request, which powers fastify's inject()).
const transform = { '^.+\\.(t|j)sx?$': ['@swc/jest'] };
const transformIgnorePatterns = ['/node_modules/(?!cookie/)'];

/** @type {import('jest').Config} */
module.exports = {
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  projects: [
    {
      displayName: 'infra',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      // Every synth stages the fleets' bundles into a temporary cdk.out; remove them after each file.
      setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
    },
    {
      displayName: 'services',
      testEnvironment: 'node',
      roots: ['<rootDir>/services'],
      testMatch: ['**/test/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
    },
    {
      displayName: 'perf',
      testEnvironment: 'node',
      roots: ['<rootDir>/perf'],
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
