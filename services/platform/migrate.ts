// Versioned SQL migrations, one folder per service that owns tables (services/<service>/migrations,
// NNN_name.sql): each folder runs in its service's own schema (search_path set to it), each file once,
// each in its own transaction, and its versions are recorded in <schema>.schema_migrations. Before the
// folders, the services' roles are created, and a database from before the per-service schemas (tables
// in `public`) is upgraded in place (./ownership-upgrade.ts); after each file its service's role gets
// its rights on what the file created (./ownership.ts). All of it runs under a PostgreSQL advisory
// lock, so runs starting together do not race. `npm run migrate` runs this file; on AWS the
// deployment's migration step (services/platform/migration-step.ts) does, before any fleet rolls.
// Migrations run as the configured login (the admin or master user), never as a service's role.
//
// A migration runs on a connection of its own, never on a service pool's: the pools carry a 10 s
// statement timeout (right for a request, fatal for an index build or a backfill), so here the
// statement timeout is off and an explicit lock timeout is on instead. A DDL statement waiting for a
// lock blocks every query queued behind it, so a migration that cannot get its locks quickly gives
// up, rolls back and tries again a little later, rather than stalling the live fleets.
import pg from 'pg';
import { loadDatabaseConfig } from './config';
import { createDatabase } from './db';
import { listMigrations, MIGRATION_FOLDERS, migrationsTableSql, type Migration, type MigrationFolder } from './migration-files';
import { createRoleSql, DATA_OWNERS, grantOwnershipSql, schemaOf, type DataOwner } from './ownership';
import { hasSharedSchema, upgradeSharedSchema } from './ownership-upgrade';

// Any fixed 64-bit number works; this one is "surge" in ASCII.
const MIGRATION_LOCK_ID = 0x7375726765;

/** SQLSTATE lock_not_available: lock_timeout expired (or NOWAIT failed). */
const LOCK_NOT_AVAILABLE = '55P03';

export interface MigrateOptions {
  /** The folders to apply, in order. @default MIGRATION_FOLDERS */
  readonly folders?: readonly MigrationFolder[];
  /** How long one statement may wait for a table lock before the migration rolls back (ms). @default 5000 */
  readonly lockTimeoutMs?: number;
  /** Tries per migration when its locks are not available in time. @default 5 */
  readonly lockAttempts?: number;
  /** Wait before the first retry (ms); doubled for each further one. @default 2000 */
  readonly lockRetryDelayMs?: number;
  /** Progress lines (applied, retrying); default: none. */
  readonly log?: (line: string) => void;
}

/** A migration that could not take its locks within the lock timeout on any attempt; it changed nothing. */
export class MigrationLockTimeoutError extends Error {
  constructor(
    readonly migration: string,
    readonly attempts: number,
    readonly lockTimeoutMs: number,
    cause: unknown,
  ) {
    super(
      `migration ${migration} could not take its locks within the ${lockTimeoutMs} ms lock timeout on any of ${attempts} attempts ` +
        '(another session holds a conflicting lock, e.g. a long transaction on a table it alters); it was rolled back and ' +
        'changed nothing: find the blocking session (pg_locks, pg_stat_activity) and run the migration again',
      { cause },
    );
    this.name = 'MigrationLockTimeoutError';
  }
}

/**
 * Applies the pending migrations; returns what it applied as `<service>/<version>` (empty when up to
 * date). `writer` gives the connection settings only: the migrations run on a new connection opened
 * with them, without the pool's statement timeout, and closed afterwards.
 */
export async function migrate(writer: pg.Pool, options: MigrateOptions = {}): Promise<string[]> {
  const folders = (options.folders ?? MIGRATION_FOLDERS).map((f) => ({ ...f, migrations: listMigrations(f.dir) }));
  const client = new pg.Client(ownConnectionSettings(writer));
  // A server that goes away mid-migration must reject the running query, not crash the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    // Waits for another run (another deploy, `npm start`) to finish; the lock ends with the session.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    // Each role in its own short transaction: roles are cluster-wide (see createRoleSql).
    for (const owner of DATA_OWNERS) await client.query(createRoleSql(owner));
    if (await hasSharedSchema(client)) {
      await withLockRetries(client, 'ownership upgrade (tables from public to their services\' schemas)', options, () =>
        upgradeSharedSchema(client, (owner, m) => applyInTransaction(client, owner, m)),
      );
      options.log?.('upgraded the shared schema: every table is in its service\'s schema');
    }
    const applied: string[] = [];
    for (const folder of folders) {
      const schema = schemaOf(folder.owner);
      // The grants again even when nothing is pending: idempotent, and they restore a role's rights
      // where its objects were restored without them (a dump loaded into a cluster without the roles).
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}; ${migrationsTableSql(schema)}; ${grantOwnershipSql(folder.owner)}`);
      const done = new Set((await client.query<{ version: string }>(`SELECT version FROM ${schema}.schema_migrations`)).rows.map((r) => r.version));
      for (const m of folder.migrations) {
        if (done.has(m.version)) continue;
        const id = `${folder.owner}/${m.version}`;
        await withLockRetries(client, `${id}_${m.name}`, options, () => applyInTransaction(client, folder.owner, m));
        options.log?.(`applied migration ${id}_${m.name}`);
        applied.push(id);
      }
    }
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    return applied;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The pool's connection settings without its session limits (statement_timeout and the like). */
function ownConnectionSettings(writer: pg.Pool): pg.ClientConfig {
  const { connectionString, host, port, user, password, database, ssl } = writer.options;
  return { connectionString, host, port, user, password, database, ssl, connectionTimeoutMillis: 10_000 };
}

/**
 * Runs `step` (one transaction) until it does not fail for want of a lock, at most `lockAttempts`
 * times; any other failure is reported with the step's name and not retried.
 */
async function withLockRetries(client: pg.Client, name: string, options: MigrateOptions, step: () => Promise<void>): Promise<void> {
  const lockTimeoutMs = options.lockTimeoutMs ?? 5000;
  const attempts = options.lockAttempts ?? 5;
  let delayMs = options.lockRetryDelayMs ?? 2000;
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query('BEGIN');
      try {
        // Explicit, whatever the server or role default is: no limit on how long the work takes,
        // a firm one on how long it may queue for a lock. SET LOCAL keeps them to this transaction.
        await client.query('SET LOCAL statement_timeout = 0');
        await client.query(`SET LOCAL lock_timeout = ${Math.floor(lockTimeoutMs)}`);
        await step();
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      return;
    } catch (err) {
      if ((err as { code?: unknown }).code !== LOCK_NOT_AVAILABLE) {
        throw new Error(`migration ${name} failed: ${(err as Error).message}`, { cause: err });
      }
      if (attempt >= attempts) throw new MigrationLockTimeoutError(name, attempts, lockTimeoutMs, err);
      options.log?.(`migration ${name}: locks not available within ${lockTimeoutMs} ms (attempt ${attempt} of ${attempts}); retrying in ${delayMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs *= 2;
    }
  }
}

/**
 * One migration inside the caller's transaction: run in `owner`'s schema, recorded there, and its
 * objects granted to `owner`'s role before anyone can see them.
 */
async function applyInTransaction(client: pg.Client, owner: DataOwner, m: Migration): Promise<void> {
  const schema = schemaOf(owner);
  await client.query(`SET LOCAL search_path = ${schema}`);
  await client.query(m.sql);
  await client.query(`INSERT INTO ${schema}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
  await client.query(grantOwnershipSql(owner));
}

async function main(): Promise<void> {
  const db = createDatabase(await loadDatabaseConfig());
  try {
    const applied = await migrate(db.writer, { log: (line) => console.log(line) });
    console.log(applied.length ? `applied migrations ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await db.close();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
