// Versioned SQL migrations: services/migrations/NNN_name.sql files run in order, each once, each in
// its own transaction, under a PostgreSQL advisory lock so that instances starting together do not
// race. Applied versions are recorded in schema_migrations. `npm run migrate` runs this file.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { loadDatabaseConfig } from './config';
import { createDatabase, withClient } from './db';

export const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');

// Any fixed 64-bit number works; this one is "surge" in ASCII.
const MIGRATION_LOCK_ID = 0x7375726765;

export interface Migration {
  version: string;
  name: string;
  sql: string;
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

/** Applies the pending migrations; returns the versions it applied (empty when up to date). */
export async function migrate(pool: pg.Pool, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = listMigrations(dir);
  const applied: string[] = [];
  await withClient(pool, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    text PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = new Set((await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${m.version}_${m.name} failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(m.version);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  });
  return applied;
}

async function main(): Promise<void> {
  const db = createDatabase(await loadDatabaseConfig());
  try {
    const applied = await migrate(db.writer);
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
