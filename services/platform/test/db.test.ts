// Database helpers against the real PostgreSQL: migrations (once each, under a lock), transactions,
// and telling "database down" apart from a bad query.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, isDatabaseUnavailable, queryPrepared, withTransaction } from '../db';
import { migrate } from '../migrate';
import { listMigrations, migrationIds } from '../migration-files';
import { DATA_OWNERS, schemaOf } from '../ownership';
import { createTestDatabase, freePort, needsRealEngine, type TestDatabase } from '../../test-support/testing';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

describe('migrate', () => {
  it('has applied every migration file once, in order, each recorded in its service schema', async () => {
    const recorded: string[] = [];
    for (const owner of DATA_OWNERS) {
      const { rows } = await t.db.writer.query<{ version: string }>(`SELECT version FROM ${schemaOf(owner)}.schema_migrations ORDER BY version`);
      recorded.push(...rows.map((r) => `${owner}/${r.version}`));
      expect(rows[0].version).toBe('001');
    }
    expect(recorded).toEqual(migrationIds());
    expect(await migrate(t.db.writer)).toEqual([]);
  });

  needsRealEngine('postgres', 'concurrent runs serialize on a session advisory lock; PGlite has one session for every connection')('concurrent migrations', () => {
    it('serialises concurrent runs and rolls back a failing migration', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'surge-migrations-'));
      writeFileSync(join(dir, '900_widgets.sql'), 'CREATE TABLE widgets (id int PRIMARY KEY);');
      const folders = [{ owner: 'order' as const, dir }];
      const results = await Promise.all([migrate(t.db.writer, { folders }), migrate(t.db.writer, { folders }), migrate(t.db.writer, { folders })]);
      expect(results.flat()).toEqual(['order/900']);
      expect((await t.db.writer.query("SELECT to_regclass('order_service.widgets') IS NOT NULL AS made")).rows[0].made).toBe(true);

      writeFileSync(join(dir, '901_broken.sql'), 'CREATE TABLE gadgets (id int); SELECT no_such_function();');
      await expect(migrate(t.db.writer, { folders })).rejects.toThrow(/migration order\/901_broken failed/);
      const { rows } = await t.db.writer.query("SELECT to_regclass('order_service.gadgets') AS t");
      expect(rows[0].t).toBeNull();
    });
  });

  it('refuses a misnamed migration file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'surge-migrations-'));
    writeFileSync(join(dir, '1_users.sql'), '');
    expect(() => listMigrations(dir)).toThrow(/1_users.sql is not named NNN_name.sql/);
  });
});

describe('withTransaction', () => {
  it('commits on success and rolls back on error', async () => {
    await t.db.writer.query('CREATE TABLE tx_probe (v int)');
    await withTransaction(t.db.writer, (c) => c.query('INSERT INTO tx_probe VALUES (1)'));
    await expect(
      withTransaction(t.db.writer, async (c) => {
        await c.query('INSERT INTO tx_probe VALUES (2)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await t.db.writer.query('SELECT v FROM tx_probe');
    expect(rows).toEqual([{ v: 1 }]);
  });

  needsRealEngine('postgres', 'it terminates its own backend; PGlite has one backend for every connection')('on a server with a backend per connection', () => {
    it('survives the server ending the connection mid-transaction and reports it as unavailable', async () => {
      const err = await withTransaction(t.db.writer, async (c) => {
        const { rows } = await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await t.db.reader.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
        // Let the termination reach the idle client as an 'error' event before the next query.
        await new Promise((resolve) => setTimeout(resolve, 200));
        await c.query('SELECT 1');
      }).catch((e: unknown) => e);
      expect(isDatabaseUnavailable(err)).toBe(true);
      // The broken client was discarded: the pool still answers.
      expect((await t.db.writer.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
  });
});

describe('isDatabaseUnavailable', () => {
  it('is true for an unreachable server and false for a bad query', async () => {
    const url = `postgres://postgres@127.0.0.1:${await freePort()}/surge`;
    const down = createDatabase({ writerUrl: url, readerUrl: url, poolMax: 1 });
    const err = await down.writer.query('SELECT 1').catch((e: unknown) => e);
    await down.close();
    expect(isDatabaseUnavailable(err)).toBe(true);

    const bad = await t.db.writer.query('SELECT * FROM no_such_table').catch((e: unknown) => e);
    expect(isDatabaseUnavailable(bad)).toBe(false);
  });

  it('is true for a wrong password (28P01, a rotation the service has not caught up with)', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('password authentication failed for user "surge"'), { code: '28P01' }))).toBe(true);
  });

  needsRealEngine('postgres', 'PGlite runs in one thread and may not cancel a sleeping statement')('on a real server', () => {
    it('is true for a statement timeout', async () => {
      const slow = await withTransaction(t.db.writer, async (c) => {
        await c.query("SET LOCAL statement_timeout = '50ms'");
        await c.query('SELECT pg_sleep(1)');
      }).catch((e: unknown) => e);
      expect(slow).toMatchObject({ code: '57014' });
      expect(isDatabaseUnavailable(slow)).toBe(true);
    });
  });
});

describe('queryPrepared', () => {
  it('prepares once per connection, and runs unnamed where the server already holds the name (PGlite shares one backend)', async () => {
    const client = await t.db.writer.connect();
    try {
      const statement = (n: number) => ({ name: 'surge-test-double', text: 'SELECT $1::int * 2 AS doubled', values: [n] });
      expect((await queryPrepared(client, statement(2))).rows).toEqual([{ doubled: 4 }]);
      expect((await queryPrepared(client, statement(3))).rows).toEqual([{ doubled: 6 }]);
      const prepared = await client.query("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'surge-test-double'");
      expect(prepared.rows).toEqual([{ n: 1 }]);

      // What a second connection meets on PGlite: the name exists in the backend, pg does not know it.
      await client.query("PREPARE \"surge-test-taken\" AS SELECT 'someone else''s' AS owner");
      const taken = { name: 'surge-test-taken', text: 'SELECT $1::int * 2 AS doubled', values: [5] };
      await expect(client.query(taken)).rejects.toMatchObject({ code: '42P05' });
      expect((await queryPrepared(client, taken)).rows).toEqual([{ doubled: 10 }]);
      // Any other error is the caller's.
      await expect(queryPrepared(client, { name: 'surge-test-bad', text: 'SELECT no_such_column FROM products', values: [] })).rejects.toMatchObject({ code: '42703' });
    } finally {
      client.release(true);
    }
  });
});

needsRealEngine('postgres', 'tells connections apart by their backend; PGlite has one backend for every connection')('pooled connections', () => {
  it('keeps a connection whose statement failed (pg-pool alone would close it), and drops one that broke', async () => {
    const db = createDatabase({ writerUrl: t.url, readerUrl: t.url, poolMax: 1 });
    const backend = async () => (await db.writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    try {
      const first = await backend();
      await expect(db.writer.query('SELECT 1 / 0')).rejects.toMatchObject({ code: '22012' });
      await expect(db.writer.query('INSERT INTO schema_migrations SELECT * FROM schema_migrations LIMIT 1')).rejects.toMatchObject({ code: '23505' });
      expect(await backend()).toBe(first);
      expect(db.writer.totalCount).toBe(1);

      await expect(db.writer.query('SELECT pg_terminate_backend(pg_backend_pid())')).rejects.toThrow();
      expect(await backend()).not.toBe(first);
    } finally {
      await db.close();
    }
  });
});
