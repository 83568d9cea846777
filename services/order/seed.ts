// Demo and benchmark catalog: `count` products with deterministic SKUs (SKU-000001 ...), names,
// prices and stock. Idempotent: re-running inserts only the SKUs that are missing and never touches
// stock that orders have already taken.
//
// Prices: products whose SKU number ends in 3 cost N.13, which the sandbox payment provider declines
// (see services/payment/sandbox-provider.ts), so ordering one unit of SKU-000003 demonstrates a failed
// payment; every other product costs N.99.
import type { Database } from '../platform/db';

const ADJECTIVES = ['Swift', 'Quiet', 'Bright', 'Rugged', 'Compact', 'Classic', 'Nimble', 'Solar', 'Urban', 'Polar'];
const NOUNS = ['Backpack', 'Headphones', 'Kettle', 'Lamp', 'Sneakers', 'Watch', 'Blender', 'Jacket', 'Speaker', 'Mug'];
const BATCH_SIZE = 1000;

export interface SeedProduct {
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
}

/** The n-th demo product (n >= 1); pure, so tests and benchmarks can predict the catalog. */
export function demoProduct(n: number): SeedProduct {
  const number = String(n).padStart(6, '0');
  const dollars = 1 + ((n * 37) % 300);
  return {
    sku: `SKU-${number}`,
    name: `${ADJECTIVES[n % ADJECTIVES.length]} ${NOUNS[Math.floor(n / ADJECTIVES.length) % NOUNS.length]} ${number}`,
    priceCents: dollars * 100 + (n % 10 === 3 ? 13 : 99),
    stock: 50 + ((n * 13) % 951),
  };
}

export async function seedCatalog(db: Pick<Database, 'writer'>, count = 10_000): Promise<{ inserted: number }> {
  let inserted = 0;
  for (let first = 1; first <= count; first += BATCH_SIZE) {
    const batch = Array.from({ length: Math.min(BATCH_SIZE, count - first + 1) }, (_, i) => demoProduct(first + i));
    const result = await db.writer.query(
      `INSERT INTO products (sku, name, price_cents, currency, stock)
       SELECT sku, name, price_cents, 'USD', stock
         FROM unnest($1::text[], $2::text[], $3::int[], $4::int[]) AS p(sku, name, price_cents, stock)
       ON CONFLICT (sku) DO NOTHING`,
      [batch.map((p) => p.sku), batch.map((p) => p.name), batch.map((p) => p.priceCents), batch.map((p) => p.stock)],
    );
    inserted += result.rowCount ?? 0;
  }
  return { inserted };
}
