// The dependency rules `npm test` enforces (dependency-cruiser, before jest): the tree shows the
// boundaries and nothing crosses them by accident.
//   services/contracts   what services say to each other (event schemas); imports no Surge code
//   services/platform    what every service runs on (app, db, redis, messaging); imports no service
//   services/user|order|payment   one folder per service; none imports another
//   services/local, services/worker   composition roots: start several services in one process
//   services/test-support   test helpers and embedded engines; only tests and tools import it
const SERVICES = '(user|order|payment)';
const TESTS = '(^|/)test/|^perf/|^ops/test/|^web/test/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cross-service-imports',
      comment: 'A service never imports another service\'s folder: share through services/contracts (events) or an API.',
      severity: 'error',
      from: { path: `^services/${SERVICES}/` },
      to: { path: `^services/${SERVICES}/`, pathNot: '^services/$1/' },
    },
    {
      name: 'platform-imports-no-service',
      comment: 'services/platform is what services run on; it cannot depend on one of them.',
      severity: 'error',
      from: { path: '^services/platform/' },
      to: { path: `^services/(${SERVICES.slice(1, -1)}|local|worker)/` },
    },
    {
      name: 'contracts-stand-alone',
      comment: 'Event contracts are read by every service; they import no Surge code.',
      severity: 'error',
      from: { path: '^services/contracts/' },
      to: { path: '^(services|lib|perf|ops|web|bin|scripts)/', pathNot: '^services/contracts/' },
    },
    {
      name: 'no-test-support-in-product',
      comment: 'Test helpers and embedded engines stay out of what the fleets run.',
      severity: 'error',
      from: { pathNot: `${TESTS}|^services/test-support/` },
      to: { path: '^services/test-support/' },
    },
    {
      name: 'no-circular',
      comment: 'Import circles make load order matter and hide which module owns what.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|cdk\\.out|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // A type-only import is still an arrow between modules: it counts.
    moduleSystems: ['es6', 'cjs'],
  },
};
