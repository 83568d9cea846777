// Data access for the catalog: product reads, keyset pages, putting stock back and the catalog
// import's upsert. Reserving stock is part of placing an order (placeOrderAtomically in ./orders).
import type { Queryable } from '../../platform/db';

export interface Product {
  id: string;
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  stock: number;
}

const PRODUCT_COLUMNS = 'id, sku, name, price_cents AS "priceCents", currency, stock';

export async function findProduct(db: Queryable, id: string): Promise<Product | null> {
  const { rows } = await db.query<Product>(`SELECT ${PRODUCT_COLUMNS} FROM products WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

const PAGE_SQL = `SELECT ${PRODUCT_COLUMNS} FROM products
  WHERE ($1::uuid IS NULL OR id > $1::uuid)
  ORDER BY id
  LIMIT $2`;

/** A name search: its own statement, so the planner sees the ILIKE alone and can use the trigram index. */
export const SEARCH_SQL = `SELECT ${PRODUCT_COLUMNS} FROM products
  WHERE ($1::uuid IS NULL OR id > $1::uuid)
    AND name ILIKE $3::text
  ORDER BY id
  LIMIT $2`;

/**
 * One page of products ordered by id, starting after `afterId`; `nameContains` filters by a
 * case-insensitive substring of the name, answered through the trigram index products_name_trgm
 * (products_name_trgm) rather than a scan of the catalog.
 */
export async function listProducts(
  db: Queryable,
  page: { limit: number; afterId?: string; nameContains?: string },
): Promise<Product[]> {
  const params: unknown[] = [page.afterId ?? null, page.limit];
  if (page.nameContains === undefined) return (await db.query<Product>(PAGE_SQL, params)).rows;
  return (await db.query<Product>(SEARCH_SQL, [...params, `%${escapeLike(page.nameContains)}%`])).rows;
}

/**
 * Puts an order's units back on the shelf and returns the products it put back (when its payment fails, or it is cancelled); inside the
 * caller's transaction. The product rows are locked first, in id order - the order in which orders
 * are placed lock them - so a release and a batch of new orders cannot deadlock over a multi-item order.
 */
export async function releaseStockOfOrder(tx: Queryable, orderId: string): Promise<string[]> {
  await tx.query(
    `SELECT 1 FROM products WHERE id IN (SELECT product_id FROM order_items WHERE order_id = $1) ORDER BY id FOR UPDATE`,
    [orderId],
  );
  const { rows } = await tx.query<{ id: string }>(
    `UPDATE products p SET stock = p.stock + i.quantity, updated_at = now()
       FROM order_items i
      WHERE i.order_id = $1 AND p.id = i.product_id
      RETURNING p.id`,
    [orderId],
  );
  return rows.map((row) => row.id);
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A product as the catalog import writes it, found by its SKU. */
export interface ProductUpsert {
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  stock: number;
}

/**
 * Inserts the products whose SKU is new and updates name, price and currency (and stock when
 * `setStock`) of the others; a product whose values already match is not written at all, so running
 * the same import twice changes nothing. Call it in a transaction: the existing rows are locked in id
 * order first, as placing orders locks them, so an import cannot deadlock with order batches.
 * Returns how many rows were inserted and how many updated.
 */
export async function upsertProducts(tx: Queryable, products: ProductUpsert[], setStock: boolean): Promise<{ inserted: number; updated: number }> {
  const skus = products.map((p) => p.sku);
  await tx.query('SELECT id FROM products WHERE sku = ANY($1::text[]) ORDER BY id FOR UPDATE', [skus]);
  const { rows } = await tx.query<{ inserted: number; updated: number }>(
    `WITH written AS (
       INSERT INTO products AS p (sku, name, price_cents, currency, stock)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::int[])
       ON CONFLICT (sku) DO UPDATE
          SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents, currency = EXCLUDED.currency,
              stock = CASE WHEN $6 THEN EXCLUDED.stock ELSE p.stock END, updated_at = now()
        WHERE (p.name, p.price_cents, p.currency, CASE WHEN $6 THEN p.stock END)
              IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.price_cents, EXCLUDED.currency, CASE WHEN $6 THEN EXCLUDED.stock END)
       RETURNING xmax = 0 AS inserted
     )
     SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated FROM written`,
    [skus, products.map((p) => p.name), products.map((p) => p.priceCents), products.map((p) => p.currency), products.map((p) => p.stock), setStock],
  );
  return rows[0];
}
