// Data access for the catalog: product reads, keyset pages, and putting stock back. Reserving stock
// is part of placing an order (placeOrderAtomically in ./orders).
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
 * (migration 009) rather than a scan of the catalog.
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
 * Puts an order's units back on the shelf (when its payment fails, or it is cancelled); inside the
 * caller's transaction. The product rows are locked first, in id order - the order in which orders
 * are placed lock them - so a release and a batch of new orders cannot deadlock over a multi-item order.
 */
export async function releaseStockOfOrder(tx: Queryable, orderId: string): Promise<void> {
  await tx.query(
    `SELECT 1 FROM products WHERE id IN (SELECT product_id FROM order_items WHERE order_id = $1) ORDER BY id FOR UPDATE`,
    [orderId],
  );
  await tx.query(
    `UPDATE products p SET stock = p.stock + i.quantity, updated_at = now()
       FROM order_items i
      WHERE i.order_id = $1 AND p.id = i.product_id`,
    [orderId],
  );
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
