// The deployment's migration step as it ships: the BUNDLED Lambda code (lib/deploy/bundle.ts), run
// against an empty test database, applies every migration bundled with it and then finds nothing to
// do; the RDS certificate bundle it downloads first lands where the database config reads it.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_ENTRY, bundleDeploymentStep, DEPLOYMENT_STEP_HANDLER } from '../../lib/deploy/bundle';
import { MIGRATION_FOLDERS, migrationIds } from '../../services/platform/migration-files';
import { createTestDatabase, type TestDatabase } from '../../services/test-support/testing';
import { needsRealEngine } from '../../services/test-support/engines';

jest.setTimeout(120_000);

type MigrationStep = typeof import('../../services/platform/migration-step');

const bundleDir = bundleDeploymentStep('migration-step');
// What Lambda loads for the handler `app/main.handler`.
const step = require(join(bundleDir, BUNDLE_ENTRY)) as MigrationStep;

test('the bundle exports the handler the function names, next to every migration', () => {
  expect(DEPLOYMENT_STEP_HANDLER).toBe(`${BUNDLE_ENTRY.replace(/\.js$/, '')}.handler`);
  expect(typeof step.handler).toBe('function');
  const bundled = MIGRATION_FOLDERS.map(({ owner }) => ({ owner, dir: join(bundleDir, owner, 'migrations') }));
  expect(migrationIds(bundled)).toEqual(migrationIds());
});

needsRealEngine('postgres', 'the step opens its own session alongside the pool; PGlite has one session for every connection')('on an empty database', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase({ migrated: false });
  });
  afterAll(async () => {
    await t?.drop();
  });

  test('applies every bundled migration, then finds nothing to do', async () => {
    const all = migrationIds();
    expect(await step.runMigrationStep({ DATABASE_URL: t.url })).toEqual({ applied: all });
    expect(await step.runMigrationStep({ DATABASE_URL: t.url })).toEqual({ applied: [] });
    const { rows } = await t.db.writer.query<{ version: string }>(
      `SELECT 'user/' || version AS version FROM user_service.schema_migrations
       UNION ALL SELECT 'order/' || version FROM order_service.schema_migrations
       UNION ALL SELECT 'payment/' || version FROM payment_service.schema_migrations ORDER BY 1`,
    );
    expect(rows.map((r) => r.version)).toEqual([...all].sort());
  });
});

test('downloads the certificate bundle, and refuses an answer that is not one', async () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const server = createServer((req, res) => {
    if (req.url === '/bundle.pem') res.end(pem);
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const path = join(mkdtempSync(join(tmpdir(), 'surge-ca-')), 'ca.pem');
    await step.downloadCaBundle(`http://127.0.0.1:${port}/bundle.pem`, path);
    expect(readFileSync(path, 'utf8')).toBe(pem);
    await expect(step.downloadCaBundle(`http://127.0.0.1:${port}/missing`, path)).rejects.toThrow(/could not download the RDS certificate bundle .*HTTP 404/);
  } finally {
    server.close();
  }
});
