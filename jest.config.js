// Two projects: the CDK app's tests (test/, mirroring lib/) and the services' tests (services/**/test).
const transform = { '^.+\\.tsx?$': ['@swc/jest'] };

/** @type {import('jest').Config} */
module.exports = {
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
  ],
};
