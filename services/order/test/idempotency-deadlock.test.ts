// Deadlocks around Idempotency-Keys, against the real PostgreSQL (issue 14, item 9): two batches that
// name the same (user, key) pairs in opposite orders must not deadlock (surge_place_orders claims keys
// in one fixed order since migration 007), and a batch PostgreSQL aborts for a deadlock with another
// writer is placed again order by order instead of failing every order with a 500.
//
// The interleavings are forced, not hoped for: a test-only trigger holds a batch just before it claims
// a marked key until the test lets it go, and pg_stat_activity tells when a backend is waiting.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AppError } from '../../platform/errors';
import { listMigrations, MIGRATIONS_DIR, migrate } from '../../platform/migrate';
import { createTestDatabase, needsRealEngine, type TestDatabase, countRows } from '../../test-support/testing';
import { placeOrder } from '../use-cases/place-order';
import { addProduct, newUserId } from './fixtures';

const PLACE_ORDERS_SQL =
  'SELECT batch_position, order_response FROM surge_place_orders($1::uuid[], $2::text[], $3::text[], $4::int[], $5::uuid[], $6::int[], $7::text)';
/** Advisory lock the test holds while a batch is to stay paused before claiming a key. */
const PAUSE_LOCK = 4_242;
/** A claimed key whose request hash is this waits for PAUSE_LOCK first. */
const PAUSE_HASH = 'pause-before-claim';

const PAUSE_TRIGGER_SQL = `
  CREATE FUNCTION test_pause_before_claim() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.request_hash = '${PAUSE_HASH}' THEN PERFORM pg_advisory_xact_lock_shared(${PAUSE_LOCK}); END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER test_pause_before_claim BEFORE INSERT ON order_idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION test_pause_before_claim();`;

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

async function backendPid(client: pg.Client): Promise<number> {
  return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
}

/** Resolves once backend `pid` waits on a lock of `lockType` (pg_locks), failing after 10 s. */
async function waitForLockWait(observer: pg.Client, pid: number, lockType: 'advisory' | 'transactionid' | 'tuple' | string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rowCount } = await observer.query('SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted AND locktype = $2', [pid, lockType]);
    if (rowCount) return;
    if (Date.now() > deadline) throw new Error(`backend ${pid} never waited on a ${lockType} lock`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A test database with the migrations up to and including `lastVersion` only. */
async function databaseMigratedThrough(lastVersion: string): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'surge-migrations-'));
  try {
    for (const m of listMigrations().filter((m) => m.version <= lastVersion)) {
      copyFileSync(join(MIGRATIONS_DIR, `${m.version}_${m.name}.sql`), join(dir, `${m.version}_${m.name}.sql`));
    }
    const database = await createTestDatabase({ migrated: false });
    await migrate(database.db.writer, { dir });
    return database;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Two batches for one user, A with keys (k1, k2) and B with (k2, k1), on different products so that
 * product locks do not put them in line. A is held just before claiming k2; B runs until it waits on
 * A; then A is let go. Claimed in batch order, A now needs k2, which B holds: a deadlock. Claimed in
 * key order, B waited for k1 before claiming anything, and A finishes.
 * Returns how each call ended: 'ok' or the SQLSTATE it failed with.
 */
async function oppositeKeyOrders(database: TestDatabase): Promise<{ a: string; b: string }> {
  const { writer } = database.db;
  await writer.query(PAUSE_TRIGGER_SQL);
  const [productA, productB] = [await addProduct(writer, { stock: 10 }), await addProduct(writer, { stock: 10 })];
  const user = newUserId();
  const [control, clientA, clientB] = await Promise.all([connect(database.url), connect(database.url), connect(database.url)]);
  const outcome = (call: Promise<unknown>) => call.then(() => 'ok', (err: { code?: string }) => err.code ?? String(err));
  try {
    const [pidA, pidB] = [await backendPid(clientA), await backendPid(clientB)];
    await control.query('SELECT pg_advisory_lock($1)', [PAUSE_LOCK]);
    const a = outcome(
      clientA.query(PLACE_ORDERS_SQL, [[user, user], ['k1', 'k2'], ['a', PAUSE_HASH], [1, 1], [productA.id, productA.id], [1, 1], 'order-placed']),
    );
    await waitForLockWait(control, pidA, 'advisory');
    const b = outcome(clientB.query(PLACE_ORDERS_SQL, [[user, user], ['k2', 'k1'], ['b', 'b'], [1, 1], [productB.id, productB.id], [1, 1], 'order-placed']));
    await waitForLockWait(control, pidB, 'transactionid');
    await control.query('SELECT pg_advisory_unlock($1)', [PAUSE_LOCK]);
    return { a: await a, b: await b };
  } finally {
    await Promise.all([control.end(), clientA.end(), clientB.end()]);
  }
}

needsRealEngine('postgres', 'deadlocks need overlapping transactions; embedded ones never overlap')('Idempotency-Key deadlocks', () => {
  let testDb: TestDatabase;
  // Each test makes its own databases and waits out PostgreSQL's deadlock detection (1 s).
  beforeAll(async () => {
    testDb = await createTestDatabase();
  }, 30_000);
  afterAll(async () => {
    await testDb?.drop();
  });

  it('reproduces the deadlock on the function as migration 006 defined it (the scenario below is sensitive)', async () => {
    const before = await databaseMigratedThrough('006');
    try {
      const { a, b } = await oppositeKeyOrders(before);
      expect([a, b].sort()).toEqual(['40P01', 'ok']);
    } finally {
      await before.drop();
    }
  }, 30_000);

  it('claims keys in one order: two batches naming the same keys in opposite orders do not deadlock', async () => {
    const database = await createTestDatabase();
    try {
      expect(await oppositeKeyOrders(database)).toEqual({ a: 'ok', b: 'ok' });
      // A placed both orders; B found both keys taken and placed nothing (its callers replay A's).
      const { rows } = await database.db.writer.query<{ key: string; request_hash: string }>(
        'SELECT key, request_hash FROM order_idempotency_keys ORDER BY key',
      );
      expect(rows).toEqual([
        { key: 'k1', request_hash: 'a' },
        { key: 'k2', request_hash: PAUSE_HASH },
      ]);
      expect(await countRows(database.db.writer, 'SELECT 1 FROM orders')).toBe(2);
    } finally {
      await database.drop();
    }
  }, 30_000);

  /** Another writer's transaction claims (user, k2) and stays open; its deadlock_timeout is long. */
  async function holdKeyInAnotherWriter(writerClient: pg.Client, user: string): Promise<void> {
    await writerClient.query('BEGIN');
    await writerClient.query("SET LOCAL deadlock_timeout = '10s'");
    await writerClient.query(`INSERT INTO order_idempotency_keys (user_id, key, request_hash) VALUES ($1, 'k2', 'other-writer')`, [user]);
  }

  /**
   * Once the order service's batch has locked the product and waits for the writer's k2, the writer asks
   * for the product's row: a real deadlock, which the batch (waiting first, with the shorter
   * deadlock_timeout) detects and is aborted for. Returns once the writer holds the product (the batch
   * is gone), leaving the writer's transaction open for the caller to end.
   */
  async function deadlockWithTheWriter(writerClient: pg.Client, productId: string): Promise<void> {
    const observer = await connect(testDb.url);
    try {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { rowCount } = await observer.query(
          `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE NOT l.granted AND l.locktype = 'transactionid' AND a.query LIKE '%surge_place_orders%' AND a.datname = current_database()`,
        );
        if (rowCount) break;
        if (Date.now() > deadline) throw new Error('the batch never waited for the other writer');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await observer.end();
    }
    await writerClient.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [productId]);
  }

  it('places each order of a batch aborted by a deadlock again on its own, so none gets a 500', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer, { stock: 10 });
    const user = newUserId();
    const items = [{ productId: product.id, quantity: 1 }];
    const writerClient = await connect(testDb.url);
    try {
      await holdKeyInAnotherWriter(writerClient, user);
      const placed = Promise.allSettled([
        // Made in one tick: one batch.
        placeOrder(db, { userId: user, idempotencyKey: 'k1', items }),
        placeOrder(db, { userId: user, idempotencyKey: 'k2', items }),
        placeOrder(db, { userId: newUserId(), idempotencyKey: 'k3', items }),
      ]);
      await deadlockWithTheWriter(writerClient, product.id);
      await writerClient.query('ROLLBACK');
      const results = await placed;
      expect(results.map((r) => (r.status === 'fulfilled' ? r.value.replayed : r.reason))).toEqual([false, false, false]);
      expect(await countRows(db.writer, 'SELECT 1 FROM orders WHERE user_id = $1', [user])).toBe(2);
    } finally {
      await writerClient.end();
    }
  }, 30_000);

  it('answers 503 with Retry-After when an order alone is aborted by a deadlock, and writes nothing', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer, { stock: 10 });
    const user = newUserId();
    const writerClient = await connect(testDb.url);
    try {
      await holdKeyInAnotherWriter(writerClient, user);
      const placed = placeOrder(db, { userId: user, idempotencyKey: 'k2', items: [{ productId: product.id, quantity: 1 }] }).catch((err: unknown) => err);
      await deadlockWithTheWriter(writerClient, product.id);
      await writerClient.query('ROLLBACK');
      const error = await placed;
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ statusCode: 503, headers: { 'retry-after': '2' } });
      expect((error as AppError).message).toMatch(/retry with the same Idempotency-Key/);
      expect(await countRows(db.writer, 'SELECT 1 FROM orders WHERE user_id = $1', [user])).toBe(0);
    } finally {
      await writerClient.end();
    }
  }, 30_000);
});
