// Versioned SQL migrations: services/migrations/NNN_name.sql files run in order, each once, each in
// its own transaction, under a PostgreSQL advisory lock so that runs starting together do not race.
// Applied versions are recorded in schema_migrations. `npm run migrate` runs this file; on AWS the
// deployment's migration step (services/platform/migration-step.ts) does, before any fleet rolls.
//
// A migration runs on a connection of its own, never on a service pool's: the pools carry a 10 s
// statement timeout (right for a request, fatal for an index build or a backfill), so here the
// statement timeout is off and an explicit lock timeout is on instead. A DDL statement waiting for a
// lock blocks every query queued behind it, so a migration that cannot get its locks quickly gives
// up, rolls back and tries again a little later, rather than stalling the live fleets.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { loadDatabaseConfig } from './config';
import { createDatabase } from './db';

export const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');

// Any fixed 64-bit number works; this one is "surge" in ASCII.
const MIGRATION_LOCK_ID = 0x7375726765;

/** SQLSTATE lock_not_available: lock_timeout expired (or NOWAIT failed). */
const LOCK_NOT_AVAILABLE = '55P03';

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

export interface MigrateOptions {
  /** Directory of NNN_name.sql files. @default MIGRATIONS_DIR */
  readonly dir?: string;
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

/** The migration files in `dir`, ordered by their three-digit version. */
export function listMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const match = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) {
      if (file.endsWith('.sql')) throw new Error(`migration file ${file} is not named NNN_name.sql`);
      continue;
    }
    if (migrations.some((m) => m.version === match[1])) throw new Error(`two migrations have version ${match[1]}`);
    migrations.push({ version: match[1], name: match[2], sql: readFileSync(join(dir, file), 'utf8') });
  }
  return migrations;
}

/**
 * Applies the pending migrations; returns the versions it applied (empty when up to date). `writer`
 * gives the connection settings only: the migrations run on a new connection opened with them,
 * without the pool's statement timeout, and closed afterwards.
 */
export async function migrate(writer: pg.Pool, options: MigrateOptions = {}): Promise<string[]> {
  const migrations = listMigrations(options.dir);
  const client = new pg.Client(ownConnectionSettings(writer));
  // A server that goes away mid-migration must reject the running query, not crash the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    // Waits for another run (another deploy, `npm start`) to finish; the lock ends with the session.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    text PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set((await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await applyWithLockRetries(client, m, options);
      options.log?.(`applied migration ${m.version}_${m.name}`);
      applied.push(m.version);
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

async function applyWithLockRetries(client: pg.Client, m: Migration, options: MigrateOptions): Promise<void> {
  const lockTimeoutMs = options.lockTimeoutMs ?? 5000;
  const attempts = options.lockAttempts ?? 5;
  let delayMs = options.lockRetryDelayMs ?? 2000;
  for (let attempt = 1; ; attempt++) {
    try {
      await applyOnce(client, m, lockTimeoutMs);
      return;
    } catch (err) {
      if ((err as { code?: unknown }).code !== LOCK_NOT_AVAILABLE) {
        throw new Error(`migration ${m.version}_${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
      if (attempt >= attempts) throw new MigrationLockTimeoutError(`${m.version}_${m.name}`, attempts, lockTimeoutMs, err);
      options.log?.(`migration ${m.version}_${m.name}: locks not available within ${lockTimeoutMs} ms (attempt ${attempt} of ${attempts}); retrying in ${delayMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs *= 2;
    }
  }
}

/** One migration in one transaction; SET LOCAL keeps the limits to this transaction. */
async function applyOnce(client: pg.Client, m: Migration, lockTimeoutMs: number): Promise<void> {
  await client.query('BEGIN');
  try {
    // Explicit, whatever the server or role default is: no limit on how long the work takes,
    // a firm one on how long it may queue for a lock.
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query(`SET LOCAL lock_timeout = ${Math.floor(lockTimeoutMs)}`);
    await client.query(m.sql);
    await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
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
