// Load scenarios: what a sale-day visitor does, against any base URL (npm start, the perf stack,
// a deployed CloudFront distribution). Each scenario prepares its own data over the public API -
// users registered and logged in, product ids read from the catalog - and returns the requests
// autocannon cycles through.
import { randomBytes, randomUUID } from 'node:crypto';
import type { LoadRequest } from './lib/load-run';

export type ScenarioName = 'browse' | 'checkout' | 'flash-sale';
export const SCENARIOS: readonly ScenarioName[] = ['browse', 'checkout', 'flash-sale'];

export interface ScenarioOptions {
  /** Base URL of the order service (/api/products, /api/orders). */
  url: string;
  /** Base URL of the user service (/api/users); the same as `url` behind the ALB or npm start. */
  userUrl?: string;
  /** Buyers to register for checkout and flash-sale. @default 20 */
  users?: number;
  /** Bearer tokens to use instead of registering users (e.g. minted by a drill). */
  tokens?: string[];
  /** Flash sale: the product everyone wants. @default the first product in the catalog */
  productId?: string;
}

export interface PreparedScenario {
  requests: LoadRequest[];
  /** Answers besides 2xx/3xx that are correct in this scenario (409: the product sold out). */
  acceptedStatuses: readonly number[];
  /** What was prepared, for the report. */
  notes: string[];
}

export const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

async function api<T>(base: string, path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path} answered ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

/** Up to `count` product ids from the catalog, in catalog order. */
export async function catalogIds(url: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  while (ids.length < count) {
    const query: string = `limit=${Math.min(100, count - ids.length)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page: { items: Array<{ id: string }>; nextCursor: string | null } = await api(url, `/api/products?${query}`);
    ids.push(...page.items.map((p) => p.id));
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  if (ids.length === 0) throw new Error(`the catalog at ${url} is empty; seed it first (npm run seed)`);
  return ids;
}

/** Registers and logs in `count` throwaway buyers; returns their tokens. */
export async function registerBuyers(userUrl: string, count: number): Promise<string[]> {
  const run = randomBytes(4).toString('hex');
  const tokens: string[] = [];
  // A few at a time: password hashing is deliberately slow.
  for (let first = 0; first < count; first += 8) {
    const batch = Array.from({ length: Math.min(8, count - first) }, (_, i) => first + i);
    tokens.push(
      ...(await Promise.all(
        batch.map(async (i) => {
          const email = `perf-${run}-${i}@example.com`;
          const password = `perf-${randomBytes(8).toString('hex')}`;
          await api(userUrl, '/api/users', { method: 'POST', body: { email, password, name: `Perf buyer ${i}` } });
          return (await api<{ token: string }>(userUrl, '/api/users/login', { method: 'POST', body: { email, password } })).token;
        }),
      )),
    );
  }
  return tokens;
}

/** GET /api/products/:id for a product chosen at random per request. */
export function productReadRequest(ids: readonly string[]): LoadRequest {
  return { path: '/api/products/x', setup: (req) => ({ ...req, path: `/api/products/${pick(ids)}` }) };
}

/** POST /api/orders for one unit of a product chosen per request, as a random buyer, with a fresh key. */
export function orderRequest(tokens: readonly string[], productIds: () => string): LoadRequest {
  return {
    method: 'POST',
    path: '/api/orders',
    body: '{}',
    setup: (req) => ({
      path: req.path,
      headers: {
        ...req.headers,
        'content-type': 'application/json',
        authorization: `Bearer ${pick(tokens)}`,
        'idempotency-key': randomUUID(),
      },
      body: JSON.stringify({ items: [{ productId: productIds(), quantity: 1 }] }),
    }),
  };
}

export async function prepareScenario(name: ScenarioName, options: ScenarioOptions): Promise<PreparedScenario> {
  const userUrl = options.userUrl ?? options.url;
  if (name === 'browse') {
    // Hot products: a sale page shows a few hundred, each read over and over.
    const ids = await catalogIds(options.url, 200);
    return {
      requests: [
        productReadRequest(ids),
        productReadRequest(ids),
        productReadRequest(ids),
        { path: '/api/products?limit=20' },
      ],
      acceptedStatuses: [],
      notes: [`${ids.length} hot products; 3 product reads per catalog page`],
    };
  }
  const tokens = options.tokens ?? (await registerBuyers(userUrl, options.users ?? 20));
  const tokenNote = options.tokens ? `${tokens.length} supplied buyer tokens` : `${tokens.length} buyers registered and logged in`;
  if (name === 'checkout') {
    const ids = await catalogIds(options.url, 1000);
    return {
      requests: [
        productReadRequest(ids),
        orderRequest(tokens, () => pick(ids)),
      ],
      acceptedStatuses: [409],
      notes: [tokenNote, `${ids.length} products; each buyer reads a product, then orders one unit`],
    };
  }
  const productId = options.productId ?? (await catalogIds(options.url, 1))[0];
  return {
    requests: [orderRequest(tokens, () => productId)],
    acceptedStatuses: [409],
    notes: [tokenNote, `every request orders one unit of ${productId}`],
  };
}
