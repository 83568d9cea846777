// The one-time upgrade of a database from before the per-service schemas: every table, with its
// sequences, indexes and row type, and both functions were in `public`, and one schema_migrations table
// listed the shared migrations 001-012 (their files are kept as a test fixture,
// services/platform/test/fixtures/legacy-migrations). migrate() runs it, in one transaction under the
// migration lock, when public.schema_migrations exists: each object moves to its owner's schema
// (ALTER ... SET SCHEMA keeps every row, index and identity sequence), the payment service gets its own
// outbox with the payment-result rows of the shared one, and each service's schema_migrations records
// the versions its folder has that the shared migrations already made. Nothing is copied except the
// payment-result outbox rows, which keep their ids.
import type pg from 'pg';
import { ORDER_PLACED, PAYMENT_RESULT } from '../contracts/events';
import { listMigrations, migrationsDir, migrationsTableSql, type Migration } from './migration-files';
import { DATA_OWNERS, grantOwnershipSql, schemaOf, type DataOwner } from './ownership';

/** The shared migrations every deployment had applied before this upgrade (010 and 011 never existed). */
export const SHARED_SCHEMA_VERSIONS = ['001', '002', '003', '004', '005', '006', '007', '008', '009', '012'];

/** Where each object of the shared schema goes, and which shared versions each service's 001 stands for. */
const OWNED: Record<DataOwner, { tables: string[]; functions: string[]; sharedVersions: string[] }> = {
  user: { tables: ['users'], functions: [], sharedVersions: ['001'] },
  order: {
    tables: ['products', 'orders', 'order_items', 'order_idempotency_keys', 'outbox'],
    functions: ['surge_abort(text)', 'surge_place_orders(uuid[], text[], text[], int[], uuid[], int[], text)'],
    sharedVersions: ['002', '005', '006', '007', '008', '009', '012'],
  },
  payment: { tables: ['payments', 'sandbox_charges', 'sandbox_refunds'], functions: [], sharedVersions: ['003', '004'] },
};

/**
 * Whose outbox each topic of the shared one goes to: the publisher's. order-cancelled events travel on
 * the order-placed topic; the shared outbox itself becomes the order service's.
 */
const TOPIC_OWNERS: Record<string, DataOwner> = { [ORDER_PLACED]: 'order', [PAYMENT_RESULT]: 'payment' };

/** The payment service's migration that creates its own outbox: run inside the upgrade, then filled. */
const PAYMENT_OUTBOX = { version: '002', name: 'outbox' };

/** True when the database still has the shared schema's migration table (public.schema_migrations). */
export async function hasSharedSchema(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ shared: boolean }>("SELECT to_regclass('public.schema_migrations') IS NOT NULL AS shared");
  return rows[0].shared;
}

/**
 * The upgrade, inside the caller's transaction; throws (rolling it all back) when the database is not as
 * expected. `apply` applies and records one migration of a service inside that transaction (migrate.ts).
 */
export async function upgradeSharedSchema(
  client: pg.ClientBase,
  apply: (owner: DataOwner, migration: Migration) => Promise<void>,
): Promise<void> {
  const { rows: shared } = await client.query<{ version: string; appliedAt: Date }>(
    'SELECT version, applied_at AS "appliedAt" FROM public.schema_migrations ORDER BY version',
  );
  const versions = shared.map((r) => r.version);
  if (versions.join() !== SHARED_SCHEMA_VERSIONS.join()) {
    throw new Error(
      `the database has the shared schema at versions ${versions.join(', ') || '(none)'}; this release upgrades it only from ` +
        `${SHARED_SCHEMA_VERSIONS.join(', ')} (the last shared migrations): deploy the release before the per-service schemas first`,
    );
  }
  const { rows: strays } = await client.query<{ topic: string }>('SELECT DISTINCT topic FROM public.outbox WHERE NOT (topic = ANY ($1))', [
    Object.keys(TOPIC_OWNERS),
  ]);
  if (strays.length > 0) {
    throw new Error(`the shared outbox has rows of topics no service publishes (${strays.map((r) => r.topic).join(', ')}): move or delete them first`);
  }

  for (const owner of DATA_OWNERS) {
    const schema = schemaOf(owner);
    const { tables, functions, sharedVersions } = OWNED[owner];
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    for (const table of tables) await client.query(`ALTER TABLE public.${table} SET SCHEMA ${schema}`);
    for (const fn of functions) await client.query(`ALTER FUNCTION public.${fn} SET SCHEMA ${schema}`);
    await client.query(migrationsTableSql(schema));
    // The service's 001 is what its shared migrations made; it counts as applied when the last of them was.
    const first = listMigrations(migrationsDir(owner))[0];
    const appliedAt = new Date(Math.max(...shared.filter((r) => sharedVersions.includes(r.version)).map((r) => r.appliedAt.getTime())));
    await client.query(`INSERT INTO ${schema}.schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [first.version, first.name, appliedAt]);
  }

  const outbox = listMigrations(migrationsDir('payment')).find((m) => m.version === PAYMENT_OUTBOX.version && m.name === PAYMENT_OUTBOX.name);
  if (!outbox) throw new Error(`services/payment/migrations has no ${PAYMENT_OUTBOX.version}_${PAYMENT_OUTBOX.name}.sql, which the upgrade runs`);
  await apply('payment', outbox);
  for (const [topic, owner] of Object.entries(TOPIC_OWNERS)) {
    if (owner === 'order') continue; // the shared outbox became the order service's
    const target = `${schemaOf(owner)}.outbox`;
    await client.query(
      `WITH moved AS (DELETE FROM order_service.outbox WHERE topic = $1 RETURNING *)
       INSERT INTO ${target} (id, topic, payload, created_at, sent_at, attempts, parked_at, last_error) OVERRIDING SYSTEM VALUE
       SELECT id, topic, payload, created_at, sent_at, attempts, parked_at, last_error FROM moved`,
      [topic],
    );
    // New rows are numbered after the moved ones.
    await client.query(`SELECT setval(pg_get_serial_sequence('${target}', 'id'), max(id)) FROM ${target} HAVING max(id) IS NOT NULL`);
  }

  for (const owner of DATA_OWNERS) await client.query(grantOwnershipSql(owner));
  await client.query('DROP TABLE public.schema_migrations');
}
