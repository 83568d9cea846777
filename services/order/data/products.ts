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

/**
 * One page of products ordered by id, starting after `afterId`; `nameContains` filters by a
 * case-insensitive substring of the name (a sequential scan, fine for a 10k-row demo catalog).
 */
export async function listProducts(
  db: Queryable,
  page: { limit: number; afterId?: string; nameContains?: string },
): Promise<Product[]> {
  const pattern = page.nameContains === undefined ? null : `%${escapeLike(page.nameContains)}%`;
  const { rows } = await db.query<Product>(
    `SELECT ${PRODUCT_COLUMNS} FROM products
      WHERE ($1::uuid IS NULL OR id > $1::uuid)
        AND ($2::text IS NULL OR name ILIKE $2::text)
      ORDER BY id
      LIMIT $3`,
    [page.afterId ?? null, pattern, page.limit],
  );
  return rows;
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
