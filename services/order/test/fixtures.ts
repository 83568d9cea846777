// Test fixtures of the order service's tests (and the cross-service ones in services/local/test):
// products with chosen price and stock, read straight from the database.
import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../platform/db';

export async function addProduct(
  db: Queryable,
  product: { priceCents?: number; stock?: number; name?: string; currency?: string } = {},
): Promise<{ id: string; priceCents: number; stock: number; name: string }> {
  const name = product.name ?? `Test product ${randomUUID().slice(0, 8)}`;
  const { rows } = await db.query<{ id: string; priceCents: number; stock: number; name: string }>(
    `INSERT INTO products (sku, name, price_cents, currency, stock) VALUES ($1, $2, $3, $4, $5)
     RETURNING id, name, price_cents AS "priceCents", stock`,
    [`TEST-${randomUUID()}`, name, product.priceCents ?? 1_000, product.currency ?? 'USD', product.stock ?? 10],
  );
  return rows[0];
}

export async function stockOf(db: Queryable, productId: string): Promise<number> {
  const { rows } = await db.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [productId]);
  return rows[0].stock;
}

export const newUserId = () => randomUUID();
