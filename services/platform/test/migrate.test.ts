// Migrations run on a connection of their own against the real PostgreSQL: a migration may take
// longer than the service pool's statement timeout, and a migration that cannot get a table lock
// within its lock timeout rolls back, retries, and fails with an error saying what happened.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, MigrationLockTimeoutError } from '../migrate';
import { createTestDatabase, needsRealEngine, type TestDatabase } from '../../test-support/testing';

needsRealEngine('postgres', 'statement and lock timeouts need a real server with separate sessions; PGlite has one session for every connection')(
  'migrate on its own connection',
  () => {
    let t: TestDatabase;
    // A service-like pool whose statement timeout is far shorter than the migrations below.
    let pool: pg.Pool;
    beforeAll(async () => {
      t = await createTestDatabase({ migrated: false });
      pool = new pg.Pool({ connectionString: t.url, max: 2, statement_timeout: 300 });
    });
    afterAll(async () => {
      await pool?.end();
      await t?.drop();
    });

    // The order service's folder, made of `files`.
    const migrationsDir = (files: Record<string, string>) => {
      const dir = mkdtempSync(join(tmpdir(), 'surge-migrations-'));
      for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
      return [{ owner: 'order' as const, dir }];
    };
    const applied = async () =>
      (await pool.query<{ version: string }>('SELECT version FROM order_service.schema_migrations ORDER BY version')).rows.map((r) => r.version);

    it('a migration longer than the pool statement timeout succeeds, and the pool keeps its timeout', async () => {
      // The pool's own sessions would cancel this after 300 ms.
      await expect(pool.query('SELECT pg_sleep(0.6)')).rejects.toThrow(/statement timeout/);
      const folders = migrationsDir({ '900_slow_backfill.sql': 'CREATE TABLE slow (id int); SELECT pg_sleep(0.6); INSERT INTO slow VALUES (1);' });
      expect(await migrate(pool, { folders })).toEqual(['order/900']);
      expect((await pool.query('SELECT count(*)::int AS n FROM order_service.slow')).rows[0].n).toBe(1);
      expect((await pool.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('300ms');
    });

    it('gives up on a table lock after the lock timeout, retries, then fails clearly having changed nothing', async () => {
      const holder = new pg.Client({ connectionString: t.url });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('LOCK TABLE order_service.slow IN ACCESS EXCLUSIVE MODE');
        const folders = migrationsDir({
          '900_slow_backfill.sql': 'SELECT 1;',
          '901_add_column.sql': 'CREATE TABLE side_effect (id int); ALTER TABLE slow ADD COLUMN note text;',
        });
        const log: string[] = [];
        const started = Date.now();
        const failure = await migrate(pool, { folders, lockTimeoutMs: 200, lockAttempts: 3, lockRetryDelayMs: 50, log: (l) => log.push(l) }).catch((e) => e);
        expect(failure).toBeInstanceOf(MigrationLockTimeoutError);
        expect(failure.message).toMatch(/migration order\/901_add_column could not take its locks within the 200 ms lock timeout on any of 3 attempts/);
        expect(failure.message).toMatch(/changed nothing/);
        expect(log.filter((l) => /locks not available/.test(l))).toHaveLength(2);
        // Three waits of ~200 ms plus 50 + 100 ms between them: bounded, not stuck behind the holder.
        expect(Date.now() - started).toBeLessThan(5000);
        expect(await applied()).toEqual(['900']);
        expect((await pool.query("SELECT to_regclass('order_service.side_effect') AS t")).rows[0].t).toBeNull();
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
    });

    it('succeeds on a retry once the lock holder finishes', async () => {
      const holder = new pg.Client({ connectionString: t.url });
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE order_service.slow IN ACCESS EXCLUSIVE MODE');
      const folders = migrationsDir({ '900_slow_backfill.sql': 'SELECT 1;', '901_add_column.sql': 'ALTER TABLE slow ADD COLUMN note text;' });
      const log: string[] = [];
      const run = migrate(pool, {
        folders,
        lockTimeoutMs: 200,
        lockAttempts: 5,
        lockRetryDelayMs: 100,
        log: (l) => {
          log.push(l);
          // The first refusal: the holder commits while the migration waits to retry.
          if (/attempt 1 of 5/.test(l)) void holder.query('COMMIT').then(() => holder.end());
        },
      });
      expect(await run).toEqual(['order/901']);
      expect(log.filter((l) => /locks not available/.test(l))).toHaveLength(1);
      expect(await applied()).toEqual(['900', '901']);
    });

    it('a failing statement is reported with the migration name and is not retried', async () => {
      const folders = migrationsDir({ '900_slow_backfill.sql': 'SELECT 1;', '901_add_column.sql': 'SELECT 1;', '902_broken.sql': 'SELECT no_such_function();' });
      const log: string[] = [];
      await expect(migrate(pool, { folders, log: (l) => log.push(l) })).rejects.toThrow(/migration order\/902_broken failed: function no_such_function\(\) does not exist/);
      expect(log.filter((l) => /retrying/.test(l))).toEqual([]);
    });
  },
);
