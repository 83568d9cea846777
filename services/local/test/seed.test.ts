// seedCatalog: deterministic, idempotent, and it leaves stock that orders took alone.
import { createTestDatabase, countRows } from '../../test-support/testing';
import { sandboxDeclines } from '../../payment/sandbox-provider';
import { demoProduct, seedCatalog } from '../../order/seed';

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb?.drop();
});

describe('seedCatalog', () => {
  it('loads 10,000 products by default, and a second run adds none and keeps sold stock', async () => {
    const started = Date.now();
    expect(await seedCatalog(testDb.db)).toEqual({ inserted: 10_000 });
    const firstRunMs = Date.now() - started;
    expect(await countRows(testDb.db.writer, 'SELECT 1 FROM products')).toBe(10_000);
    expect(await countRows(testDb.db.writer, 'SELECT 1 FROM products WHERE stock <= 0')).toBe(0);

    await testDb.db.writer.query(`UPDATE products SET stock = 0 WHERE sku = 'SKU-000042'`);
    expect(await seedCatalog(testDb.db)).toEqual({ inserted: 0 });
    const { rows } = await testDb.db.writer.query(`SELECT stock FROM products WHERE sku = 'SKU-000042'`);
    expect(rows[0].stock).toBe(0);
    expect(firstRunMs).toBeLessThan(10_000);
  });

  it('stores exactly what demoProduct describes, and prices SKUs ending in 3 so the sandbox declines them', async () => {
    const { rows } = await testDb.db.writer.query(
      `SELECT sku, name, price_cents AS "priceCents", stock FROM products WHERE sku IN ('SKU-000003', 'SKU-000004')
        ORDER BY sku`,
    );
    expect(rows).toEqual([demoProduct(3), demoProduct(4)]);
    expect(sandboxDeclines(demoProduct(3).priceCents)).toBe(true);
    expect(sandboxDeclines(demoProduct(4).priceCents)).toBe(false);
  });
});
