// Three projects: the CDK app's tests (test/, mirroring lib/), the services' tests (services/**/test)
// and the sale-day operations tools' tests (ops/test).
const transform = { '^.+\\.tsx?$': ['@swc/jest'] };

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
    },
    {
      displayName: 'services',
      testEnvironment: 'node',
      roots: ['<rootDir>/services'],
      testMatch: ['**/test/**/*.test.ts'],
      transform,
    },
    {
      displayName: 'ops',
      testEnvironment: 'node',
      roots: ['<rootDir>/ops'],
      testMatch: ['**/test/**/*.test.ts'],
      transform,
    },
  ],
};
