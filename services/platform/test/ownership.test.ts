// Each service owns its tables, enforced by PostgreSQL: every service's role reads and writes its own
// tables and calls its own functions, and gets 42501 permission denied on every table and function of
// the other services, and on creating tables anywhere (public included). The services' pools log in as
// those roles; the roles are created safely when databases of one cluster migrate at once.
import pg from 'pg';
import { migrate } from '../migrate';
import { DATA_OWNERS, schemaOf, type DataOwner } from '../ownership';
import { createTestContext, createTestDatabase, needsRealEngine, throwawayCluster, type TestDatabase } from '../../test-support/testing';

const PERMISSION_DENIED = '42501';

/** A call of each of the order service's functions, and what it does when the caller may run it. */
const ORDER_FUNCTION_CALLS = [
  { call: "SELECT order_service.surge_abort('because')", allowed: 'SA001' },
  { call: "SELECT * FROM order_service.surge_place_orders('{}', '{}', '{}', '{}', '{}', '{}', 'order-placed')", allowed: 'ok' },
];

/** The SQLSTATE `sql` fails with as `owner`'s role, or 'ok'. Each try in a transaction of its own, rolled back. */
async function outcome(t: TestDatabase, owner: DataOwner, sql: string): Promise<string> {
  const client = await t.as(owner).writer.connect();
  try {
    await client.query('BEGIN');
    await client.query(sql);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

needsRealEngine('postgres', 'PGlite has one session and ignores roles: nothing is enforced there')('table ownership', () => {
  let t: TestDatabase;
  let tables: Record<DataOwner, string[]>;
  let functions: Record<DataOwner, string[]>;
  beforeAll(async () => {
    t = await createTestDatabase();
    tables = { user: [], order: [], payment: [] };
    functions = { user: [], order: [], payment: [] };
    for (const owner of DATA_OWNERS) {
      const { rows } = await t.db.writer.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [schemaOf(owner)]);
      tables[owner] = rows.map((r) => `${schemaOf(owner)}.${r.name}`).sort();
      const fns = await t.db.writer.query<{ name: string }>(
        "SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY 1",
        [schemaOf(owner)],
      );
      functions[owner] = fns.rows.map((r) => r.name);
    }
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('gives each service its own schema with its tables (and the order service its functions)', () => {
    expect(tables.user).toEqual(['user_service.schema_migrations', 'user_service.users']);
    expect(tables.order).toEqual(
      ['order_idempotency_keys', 'order_items', 'orders', 'outbox', 'products', 'schema_migrations'].map((name) => `order_service.${name}`),
    );
    expect(tables.payment).toEqual(
      ['outbox', 'payments', 'sandbox_charges', 'sandbox_refunds', 'schema_migrations'].map((name) => `payment_service.${name}`),
    );
    expect(functions.order).toEqual([
      'surge_abort(reason text)',
      'surge_place_orders(user_ids uuid[], idempotency_keys text[], request_hashes text[], line_counts integer[], product_ids uuid[], quantities integer[], event_topic text)',
    ]);
    expect([...functions.user, ...functions.payment]).toEqual([]);
  });

  it.each(DATA_OWNERS)('%s: the pools log in as the service role and see its schema alone', async (owner) => {
    const { rows } = await t.as(owner).writer.query('SELECT current_user AS "user", current_setting(\'search_path\') AS path');
    expect(rows[0]).toEqual({ user: schemaOf(owner), path: schemaOf(owner) });
  });

  it.each(DATA_OWNERS)('%s: reads, writes and deletes in every one of its own tables', async (owner) => {
    for (const table of tables[owner]) {
      expect([table, await outcome(t, owner, `SELECT * FROM ${table} LIMIT 1`)]).toEqual([table, 'ok']);
      // Rights, not constraints: an UPDATE and a DELETE that match no row still need them.
      expect([table, await outcome(t, owner, `UPDATE ${table} SET ${await firstColumn(t, table)} = ${await firstColumn(t, table)} WHERE false`)]).toEqual([table, 'ok']);
      expect([table, await outcome(t, owner, `DELETE FROM ${table} WHERE false`)]).toEqual([table, 'ok']);
    }
    // An insert through a default and an identity sequence of its own.
    const insert = {
      user: "INSERT INTO users (email, name, password_hash) VALUES ('owner@example.com', 'Owner', 'x')",
      order: "INSERT INTO outbox (topic, payload) VALUES ('order-placed', '{}')",
      payment: "INSERT INTO outbox (topic, payload) VALUES ('payment-result', '{}')",
    }[owner];
    expect(await outcome(t, owner, insert)).toBe('ok');
  });

  it('the order service runs its own functions', async () => {
    for (const { call, allowed } of ORDER_FUNCTION_CALLS) expect(await outcome(t, 'order', call)).toBe(allowed);
  });

  it.each(DATA_OWNERS)("%s: permission denied on every other service's tables and functions", async (owner) => {
    for (const other of DATA_OWNERS.filter((o) => o !== owner)) {
      for (const table of tables[other]) {
        expect([table, await outcome(t, owner, `SELECT * FROM ${table} LIMIT 1`)]).toEqual([table, PERMISSION_DENIED]);
        expect([table, await outcome(t, owner, `DELETE FROM ${table}`)]).toEqual([table, PERMISSION_DENIED]);
      }
    }
    if (owner !== 'order') {
      for (const { call } of ORDER_FUNCTION_CALLS) expect([call, await outcome(t, owner, call)]).toEqual([call, PERMISSION_DENIED]);
    }
    // Unqualified, another service's table is not even there.
    if (owner !== 'order') expect(await outcome(t, owner, 'SELECT 1 FROM orders')).toBe('42P01');
  });

  it.each(DATA_OWNERS)('%s: cannot create tables, in public or in its own schema', async (owner) => {
    expect(await outcome(t, owner, 'CREATE TABLE public.sneaky (id int)')).toBe(PERMISSION_DENIED);
    expect(await outcome(t, owner, `CREATE TABLE ${schemaOf(owner)}.sneaky (id int)`)).toBe(PERMISSION_DENIED);
  });

  it("a service's context (ctx.as) connects as its role; the process's own does not reach a service's tables as one", async () => {
    const ctx = await createTestContext({ databaseUrl: t.url });
    try {
      const as = async (db: { writer: pg.Pool }) => (await db.writer.query<{ u: string }>('SELECT current_user AS u')).rows[0].u;
      expect(await as(ctx.as('order').db)).toBe('order_service');
      expect(await as(ctx.as('payment').db)).toBe('payment_service');
      expect(ctx.as('order').as('payment')).toBe(ctx.as('payment'));
      const denied = await ctx.as('payment').db.writer.query('SELECT 1 FROM order_service.orders').catch((err: { code?: string }) => err.code);
      expect(denied).toBe(PERMISSION_DENIED);
    } finally {
      await ctx.close();
    }
  });
});

needsRealEngine('postgres', 'roles are cluster-wide only on a real server')('roles on a new cluster', () => {
  it('are created once when several databases migrate at the same time', async () => {
    const cluster = await throwawayCluster();
    try {
      const admin = new pg.Client({ connectionString: cluster.url });
      await admin.connect();
      const names = ['surge_a', 'surge_b', 'surge_c', 'surge_d'];
      for (const name of names) await admin.query(`CREATE DATABASE ${name}`);
      const pools = names.map((name) => new pg.Pool({ connectionString: cluster.url.replace(/\/surge$/, `/${name}`), max: 1 }));
      try {
        const applied = await Promise.all(pools.map((pool) => migrate(pool)));
        for (const versions of applied) expect(versions).toContain('order/001');
        const { rows } = await admin.query<{ rolname: string; rolcanlogin: boolean }>(
          "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE '%\\_service' ORDER BY rolname",
        );
        expect(rows).toEqual(['order_service', 'payment_service', 'user_service'].map((rolname) => ({ rolname, rolcanlogin: true })));
      } finally {
        await Promise.all(pools.map((pool) => pool.end()));
        await admin.end();
      }
    } finally {
      cluster.destroy();
    }
  }, 60_000);
});

async function firstColumn(t: TestDatabase, table: string): Promise<string> {
  const [schema, name] = table.split('.');
  const { rows } = await t.db.writer.query<{ column: string }>(
    'SELECT column_name AS column FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND is_generated = \'NEVER\' AND identity_generation IS NULL ORDER BY ordinal_position LIMIT 1',
    [schema, name],
  );
  return rows[0].column;
}
