// The migration files: each service that owns tables keeps NNN_name.sql files in its own folder,
// services/<service>/migrations (in a bundle: `<service>/migrations` next to `app/`, the same path
// from the code), applied in version order by ./migrate.ts, which records them in the service schema's
// schema_migrations table.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_OWNERS, type DataOwner } from './ownership';

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

/** A service's migrations: the folder, next to its code (in a bundle: `<service>/migrations`). */
export interface MigrationFolder {
  readonly owner: DataOwner;
  readonly dir: string;
}

/** Where `owner`'s migrations are: services/<service>/migrations, or `<service>/migrations` in a bundle. */
export function migrationsDir(owner: DataOwner): string {
  return join(__dirname, '..', owner, 'migrations');
}

/** Every service's folder, in the order they run. */
export const MIGRATION_FOLDERS: readonly MigrationFolder[] = DATA_OWNERS.map((owner) => ({ owner, dir: migrationsDir(owner) }));

/** The migration files in `dir`, ordered by their three-digit version. */
export function listMigrations(dir: string): Migration[] {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const match = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) {
      if (file.endsWith('.sql')) throw new Error(`migration file ${file} is not named NNN_name.sql`);
      continue;
    }
    if (migrations.some((m) => m.version === match[1])) throw new Error(`two migrations in ${dir} have version ${match[1]}`);
    migrations.push({ version: match[1], name: match[2], sql: readFileSync(join(dir, file), 'utf8') });
  }
  return migrations;
}

/** Every migration of `folders` as migrate() reports it applied: `<service>/<version>`, in run order. */
export function migrationIds(folders: readonly MigrationFolder[] = MIGRATION_FOLDERS): string[] {
  return folders.flatMap((f) => listMigrations(f.dir).map((m) => `${f.owner}/${m.version}`));
}

/** The table of a schema's applied versions, `<schema>.schema_migrations`, made if missing. */
export function migrationsTableSql(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
    version    text PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;
}
