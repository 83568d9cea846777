// The upgrade of a deployment from before the per-service schemas: a database built by the shared
// migrations 001-012 (kept as fixtures/legacy-migrations, applied the way the old runner did: in
// `public`, recorded in public.schema_migrations), holding rows in every table, is migrated. Every row
// survives in its owner's schema, the outbox is split by topic with its ids, the versions are recorded
// per service, and the services work on the result. A database not at the last shared version, or with
// outbox rows of an unknown topic, is refused having changed nothing.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type pg from 'pg';
import { ORDER_PLACED, PAYMENT_RESULT } from '../../contracts/events';
import { placeOrder } from '../../order/use-cases/place-order';
import { createSandboxProvider } from '../../payment/sandbox-provider';
import { chargeOrder } from '../../payment/use-cases/charge-order';
import { getProfile } from '../../user/use-cases/accounts';
import { migrate } from '../../platform/migrate';
import { listMigrations } from '../../platform/migration-files';
import { createTestDatabase, type TestDatabase } from '../../test-support/testing';

jest.setTimeout(60_000);

const LEGACY_DIR = join(__dirname, '..', '..', 'platform', 'test', 'fixtures', 'legacy-migrations');

/** The shared migrations through `lastVersion`, applied and recorded as the old runner did. */
async function buildLegacyDatabase(writer: pg.Pool, lastVersion = '012'): Promise<void> {
  const client = await writer.connect();
  try {
    await client.query('BEGIN');
    // The old runner's session resolved names in public; the test pools resolve them in the services' schemas.
    await client.query('SET LOCAL search_path = public');
    await client.query('CREATE TABLE schema_migrations (version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    for (const m of listMigrations(LEGACY_DIR).filter((m) => m.version <= lastVersion)) {
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

/** Rows in every table of the shared schema, as the old services wrote them (in public, like the old runner). */
async function fillLegacyDatabase(pool: pg.Pool): Promise<{ userId: string; productId: string }> {
  const writer = await pool.connect();
  try {
    await writer.query('BEGIN');
    await writer.query('SET LOCAL search_path = public');
    const filled = await fill(writer);
    await writer.query('COMMIT');
    return filled;
  } finally {
    writer.release();
  }
}

async function fill(writer: pg.PoolClient): Promise<{ userId: string; productId: string }> {
  const userId = randomUUID();
  await writer.query(`INSERT INTO public.users (id, email, name, password_hash) VALUES ($1, 'legacy@example.com', 'Legacy', 'scrypt$x')`, [userId]);
  const { rows } = await writer.query<{ id: string }>(
    `INSERT INTO public.products (sku, name, price_cents, stock) VALUES ('SKU-L1', 'Legacy lamp', 1999, 10), ('SKU-L2', 'Legacy desk', 5000, 3) RETURNING id`,
  );
  const productId = rows[0].id;
  // Two orders through the shared schema's own function: orders, items, keys and order-placed outbox rows.
  await writer.query(
    `SELECT * FROM public.surge_place_orders($1::uuid[], $2::text[], $3::text[], $4::int[], $5::uuid[], $6::int[], 'order-placed')`,
    [[userId, userId], ['legacy-1', 'legacy-2'], ['h1', 'h2'], [1, 2], [productId, productId, rows[1].id], [1, 1, 1]],
  );
  const { rows: orders } = await writer.query<{ id: string; total: string }>('SELECT id, total_cents AS total FROM public.orders ORDER BY created_at');
  // The first is paid (a sent payment-result row), the second charged with its result still pending; one row parked.
  for (const [i, order] of orders.entries()) {
    const [key, reference] = [`order-${order.id}`, `ch_${i}`];
    await writer.query(
      `INSERT INTO public.payments (order_id, user_id, amount_cents, currency, status, provider, idempotency_key, provider_reference)
       VALUES ($1, $2, $3, 'USD', 'SUCCEEDED', 'sandbox', $4, $5)`,
      [order.id, userId, order.total, key, reference],
    );
    await writer.query(
      `INSERT INTO public.sandbox_charges (idempotency_key, reference, amount_cents, currency, outcome) VALUES ($1, $2, $3, 'USD', 'SUCCEEDED')`,
      [key, reference, order.total],
    );
    await writer.query(`INSERT INTO public.outbox (topic, payload, sent_at) VALUES ('payment-result', $1, $2)`, [
      { type: PAYMENT_RESULT, orderId: order.id, outcome: 'SUCCEEDED' },
      i === 0 ? new Date() : null,
    ]);
  }
  await writer.query(`INSERT INTO public.sandbox_refunds (idempotency_key, reference, charge_reference, amount_cents, currency) VALUES ('refund-0', 're_0', 'ch_0', 1, 'USD')`);
  await writer.query(`UPDATE public.outbox SET sent_at = now() WHERE id = (SELECT min(id) FROM public.outbox WHERE topic = 'order-placed')`);
  await writer.query(`INSERT INTO public.outbox (topic, payload, attempts, parked_at, last_error) VALUES ('order-placed', '{"too":"large"}', 5, now(), 'MessageTooLong')`);
  return { userId, productId };
}

const TABLES = {
  user_service: ['users'],
  order_service: ['products', 'orders', 'order_items', 'order_idempotency_keys', 'outbox'],
  payment_service: ['payments', 'sandbox_charges', 'sandbox_refunds'],
};

/** Every row of `schema.table` as JSON text, in a fixed order. */
async function rowsOf(writer: pg.Pool, schema: string, table: string, where = 'true'): Promise<string[]> {
  const { rows } = await writer.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${schema}.${table} t WHERE ${where}`);
  return rows.map((r) => r.row).sort();
}

const versionsIn = async (writer: pg.Pool, schema: string) =>
  (await writer.query<{ version: string }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`)).rows.map((r) => r.version);

describe('upgrading a database from the shared schema', () => {
  let t: TestDatabase;
  let before: Record<string, string[]>;
  let legacy: { userId: string; productId: string };
  beforeAll(async () => {
    t = await createTestDatabase({ migrated: false });
    await buildLegacyDatabase(t.db.writer);
    legacy = await fillLegacyDatabase(t.db.writer);
    before = {};
    for (const tables of Object.values(TABLES)) {
      for (const table of tables) before[table] = await rowsOf(t.db.writer, 'public', table);
    }
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('refuses outbox rows of a topic no service publishes, and changes nothing', async () => {
    const { rows } = await t.db.writer.query<{ id: string }>(`INSERT INTO public.outbox (topic, payload) VALUES ('mystery', '{}') RETURNING id`);
    await expect(migrate(t.db.writer)).rejects.toThrow(/outbox has rows of topics no service publishes \(mystery\)/);
    await t.db.writer.query('DELETE FROM public.outbox WHERE id = $1', [rows[0].id]);
    expect(await rowsOf(t.db.writer, 'public', 'users')).toEqual(before.users);
    expect((await t.db.writer.query("SELECT to_regclass('public.schema_migrations') IS NOT NULL AS shared")).rows[0].shared).toBe(true);
  });

  it('moves every table to its service, keeps every row, splits the outbox by topic and records the versions', async () => {
    // The upgrade records each service's 001 (and the payment outbox) itself; what is newer then runs.
    expect(await migrate(t.db.writer)).toEqual(['order/002']);

    const { rows: leftInPublic } = await t.db.writer.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
    expect(leftInPublic).toEqual([]);
    const { rows: functionsInPublic } = await t.db.writer.query(
      "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND proname LIKE 'surge%'",
    );
    expect(functionsInPublic).toEqual([]);

    for (const [schema, tables] of Object.entries(TABLES)) {
      for (const table of tables) {
        if (table === 'outbox') continue;
        expect([table, await rowsOf(t.db.writer, schema, table)]).toEqual([table, before[table]]);
      }
    }
    // The shared outbox's rows, ids included, each in its publisher's outbox.
    const orderEvents = await rowsOf(t.db.writer, 'order_service', 'outbox');
    const paymentEvents = await rowsOf(t.db.writer, 'payment_service', 'outbox');
    expect([...orderEvents, ...paymentEvents].sort()).toEqual(before.outbox);
    expect(orderEvents.map((row) => JSON.parse(row).topic)).toEqual([ORDER_PLACED, ORDER_PLACED, ORDER_PLACED]);
    expect(paymentEvents.map((row) => JSON.parse(row).topic)).toEqual([PAYMENT_RESULT, PAYMENT_RESULT]);
    expect(orderEvents.filter((row) => JSON.parse(row).parked_at !== null)).toHaveLength(1);

    expect(await versionsIn(t.db.writer, 'user_service')).toEqual(['001']);
    expect(await versionsIn(t.db.writer, 'order_service')).toEqual(['001', '002']);
    expect(await versionsIn(t.db.writer, 'payment_service')).toEqual(['001', '002']);
    expect((await t.db.writer.query("SELECT to_regclass('public.schema_migrations') IS NULL AS gone")).rows[0].gone).toBe(true);
    expect(await migrate(t.db.writer)).toEqual([]);
  });

  it('the services work on the upgraded database, each through its own role', async () => {
    expect(await getProfile(t.as('user'), legacy.userId)).toMatchObject({ id: legacy.userId, email: 'legacy@example.com' });

    const placed = await placeOrder(t.as('order'), { userId: legacy.userId, idempotencyKey: 'after-upgrade', items: [{ productId: legacy.productId, quantity: 2 }] });
    expect(placed.replayed).toBe(false);
    const { rows: events } = await t.db.writer.query<{ payload: { version?: number; orderId: string } }>(
      "SELECT payload FROM order_service.outbox WHERE payload->>'orderId' = $1",
      [placed.order.id],
    );
    // Placed by the rewritten function: the event names its contract version.
    expect(events.map((e) => e.payload)).toEqual([expect.objectContaining({ version: 1, orderId: placed.order.id })]);

    const payment = t.as('payment');
    const { payment: charged } = await chargeOrder({ db: payment, provider: createSandboxProvider({ pool: payment.writer, latencyMs: 0 }) }, {
      type: ORDER_PLACED,
      version: 1,
      orderId: placed.order.id,
      userId: legacy.userId,
      totalCents: placed.order.totalCents,
      currency: placed.order.currency,
      items: placed.order.items,
      occurredAt: placed.order.createdAt,
    });
    expect(charged.status).toBe('SUCCEEDED');
    // A new payment-result row is numbered after the moved ones.
    const { rows } = await t.db.writer.query<{ id: string; orderId: string }>(
      `SELECT id, payload->>'orderId' AS "orderId" FROM payment_service.outbox ORDER BY id`,
    );
    expect(rows.at(-1)!.orderId).toBe(placed.order.id);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
  });
});

it('refuses a shared schema that is not at the last shared migration, and changes nothing', async () => {
  const t = await createTestDatabase({ migrated: false });
  try {
    await buildLegacyDatabase(t.db.writer, '008');
    await expect(migrate(t.db.writer)).rejects.toThrow(
      /shared schema at versions 001, 002, 003, 004, 005, 006, 007, 008; this release upgrades it only from 001, .*012/,
    );
    const { rows } = await t.db.writer.query("SELECT to_regclass('public.orders') IS NOT NULL AS shared, to_regnamespace('order_service') IS NULL AS none");
    expect(rows[0]).toEqual({ shared: true, none: true });
  } finally {
    await t.drop();
  }
});
