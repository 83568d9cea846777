// Use cases: read the catalog. Single products go through the cache (hot during a sale); pages of
// products go straight to the reader pool.
import type { Cache, CacheEncoder, CacheRead } from '../../platform/cache';
import type { ServiceConfig } from '../../platform/config';
import type { Database } from '../../platform/db';
import { decodeCursor, encodeCursor, UUID_PATTERN } from '../cursor';
import { findProduct, listProducts, type Product } from '../data/products';

/**
 * Longest a cached product may be served after it was read from the database, by Redis or the
 * in-process L1 alike (the cache carries the read time through both). With the HTTP max-age below,
 * shown stock lags the database by at most PRODUCT_CACHE_TTL_SECONDS + PRODUCT_MAX_AGE_SECONDS = 2 s
 * (plus replica lag, milliseconds on Aurora).
 */
export const PRODUCT_CACHE_TTL_SECONDS = 1;
/** `Cache-Control: max-age` for product responses, so CloudFront absorbs hot reads. */
export const PRODUCT_MAX_AGE_SECONDS = 1;

export const productCacheKey = (id: string) => `product:v1:${id.toLowerCase()}`;

/**
 * One product through the cache (`hit`: it came from the cache; `value` null: no such product);
 * answered at once (no promise) when the in-process L1 holds it. With `encode` (the route's response
 * serializer) the answer carries the product's response body too, rendered once per cache fill.
 */
export function getProduct(
  deps: { db: Pick<Database, 'reader'>; cache: Cache; config?: Pick<ServiceConfig, 'productCache'> },
  id: string,
  encode?: CacheEncoder<Product>,
): CacheRead<Product> | Promise<CacheRead<Product>> {
  const load = () => findProduct(deps.db.reader, id);
  if (deps.config?.productCache === false) return load().then((product) => ({ value: product, hit: false }));
  return deps.cache.getOrLoad(productCacheKey(id), PRODUCT_CACHE_TTL_SECONDS, load, encode);
}

/**
 * Offers the in-process L1 copy of one product to `serve`, without any I/O: false when there is none
 * (or the product cache is off) or `serve` declined it, and the caller goes on to getProduct.
 */
export function serveCachedProduct(
  deps: { db: Pick<Database, 'reader'>; cache: Cache; config?: Pick<ServiceConfig, 'productCache'> },
  id: string,
  serve: (read: CacheRead<Product>) => boolean,
): boolean {
  if (deps.config?.productCache === false) return false;
  return deps.cache.serveLocal(productCacheKey(id), PRODUCT_CACHE_TTL_SECONDS, () => findProduct(deps.db.reader, id), serve);
}

export async function browseProducts(
  deps: { db: Pick<Database, 'reader'> },
  query: { limit: number; cursor?: string; q?: string },
): Promise<{ items: Product[]; nextCursor: string | null }> {
  const afterId = query.cursor === undefined ? undefined : decodeCursor(query.cursor, { id: UUID_PATTERN }).id;
  // One extra row tells whether another page exists without a COUNT.
  const rows = await listProducts(deps.db.reader, { limit: query.limit + 1, afterId, nameContains: query.q });
  const items = rows.slice(0, query.limit);
  const nextCursor = rows.length > query.limit ? encodeCursor({ id: items[items.length - 1].id }) : null;
  return { items, nextCursor };
}
