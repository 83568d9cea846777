// Use-case tests for placeOrder against the real PostgreSQL: stock, idempotency and the outbox event
// all follow from one transaction.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { AppError } from '../../platform/errors';
import { createTestDatabase, needsRealEngine, countRows } from '../../test-support/testing';
import { placeOrder } from '../use-cases/place-order';
import { addProduct, newUserId, stockOf } from './fixtures';

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb?.drop();
});

async function expectAppError(promise: Promise<unknown>, statusCode: number, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).statusCode).toBe(statusCode);
  expect((error as AppError).message).toMatch(message);
}

describe('placeOrder', () => {
  it('reserves stock, writes the order, its items, its order-placed event and the key in one go', async () => {
    const { db } = testDb;
    const kettle = await addProduct(db.writer, { priceCents: 2_500, stock: 5 });
    const mug = await addProduct(db.writer, { priceCents: 799, stock: 3 });
    const userId = newUserId();

    const { order, replayed } = await placeOrder(db, {
      userId,
      idempotencyKey: 'k-1',
      items: [
        { productId: kettle.id, quantity: 2 },
        { productId: mug.id, quantity: 1 },
      ],
    });

    expect(replayed).toBe(false);
    expect(order).toMatchObject({ status: 'PENDING', totalCents: 2 * 2_500 + 799, currency: 'USD' });
    expect(order.items).toEqual([
      { productId: kettle.id, quantity: 2, unitPriceCents: 2_500 },
      { productId: mug.id, quantity: 1, unitPriceCents: 799 },
    ]);
    expect(await stockOf(db.writer, kettle.id)).toBe(3);
    expect(await stockOf(db.writer, mug.id)).toBe(2);
    const { rows: events } = await db.writer.query(`SELECT payload FROM outbox WHERE topic = 'order-placed'`);
    expect(events.map((e) => e.payload)).toContainEqual(
      expect.objectContaining({ type: 'order-placed', orderId: order.id, userId, totalCents: order.totalCents }),
    );
    const { rows: lines } = await db.writer.query(
      'SELECT line, product_id AS "productId", quantity FROM order_items WHERE order_id = $1 ORDER BY line',
      [order.id],
    );
    expect(lines).toEqual([
      { line: 1, productId: kettle.id, quantity: 2 },
      { line: 2, productId: mug.id, quantity: 1 },
    ]);
  });

  it('answers 409 naming the short product and leaves stock, orders and the key untouched', async () => {
    const { db } = testDb;
    const plenty = await addProduct(db.writer, { stock: 10 });
    const scarce = await addProduct(db.writer, { stock: 1, name: 'Scarce lamp' });
    const userId = newUserId();
    const command = {
      userId,
      idempotencyKey: 'short-1',
      items: [
        { productId: plenty.id, quantity: 1 },
        { productId: scarce.id, quantity: 2 },
      ],
    };

    await expectAppError(placeOrder(db, command), 409, new RegExp(`${scarce.id}.*Scarce lamp.*requested 2, available 1`));
    expect(await stockOf(db.writer, plenty.id)).toBe(10);
    expect(await stockOf(db.writer, scarce.id)).toBe(1);
    expect(await countRows(db.writer, 'SELECT 1 FROM orders WHERE user_id = $1', [userId])).toBe(0);

    // The failed attempt was not remembered: the same key succeeds once stock is back.
    await db.writer.query('UPDATE products SET stock = 5 WHERE id = $1', [scarce.id]);
    const { replayed } = await placeOrder(db, command);
    expect(replayed).toBe(false);
    expect(await stockOf(db.writer, scarce.id)).toBe(3);
  });

  it('rejects unknown products, duplicates, empty and non-positive quantities with 400', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer);
    const userId = newUserId();
    const unknown = randomUUID();
    await expectAppError(
      placeOrder(db, { userId, idempotencyKey: 'u', items: [{ productId: unknown, quantity: 1 }] }),
      400,
      new RegExp(`product ${unknown} does not exist`),
    );
    await expectAppError(
      placeOrder(db, {
        userId,
        idempotencyKey: 'd',
        items: [
          { productId: product.id, quantity: 1 },
          { productId: product.id.toUpperCase(), quantity: 2 },
        ],
      }),
      400,
      /more than once/,
    );
    await expectAppError(placeOrder(db, { userId, idempotencyKey: 'e', items: [] }), 400, /at least one item/);
    await expectAppError(
      placeOrder(db, { userId, idempotencyKey: 'q', items: [{ productId: product.id, quantity: 0 }] }),
      400,
      /quantity .* integer from 1 to 1000/,
    );
    await expectAppError(
      placeOrder(db, { userId, idempotencyKey: 'f', items: [{ productId: product.id, quantity: 1.5 }] }),
      400,
      /quantity .* integer from 1 to 1000/,
    );
    expect(await stockOf(db.writer, product.id)).toBe(10);
  });

  it('replays the first response for the same key and body, and answers 422 for a different body', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer, { stock: 10 });
    const userId = newUserId();
    const items = [{ productId: product.id, quantity: 2 }];

    const first = await placeOrder(db, { userId, idempotencyKey: 'same', items });
    const again = await placeOrder(db, { userId, idempotencyKey: 'same', items: [{ productId: product.id.toUpperCase(), quantity: 2 }] });
    expect(again).toEqual({ order: first.order, replayed: true });
    expect(await stockOf(db.writer, product.id)).toBe(8);

    await expectAppError(
      placeOrder(db, { userId, idempotencyKey: 'same', items: [{ productId: product.id, quantity: 3 }] }),
      422,
      /Idempotency-Key .* different request body/,
    );
    // Keys are per user: another buyer's identical key is a new order.
    const other = await placeOrder(db, { userId: newUserId(), idempotencyKey: 'same', items });
    expect(other.replayed).toBe(false);
    expect(other.order.id).not.toBe(first.order.id);
  });

  it('creates one order for 50 concurrent calls with one key, all returning the same response', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer, { stock: 100 });
    const userId = newUserId();
    const items = [{ productId: product.id, quantity: 1 }];

    const results = await Promise.all(
      Array.from({ length: 50 }, () => placeOrder(db, { userId, idempotencyKey: 'burst', items })),
    );

    expect(new Set(results.map((r) => JSON.stringify(r.order))).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(await countRows(db.writer, 'SELECT 1 FROM orders WHERE user_id = $1', [userId])).toBe(1);
    expect(await stockOf(db.writer, product.id)).toBe(99);
  });

  it('places orders made at the same moment in one transaction, each decided alone in arrival order', async () => {
    const { db } = testDb;
    const lamp = await addProduct(db.writer, { stock: 3 });
    const euroMug = await addProduct(db.writer, { stock: 5, currency: 'EUR' });
    const missing = randomUUID();
    const buyers = Array.from({ length: 5 }, newUserId);
    const attempt = (i: number, items: Array<{ productId: string; quantity: number }>) =>
      placeOrder(db, { userId: buyers[i], idempotencyKey: `same-moment-${i}`, items }).then(
        ({ order }) => order.id,
        (err: AppError) => `${err.statusCode} ${err.message}`,
      );

    // Made in one tick, so they share one batch: 2 of 3 lamps, then 2 more (1 left: refused), then the
    // last one, then an unknown product and mixed currencies, refused without touching the others.
    const results = await Promise.all([
      attempt(0, [{ productId: lamp.id, quantity: 2 }]),
      attempt(1, [{ productId: lamp.id, quantity: 2 }]),
      attempt(2, [{ productId: lamp.id, quantity: 1 }]),
      attempt(3, [
        { productId: euroMug.id, quantity: 1 },
        { productId: missing, quantity: 1 },
      ]),
      attempt(4, [
        { productId: lamp.id, quantity: 1 },
        { productId: euroMug.id, quantity: 1 },
      ]),
    ]);

    expect(results[1]).toMatch(/^409 .*requested 2, available 0/);
    expect(results[3]).toMatch(new RegExp(`^400 product ${missing} does not exist`));
    expect(results[4]).toMatch(/^40[09] /);
    expect(await stockOf(db.writer, lamp.id)).toBe(0);
    expect(await stockOf(db.writer, euroMug.id)).toBe(5);
    const { rows } = await db.writer.query<{ id: string; tx: string }>(
      'SELECT id, xmin::text AS tx FROM orders WHERE user_id = ANY($1::uuid[])',
      [buyers],
    );
    expect(rows.map((r) => r.id).sort()).toEqual([results[0], results[2]].sort());
    expect(new Set(rows.map((r) => r.tx)).size).toBe(1);
    expect(await countRows(db.writer, 'SELECT 1 FROM order_idempotency_keys WHERE user_id = ANY($1::uuid[])', [buyers])).toBe(2);
    expect(await countRows(db.writer, `SELECT 1 FROM outbox WHERE payload->>'userId' = ANY($1::text[])`, [buyers])).toBe(2);
  });

  it('fails only the order the database refuses when a batch breaks on bad input', async () => {
    const { db } = testDb;
    const product = await addProduct(db.writer, { stock: 10 });
    const items = [{ productId: product.id, quantity: 1 }];
    // A user id that is not a uuid (no route lets one through) makes PostgreSQL refuse the whole call.
    const [good, bad, alsoGood] = await Promise.allSettled([
      placeOrder(db, { userId: newUserId(), idempotencyKey: 'a', items }),
      placeOrder(db, { userId: 'not-a-uuid', idempotencyKey: 'b', items }),
      placeOrder(db, { userId: newUserId(), idempotencyKey: 'c', items }),
    ]);
    expect(good.status).toBe('fulfilled');
    expect(alsoGood.status).toBe('fulfilled');
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: '22P02' } });
    expect(await stockOf(db.writer, product.id)).toBe(8);
  });

  needsRealEngine('postgres', 'lock ordering matters only when transactions overlap; embedded ones never do')('overlapping transactions', () => {
    it('does not deadlock when multi-item orders name the same products in opposite orders', async () => {
      const { db } = testDb;
      const a = await addProduct(db.writer, { stock: 1_000 });
      const b = await addProduct(db.writer, { stock: 1_000 });
      const orders = Array.from({ length: 40 }, (_, i) =>
        placeOrder(db, {
          userId: newUserId(),
          idempotencyKey: `mix-${i}`,
          items:
            i % 2 === 0
              ? [
                  { productId: a.id, quantity: 1 },
                  { productId: b.id, quantity: 1 },
                ]
              : [
                  { productId: b.id, quantity: 1 },
                  { productId: a.id, quantity: 1 },
                ],
        }),
      );
      await expect(Promise.all(orders)).resolves.toHaveLength(40);
      expect(await stockOf(db.writer, a.id)).toBe(960);
      expect(await stockOf(db.writer, b.id)).toBe(960);
    });

    it('keeps finding keys and products by index after the tables grew under plans cached while they were small', async () => {
      const { db } = testDb;
      const product = await addProduct(db.writer, { stock: 1_000 });
      const client = new pg.Client({ connectionString: testDb.url });
      await client.connect();
      try {
        const placeOne = () =>
          client.query('SELECT * FROM surge_place_orders($1::uuid[], $2::text[], $3::text[], $4::int[], $5::uuid[], $6::int[], $7::text)', [
            [newUserId()],
            [randomUUID()],
            ['h'],
            [1],
            [product.id],
            [1],
            'order-placed',
          ]);
        // PL/pgSQL settles on one plan per statement and connection after five calls.
        for (let i = 0; i < 8; i++) await placeOne();
        await db.writer.query(
          `INSERT INTO order_idempotency_keys (user_id, key, request_hash) SELECT gen_random_uuid(), g::text, 'h' FROM generate_series(1, 20000) g`,
        );
        const plans: string[] = [];
        client.on('notice', (notice) => plans.push(notice.message ?? ''));
        await client.query("LOAD 'auto_explain'");
        await client.query('SET auto_explain.log_min_duration = 0');
        await client.query('SET auto_explain.log_nested_statements = on');
        await client.query("SET auto_explain.log_level = 'notice'");
        await placeOne();
        const explained = plans.join('\n');
        expect(explained).toMatch(/Index (Only )?Scan using order_idempotency_keys_pkey/);
        expect(explained).not.toMatch(/Seq Scan on (order_idempotency_keys|products|orders)/);
      } finally {
        await client.end();
      }
    });
  });
});
