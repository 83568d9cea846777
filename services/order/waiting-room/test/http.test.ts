// The waiting-room HTTP contract (docs/ARCHITECTURE.md, "Waiting room") on the real PostgreSQL and
// Redis: listing and status with their cache headers, joining (one place per shopper), admission
// bound to the shopper and the event, and the 403 that orders of an open event's products get
// without an admission token.
import { randomUUID } from 'node:crypto';
import { buildApp, type SurgeApp } from '../../../platform/app';
import type { ServiceContext } from '../../../platform/context';
import { createTestContext, createTestDatabase, listenForTest, type TestClient, type TestDatabase } from '../../../test-support/testing';
import { orderRoutes } from '../../routes';
import { createWaitingRoomPasses } from '../passes';

const ADMISSION_KEY = 'waiting-room-test-admission-key-of-32-bytes-or-more';
const HOUR = 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const ids = { fast: randomUUID(), slow: randomUUID(), later: randomUUID(), past: randomUUID(), plain: randomUUID(), scarce: randomUUID() };
const now = Date.now();
const EVENTS = [
  { eventId: 'fast-sale', name: 'Fast sale', startsAt: iso(now - HOUR), endsAt: iso(now + HOUR), productIds: [ids.fast, ids.scarce], inletPerSecond: 1000 },
  // One shopper a second: positions past the first few stay waiting for the whole test.
  { eventId: 'slow-sale', name: 'Slow sale', startsAt: iso(now - HOUR), endsAt: iso(now + HOUR), productIds: [ids.slow], inletPerSecond: 1 },
  { eventId: 'later-sale', name: 'Later sale', startsAt: iso(now + HOUR), endsAt: iso(now + 2 * HOUR), productIds: [ids.later], inletPerSecond: 10 },
  { eventId: 'past-sale', name: 'Past sale', startsAt: iso(now - 2 * HOUR), endsAt: iso(now - HOUR), productIds: [ids.past], inletPerSecond: 10 },
];

let database: TestDatabase;
let ctx: ServiceContext;
let app: SurgeApp;
let client: TestClient;

beforeAll(async () => {
  database = await createTestDatabase();
  for (const [name, id] of Object.entries(ids)) {
    await database.db.writer.query(
      `INSERT INTO products (id, sku, name, price_cents, currency, stock) VALUES ($1, $2, $3, 1099, 'USD', 100)`,
      [id, `WR-${id}`, `Waiting room ${name}`],
    );
  }
  ctx = await createTestContext({
    databaseUrl: database.url,
    redis: true,
    env: {
      WAITING_ROOM_EVENTS: JSON.stringify(EVENTS),
      WAITING_ROOM_ADMISSION_KEY: ADMISSION_KEY,
      WAITING_ROOM_TICK_MS: '20',
      RATE_LIMIT_ORDERS_PER_MINUTE: '100000',
    },
  });
  app = await buildApp(ctx, [orderRoutes]);
  client = await listenForTest(app);
});
afterAll(async () => {
  await app?.close();
  await ctx?.close();
  await database?.drop();
});

const auth = async (userId: string) => ({ authorization: `Bearer ${(await ctx.tokens.issue(userId)).token}` });
const join = async (eventId: string, userId: string) =>
  client.request({ method: 'POST', url: `/api/waiting-room/${eventId}/tickets`, headers: await auth(userId) });
const admission = async (eventId: string, userId: string, ticket: string) =>
  client.request({ method: 'POST', url: `/api/waiting-room/${eventId}/admission`, headers: await auth(userId), payload: { ticket } });
const order = async (userId: string, productId: string, admissionToken?: string) =>
  client.request({
    method: 'POST',
    url: '/api/orders',
    headers: { ...(await auth(userId)), 'idempotency-key': randomUUID(), ...(admissionToken ? { 'surge-admission': admissionToken } : {}) },
    payload: { items: [{ productId, quantity: 1 }] },
  });

/** Joins and waits (bounded) for admission; returns the token. */
async function admitted(eventId: string, userId: string): Promise<string> {
  const { ticket } = (await join(eventId, userId)).json();
  for (let i = 0; i < 100; i++) {
    const res = await admission(eventId, userId, ticket);
    if (res.statusCode === 200) return res.json().admissionToken;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${userId} was not admitted to ${eventId} within 2 s`);
}

describe('GET /api/waiting-room', () => {
  it('lists the events with their state; CloudFront may cache it 5 s', async () => {
    const res = await client.request('/api/waiting-room');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=5');
    expect(res.json().events).toEqual([
      { ...EVENTS[0], inletPerSecond: undefined, state: 'open' },
      { ...EVENTS[1], inletPerSecond: undefined, state: 'open' },
      { ...EVENTS[2], inletPerSecond: undefined, state: 'scheduled' },
      { ...EVENTS[3], inletPerSecond: undefined, state: 'ended' },
    ].map(({ inletPerSecond: _, ...e }) => e));
  });
});

describe('GET /api/waiting-room/:eventId', () => {
  it('says how far admission has reached; CloudFront may cache it 1 s', async () => {
    const res = await client.request('/api/waiting-room/slow-sale');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=1');
    expect(res.json()).toEqual({ eventId: 'slow-sale', state: 'open', admittedThrough: expect.any(Number), queueLength: expect.any(Number), inletPerSecond: 1 });
  });

  it('is 404 for an unknown event and 400 for an id that cannot be one', async () => {
    const missing = await client.request('/api/waiting-room/no-such-sale');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'not_found', message: 'sale event no-such-sale does not exist' });
    const bad = await client.request('/api/waiting-room/not_an_id!');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/params.eventId must match pattern/);
  });
});

describe('POST /api/waiting-room/:eventId/tickets', () => {
  it('gives a new place (201), then the same place (200) on every later join', async () => {
    const shopper = randomUUID();
    const first = await join('slow-sale', shopper);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({ eventId: 'slow-sale', ticket: expect.any(String), position: expect.any(Number) });
    const again = await join('slow-sale', shopper);
    expect(again.statusCode).toBe(200);
    expect(again.json().position).toBe(first.json().position);
    const other = await join('slow-sale', randomUUID());
    expect(other.json().position).toBe(first.json().position + 1);
  });

  it('holds one place for a shopper whose joins race', async () => {
    const shopper = randomUUID();
    const answers = await Promise.all(Array.from({ length: 20 }, () => join('slow-sale', shopper)));
    expect(answers.map((a) => a.statusCode).sort((a, b) => a - b)).toEqual([...Array(19).fill(200), 201]);
    expect(new Set(answers.map((a) => a.json().position)).size).toBe(1);
  });

  it('needs a Bearer token, a known event and an open one', async () => {
    const anonymous = await client.request({ method: 'POST', url: '/api/waiting-room/slow-sale/tickets' });
    expect(anonymous.statusCode).toBe(401);
    expect((await join('no-such-sale', randomUUID())).statusCode).toBe(404);
    const later = await join('later-sale', randomUUID());
    expect(later.statusCode).toBe(409);
    expect(later.json()).toEqual({ error: 'event_not_open', message: expect.stringMatching(/^Sale event later-sale is not open yet \(opens /) });
    const past = await join('past-sale', randomUUID());
    expect(past.statusCode).toBe(409);
    expect(past.json()).toEqual({ error: 'event_not_open', message: expect.stringMatching(/^Sale event past-sale is over/) });
  });

  it('refuses a body', async () => {
    const res = await client.request({ method: 'POST', url: '/api/waiting-room/slow-sale/tickets', headers: await auth(randomUUID()), payload: { position: 1 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe('body.position is not allowed');
  });
});

describe('POST /api/waiting-room/:eventId/admission', () => {
  it('is 409 not_admitted_yet with the position until admission reaches it', async () => {
    for (let i = 0; i < 3; i++) await join('slow-sale', randomUUID());
    const shopper = randomUUID();
    const { ticket, position } = (await join('slow-sale', shopper)).json();
    const res = await admission('slow-sale', shopper, ticket);
    expect(res.statusCode).toBe(409);
    const body = res.json();
    expect(body).toEqual({ error: 'not_admitted_yet', message: expect.stringMatching(new RegExp(`^Position ${position} is not admitted yet`)), position, admittedThrough: expect.any(Number) });
    expect(body.admittedThrough).toBeLessThan(position);
  });

  it('gives an admitted shopper a short-lived token, again on every ask, without a new place', async () => {
    const shopper = randomUUID();
    const { ticket, position } = (await join('fast-sale', shopper)).json();
    await admitted('fast-sale', shopper);
    const res = await admission('fast-sale', shopper, ticket);
    expect(res.statusCode).toBe(200);
    const { admissionToken, expiresAt } = res.json();
    expect(admissionToken).toEqual(expect.any(String));
    const ttl = Date.parse(expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(290_000);
    expect(ttl).toBeLessThanOrEqual(300_000);
    expect((await join('fast-sale', shopper)).json().position).toBe(position);
  });

  it("is 403 for another shopper's ticket and for a ticket of another event; 400 for a forged ticket", async () => {
    const owner = randomUUID();
    const { ticket } = (await join('fast-sale', owner)).json();
    await admitted('fast-sale', owner);
    const thief = await admission('fast-sale', randomUUID(), ticket);
    expect(thief.statusCode).toBe(403);
    expect(thief.json()).toEqual({ error: 'forbidden', message: 'This ticket belongs to another shopper' });
    const elsewhere = await admission('slow-sale', owner, ticket);
    expect(elsewhere.statusCode).toBe(403);
    expect(elsewhere.json().message).toBe('This ticket is for sale event fast-sale, not slow-sale');
    const forged = await admission('fast-sale', owner, `${ticket.slice(0, -4)}AAAA`);
    expect(forged.statusCode).toBe(400);
    expect(forged.json().message).toBe('body.ticket is not a valid waiting room ticket');
  });
});

describe('POST /api/orders for the products of a sale event', () => {
  const refusal = (productId: string, eventId: string) => ({
    error: 'waiting_room_required',
    message: `Product ${productId} is in sale event ${eventId}: join the waiting room first`,
    eventId,
  });

  it('is 403 naming the waiting room without an admission token, 202 with one', async () => {
    const shopper = randomUUID();
    const ordersOfShopper = async () =>
      Number((await database.db.writer.query<{ n: string }>('SELECT count(*) AS n FROM orders WHERE user_id = $1', [shopper])).rows[0].n);
    const without = await order(shopper, ids.fast);
    expect(without.statusCode).toBe(403);
    expect(without.json()).toEqual(refusal(ids.fast, 'fast-sale'));
    expect(await ordersOfShopper()).toBe(0);
    const token = await admitted('fast-sale', shopper);
    expect((await order(shopper, ids.fast, token)).statusCode).toBe(202);
    expect(await ordersOfShopper()).toBe(1);
  });

  it("is 403 with another shopper's token, an expired token, a token of another event or a ticket", async () => {
    const shopper = randomUUID();
    const someoneElse = await admitted('fast-sale', randomUUID());
    expect((await order(shopper, ids.fast, someoneElse)).json()).toEqual(refusal(ids.fast, 'fast-sale'));

    const signedAnHourAgo = createWaitingRoomPasses(ADMISSION_KEY, 300, () => Date.now() - HOUR);
    const expired = (await signedAnHourAgo.issueAdmission({ shopperId: shopper, eventId: 'fast-sale' })).admissionToken;
    const expiredAnswer = await order(shopper, ids.fast, expired);
    expect(expiredAnswer.statusCode).toBe(403);
    expect(expiredAnswer.json()).toEqual(refusal(ids.fast, 'fast-sale'));

    const passes = createWaitingRoomPasses(ADMISSION_KEY, 300);
    const otherEvent = (await passes.issueAdmission({ shopperId: shopper, eventId: 'slow-sale' })).admissionToken;
    expect((await order(shopper, ids.fast, otherEvent)).statusCode).toBe(403);
    const { ticket } = (await join('fast-sale', shopper)).json();
    expect((await order(shopper, ids.fast, ticket)).statusCode).toBe(403);

    const wrongKey = createWaitingRoomPasses('another-key-that-is-also-32-bytes-long!!', 300);
    const forged = (await wrongKey.issueAdmission({ shopperId: shopper, eventId: 'fast-sale' })).admissionToken;
    expect((await order(shopper, ids.fast, forged)).statusCode).toBe(403);
  });

  it('once the product is sold out: 409 to admitted shoppers, still 403 to shoppers without admission', async () => {
    await database.db.writer.query('UPDATE products SET stock = 1 WHERE id = $1', [ids.scarce]);
    const buyer = randomUUID();
    expect((await order(buyer, ids.scarce, await admitted('fast-sale', buyer))).statusCode).toBe(202);
    const late = randomUUID();
    const token = await admitted('fast-sale', late);
    // The database refuses the first; the stock gate (and its hot path before Fastify) the second.
    const [first, second] = [await order(late, ids.scarce, token), await order(late, ids.scarce, token)];
    expect([first.statusCode, second.statusCode]).toEqual([409, 409]);
    expect(second.body).toBe(first.body);
    const without = await order(randomUUID(), ids.scarce);
    expect([without.statusCode, without.json()]).toEqual([403, refusal(ids.scarce, 'fast-sale')]);
  });

  it('names the event of the product that needs admission in a mixed order', async () => {
    const shopper = randomUUID();
    const token = await admitted('fast-sale', shopper);
    const res = await client.request({
      method: 'POST',
      url: '/api/orders',
      headers: { ...(await auth(shopper)), 'idempotency-key': randomUUID(), 'surge-admission': token },
      payload: { items: [{ productId: ids.fast, quantity: 1 }, { productId: ids.slow, quantity: 1 }] },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual(refusal(ids.slow, 'slow-sale'));
  });

  it('sells products of events not open (scheduled or over) and of no event without a token', async () => {
    for (const productId of [ids.later, ids.past, ids.plain]) {
      expect((await order(randomUUID(), productId)).statusCode).toBe(202);
    }
  });
});

describe('OpenAPI', () => {
  it('documents the waiting-room routes and the Surge-Admission header', async () => {
    const document = (await client.request('/openapi.json')).json();
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/api/waiting-room', '/api/waiting-room/{eventId}', '/api/waiting-room/{eventId}/tickets', '/api/waiting-room/{eventId}/admission']),
    );
    expect(document.paths['/api/orders'].post.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'surge-admission', required: false })]),
    );
  });
});
