// Data access for the catalog: product reads, keyset pages, and the stock reservation that keeps a
// product from being oversold.
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
 * Takes `quantity` units if (and only if) that many are in stock. The conditional UPDATE locks the
 * row, so concurrent buyers queue on it and each sees the stock the previous one left: never oversold.
 * Returns the product's price and currency, or null when the product is unknown or short of stock.
 */
export async function reserveStock(
  tx: Queryable,
  productId: string,
  quantity: number,
): Promise<{ priceCents: number; currency: string } | null> {
  const { rows } = await tx.query<{ priceCents: number; currency: string }>(
    `UPDATE products SET stock = stock - $2, updated_at = now()
      WHERE id = $1 AND stock >= $2
      RETURNING price_cents AS "priceCents", currency`,
    [productId, quantity],
  );
  return rows[0] ?? null;
}

/** Puts an order's units back on the shelf (used when its payment fails). */
export async function releaseStockOfOrder(tx: Queryable, orderId: string): Promise<void> {
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
