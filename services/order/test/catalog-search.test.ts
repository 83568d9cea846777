// Catalog search (`GET /api/products?q=`) on the real PostgreSQL: the query uses the trigram index
// (order migrations/001) instead of scanning the catalog, and a search shorter than a trigram is a 400
// naming the parameter.
import { buildApp, type SurgeApp } from '../../platform/app';
import type { ServiceContext } from '../../platform/context';
import { createTestContext, createTestDatabase, type TestDatabase } from '../../test-support/testing';
import { SEARCH_SQL } from '../data/products';
import { orderRoutes } from '../routes';

let t: TestDatabase;
let ctx: ServiceContext;
let app: SurgeApp;
beforeAll(async () => {
  t = await createTestDatabase();
  // A catalog big enough that a scan costs more than the index: 30,000 products, one of them a needle.
  // One connection without the services' statement timeout: filling the index takes a while on a busy machine.
  const client = await t.db.writer.connect();
  try {
    await client.query('SET statement_timeout = 0');
    await client.query(
      `INSERT INTO products (sku, name, price_cents, currency, stock)
       SELECT 'SKU-' || n, 'Product ' || n || ' ' || md5(n::text), 1000, 'USD', 10 FROM generate_series(1, 30000) AS n`,
    );
    await client.query(`INSERT INTO products (sku, name, price_cents, currency, stock) VALUES ('NEEDLE', 'Solar Lantern Deluxe', 2500, 'USD', 5)`);
    await client.query('ANALYZE products');
  } finally {
    client.release();
  }
  ctx = await createTestContext({ databaseUrl: t.url });
  app = await buildApp(ctx, [orderRoutes]);
}, 120000);
afterAll(async () => {
  await app?.close();
  await ctx?.close();
  await t?.drop();
});

/** The plan PostgreSQL picks for the search statement with these values, as the pg driver sends it. */
async function planOf(pattern: string): Promise<string> {
  const client = await t.db.writer.connect();
  try {
    await client.query(`PREPARE search(uuid, int, text) AS ${SEARCH_SQL}`);
    // EXPLAIN EXECUTE takes no bind parameters: the value goes in as an escaped literal.
    const { rows } = await client.query(`EXPLAIN (FORMAT JSON) EXECUTE search(NULL, 20, ${client.escapeLiteral(pattern)})`);
    await client.query('DEALLOCATE search');
    return JSON.stringify(rows[0]['QUERY PLAN']);
  } finally {
    client.release();
  }
}

it('finds products by a substring of the name through the trigram index, not a scan', async () => {
  const plan = await planOf('%lantern%');
  expect(plan).toContain('"Index Name":"products_name_trgm"');
  expect(plan).not.toContain('"Node Type":"Seq Scan"');
  const res = await app.inject({ url: '/api/products?q=LANTERN' });
  expect(res.statusCode).toBe(200);
  expect(res.json().items.map((p: { sku: string }) => p.sku)).toEqual(['NEEDLE']);
});

it('refuses a search shorter than 3 characters, naming the parameter', async () => {
  const res = await app.inject({ url: '/api/products?q=ab' });
  expect(res.statusCode).toBe(400);
  expect(res.json()).toEqual({ error: 'bad_request', message: 'querystring.q must NOT have fewer than 3 characters' });
  expect((await app.inject({ url: '/api/products?q=abc' })).statusCode).toBe(200);
});
