// The deployment's migration step: a Lambda function in the VPC that CloudFormation invokes (a CDK
// trigger, lib/construct/database-migration.ts) after the database exists and before any fleet's
// Auto Scaling group is created or updated. It applies the migrations bundled with it (migrate.ts:
// own connection, no statement timeout, a lock timeout, the advisory lock); an error fails the
// deployment, so no fleet rolls onto a schema its code does not expect.
import { writeFile } from 'node:fs/promises';
import { loadDatabaseConfig } from './config';
import { createDatabase } from './db';
import { migrate } from './migrate';

/** Where the downloaded RDS certificate bundle is kept (Lambda's only writable directory). */
const CA_BUNDLE_PATH = '/tmp/rds-ca-bundle.pem';

type Env = Record<string, string | undefined>;

/** The Lambda entry point. Returns the versions it applied (shown in the function's log). */
export async function handler(): Promise<{ applied: string[] }> {
  return runMigrationStep(process.env);
}

/**
 * Migrates the database `env` describes (the services' variables: DB_WRITER_HOST + DB_SECRET_ARN on
 * AWS, or DATABASE_URL). With DB_CA_BUNDLE_URL, the RDS certificate bundle is downloaded first, as
 * the instances' boot script does: Node's own CA store lacks the RDS CAs.
 */
export async function runMigrationStep(env: Env, caBundlePath = CA_BUNDLE_PATH): Promise<{ applied: string[] }> {
  const settings = { ...env };
  if (settings.DB_CA_BUNDLE_URL) {
    await downloadCaBundle(settings.DB_CA_BUNDLE_URL, caBundlePath);
    settings.DB_CA_BUNDLE = caBundlePath;
  }
  const db = createDatabase(await loadDatabaseConfig(settings));
  try {
    const applied = await migrate(db.writer, { log: (line) => console.log(line) });
    console.log(applied.length ? `applied migrations ${applied.join(', ')}` : 'database is up to date');
    return { applied };
  } finally {
    await db.close();
  }
}

export async function downloadCaBundle(url: string, path: string): Promise<void> {
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  const body = await response.text();
  if (!response.ok || !body.includes('BEGIN CERTIFICATE')) {
    throw new Error(`could not download the RDS certificate bundle from ${url}: HTTP ${response.status}`);
  }
  await writeFile(path, body);
}
