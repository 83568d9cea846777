// Every operation of the generated OpenAPI document, driven through `inject` to its success and to
// each documented error status, and every answer checked against the document by a maintained
// validator (openapi-backend): the status is documented for the operation, the content type is one
// the document lists for it, the body matches its schema and documented headers are present. The
// last test asserts that every (operation, status) pair of the document was exercised here, so a
// newly documented status fails this file until it has a case.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Document } from 'openapi-backend';
import { buildApp, type SurgeApp } from '../../platform/app';
import type { ServiceContext } from '../../platform/context';
import { createTestContext, createTestDatabase, type TestDatabase } from '../../test-support/testing';
import { addProduct } from '../../order/test/fixtures';
import { createDocumentChecker, type DocumentChecker } from './document-checker';
import { FLEETS } from './fleets';

const ALL_ROUTES = FLEETS.find(([name]) => name === 'local')![1];

interface Call {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  payload?: unknown;
}
type App = 'normal' | 'limited' | 'databaseDown' | 'redisDown';
interface Case {
  operationId: string;
  status: number;
  app?: App;
  /** Requests sent first (e.g. to spend a rate limit); their answers are validated too. */
  before?: Call[];
  call: Call;
}

let t: TestDatabase;
const contexts: ServiceContext[] = [];
const apps = {} as Record<App, SurgeApp>;
let document: Document;
let checker: DocumentChecker;
const exercised = new Set<string>();

let token: string;
let tokenOfDeletedUser: string;
let productId: string;
let orderId: string;
let paidOrderId: string;
let paymentId: string;
let saleProductId: string;
/** Tickets of this file's shopper: in the fast sale (admitted) and in the slow one (far back in the queue). */
let fastTicket: string;
let slowTicket: string;

const FAST_SALE = 'contract-sale';
const SLOW_SALE = 'contract-slow-sale';
const LATER_SALE = 'contract-later-sale';
/** Shoppers ahead of this file's shopper in the slow sale (admitted at 1/s: minutes of cases). */
const AHEAD_IN_SLOW_SALE = 300;

async function appWith(options: Parameters<typeof createTestContext>[0]): Promise<SurgeApp> {
  const ctx = await createTestContext(options);
  contexts.push(ctx);
  return buildApp(ctx, ALL_ROUTES);
}

/** Three sale events: open with a fast inlet, open with the slowest inlet, and not open yet. */
function saleEvents(): Record<string, string> {
  const now = Date.now();
  const event = (eventId: string, startsIn: number, inletPerSecond: number, productIds: string[]) => ({
    eventId,
    name: eventId,
    startsAt: new Date(now + startsIn).toISOString(),
    endsAt: new Date(now + startsIn + 3600_000).toISOString(),
    productIds,
    inletPerSecond,
  });
  return {
    WAITING_ROOM_EVENTS: JSON.stringify([
      event(FAST_SALE, -60_000, 100_000, [saleProductId]),
      event(SLOW_SALE, -60_000, 1, [randomUUID()]),
      event(LATER_SALE, 3600_000, 1, [randomUUID()]),
    ]),
  };
}

beforeAll(async () => {
  t = await createTestDatabase();
  saleProductId = (await addProduct(t.db.writer, { stock: 100 })).id;
  apps.normal = await appWith({ databaseUrl: t.url, env: saleEvents() });
  // Nothing listens there: the waiting room cannot reach its Redis.
  apps.redisDown = await appWith({ databaseUrl: t.url, redis: 'redis://127.0.0.1:1', env: saleEvents() });
  // One request per client and policy, so the second is a 429.
  apps.limited = await appWith({
    databaseUrl: t.url,
    env: { RATE_LIMIT_DEFAULT_BURST: '1', RATE_LIMIT_DEFAULT_PER_SECOND: '1', RATE_LIMIT_ORDERS_PER_MINUTE: '1', RATE_LIMIT_LOGIN_PER_MINUTE: '1', RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE: '1', RATE_LIMIT_REGISTER_PER_MINUTE: '1' },
  });
  // Nothing listens there: every query fails to connect.
  apps.databaseDown = await appWith({ databaseUrl: 'postgres://nobody@127.0.0.1:1/surge' });

  document = (await apps.normal.inject({ url: '/openapi.json' })).json();
  checker = await createDocumentChecker(document);

  const email = `contract-${randomUUID()}@example.com`;
  await apps.normal.inject({ method: 'POST', url: '/api/users', payload: { email, password: 'contract-pass', name: 'Contract' } });
  token = (await apps.normal.inject({ method: 'POST', url: '/api/users/login', payload: { email, password: 'contract-pass' } })).json().token;
  tokenOfDeletedUser = (await contexts[0].tokens.issue(randomUUID())).token;
  const userId = (await apps.normal.inject({ url: '/api/users/me', headers: auth() })).json().id;
  productId = (await addProduct(t.db.writer, { stock: 100 })).id;
  const place = (key: string) =>
    apps.normal.inject({ method: 'POST', url: '/api/orders', headers: { ...auth(), 'idempotency-key': key }, payload: { items: [{ productId, quantity: 1 }] } });
  orderId = (await place(randomUUID())).json().id;
  paidOrderId = (await place(randomUUID())).json().id;
  await t.db.writer.query(`UPDATE orders SET status = 'PAID' WHERE id = $1`, [paidOrderId]);
  const { rows } = await t.db.writer.query<{ id: string }>(
    `INSERT INTO payments (order_id, user_id, amount_cents, currency, status, provider, idempotency_key, provider_reference)
     VALUES ($1, $2, 1000, 'USD', 'SUCCEEDED', 'sandbox', $3, 'ref-1') RETURNING id`,
    [paidOrderId, userId, randomUUID()],
  );
  paymentId = rows[0].id;

  const join = async (eventId: string, bearer: string) =>
    (await apps.normal.inject({ method: 'POST', url: `/api/waiting-room/${eventId}/tickets`, headers: auth(bearer) })).json().ticket as string;
  fastTicket = await join(FAST_SALE, token);
  for (let i = 0; i < AHEAD_IN_SLOW_SALE; i++) await join(SLOW_SALE, (await contexts[0].tokens.issue(randomUUID())).token);
  slowTicket = await join(SLOW_SALE, token);
  // Let the fast sale's inlet reach this shopper (it advances every tick, 250 ms).
  await new Promise((resolve) => setTimeout(resolve, 1500));
}, 120000);

afterAll(async () => {
  for (const app of Object.values(apps)) await app?.close();
  for (const ctx of contexts) await ctx.close();
  await t?.drop();
});

const auth = (bearer = token) => ({ authorization: `Bearer ${bearer}` });
const json = (payload: unknown, headers: Record<string, string> = {}) => ({ payload, headers: { 'content-type': 'application/json', ...headers } });
const huge = () => ({ padding: 'x'.repeat(70 * 1024) });
const xml = { payload: '<order/>', headers: { 'content-type': 'application/xml' } };
const unknownId = () => randomUUID();
const newAccount = (): Call => ({ method: 'POST', url: '/api/users', ...json({ email: `new-${randomUUID()}@example.com`, password: 'long enough', name: 'N' }) });

/** The answer, validated against the document (fails the test naming the problem); returns its status. */
async function callAndValidate(app: FastifyInstance, call: Call): Promise<number> {
  const res = await app.inject({ method: call.method, url: call.url, headers: call.headers, payload: call.payload as string });
  const verdict = checker.check(call.method, call.url, res);
  expect(verdict.problems).toEqual([]);
  exercised.add(`${verdict.operationId} ${res.statusCode}`);
  return res.statusCode;
}

const cases = (): Case[] => [
  // registerUser
  { operationId: 'registerUser', status: 201, call: newAccount() },
  { operationId: 'registerUser', status: 400, call: { method: 'POST', url: '/api/users', ...json({ email: 'not-an-email', password: 'long enough', name: 'N' }) } },
  { operationId: 'registerUser', status: 409, before: [{ method: 'POST', url: '/api/users', ...json({ email: 'taken@example.com', password: 'long enough', name: 'N' }) }], call: { method: 'POST', url: '/api/users', ...json({ email: 'TAKEN@example.com', password: 'long enough', name: 'N' }) } },
  { operationId: 'registerUser', status: 413, call: { method: 'POST', url: '/api/users', ...json(huge()) } },
  { operationId: 'registerUser', status: 415, call: { method: 'POST', url: '/api/users', ...xml } },
  { operationId: 'registerUser', status: 429, app: 'limited', before: [newAccount()], call: newAccount() },
  { operationId: 'registerUser', status: 503, app: 'databaseDown', call: { method: 'POST', url: '/api/users', ...json({ email: 'down@example.com', password: 'long enough', name: 'N' }) } },
  // logIn
  { operationId: 'logIn', status: 200, before: [{ method: 'POST', url: '/api/users', ...json({ email: 'login@example.com', password: 'long enough', name: 'N' }) }], call: { method: 'POST', url: '/api/users/login', ...json({ email: 'login@example.com', password: 'long enough' }) } },
  { operationId: 'logIn', status: 400, call: { method: 'POST', url: '/api/users/login', ...json({ email: 'login@example.com' }) } },
  { operationId: 'logIn', status: 401, call: { method: 'POST', url: '/api/users/login', ...json({ email: 'login@example.com', password: 'wrong password' }) } },
  { operationId: 'logIn', status: 413, call: { method: 'POST', url: '/api/users/login', ...json(huge()) } },
  { operationId: 'logIn', status: 415, call: { method: 'POST', url: '/api/users/login', ...xml } },
  { operationId: 'logIn', status: 429, app: 'limited', before: [{ method: 'POST', url: '/api/users/login', ...json({ email: 'l@example.com', password: 'p' }) }], call: { method: 'POST', url: '/api/users/login', ...json({ email: 'l@example.com', password: 'p' }) } },
  { operationId: 'logIn', status: 503, app: 'databaseDown', call: { method: 'POST', url: '/api/users/login', ...json({ email: 'login@example.com', password: 'long enough' }) } },
  // getMyProfile
  { operationId: 'getMyProfile', status: 200, call: { method: 'GET', url: '/api/users/me', headers: auth() } },
  { operationId: 'getMyProfile', status: 401, call: { method: 'GET', url: '/api/users/me', headers: auth('not.a.token') } },
  { operationId: 'getMyProfile', status: 404, call: { method: 'GET', url: '/api/users/me', headers: auth(tokenOfDeletedUser) } },
  { operationId: 'getMyProfile', status: 429, app: 'limited', before: [{ method: 'GET', url: '/api/users/me', headers: auth() }], call: { method: 'GET', url: '/api/users/me', headers: auth() } },
  { operationId: 'getMyProfile', status: 503, app: 'databaseDown', call: { method: 'GET', url: '/api/users/me', headers: auth() } },
  // listProducts
  { operationId: 'listProducts', status: 200, call: { method: 'GET', url: '/api/products?limit=2' } },
  { operationId: 'listProducts', status: 400, call: { method: 'GET', url: '/api/products?limit=1000' } },
  { operationId: 'listProducts', status: 429, app: 'limited', before: [{ method: 'GET', url: '/api/products' }], call: { method: 'GET', url: '/api/products' } },
  { operationId: 'listProducts', status: 503, app: 'databaseDown', call: { method: 'GET', url: '/api/products' } },
  // getProduct
  { operationId: 'getProduct', status: 200, call: { method: 'GET', url: `/api/products/${productId}` } },
  { operationId: 'getProduct', status: 400, call: { method: 'GET', url: '/api/products/not-a-uuid' } },
  { operationId: 'getProduct', status: 404, call: { method: 'GET', url: `/api/products/${unknownId()}` } },
  { operationId: 'getProduct', status: 429, app: 'limited', before: [{ method: 'GET', url: `/api/products/${productId}` }], call: { method: 'GET', url: `/api/products/${productId}` } },
  { operationId: 'getProduct', status: 503, app: 'databaseDown', call: { method: 'GET', url: `/api/products/${unknownId()}` } },
  // placeOrder
  ...placeOrderCases(),
  // listMyOrders
  { operationId: 'listMyOrders', status: 200, call: { method: 'GET', url: '/api/orders?limit=5', headers: auth() } },
  { operationId: 'listMyOrders', status: 400, call: { method: 'GET', url: '/api/orders?cursor=forged', headers: auth() } },
  { operationId: 'listMyOrders', status: 401, call: { method: 'GET', url: '/api/orders' } },
  { operationId: 'listMyOrders', status: 429, app: 'limited', before: [{ method: 'GET', url: '/api/orders', headers: auth() }], call: { method: 'GET', url: '/api/orders', headers: auth() } },
  { operationId: 'listMyOrders', status: 503, app: 'databaseDown', call: { method: 'GET', url: '/api/orders', headers: auth() } },
  // getOrder
  { operationId: 'getOrder', status: 200, call: { method: 'GET', url: `/api/orders/${orderId}`, headers: auth() } },
  { operationId: 'getOrder', status: 400, call: { method: 'GET', url: '/api/orders/42', headers: auth() } },
  { operationId: 'getOrder', status: 401, call: { method: 'GET', url: `/api/orders/${orderId}` } },
  { operationId: 'getOrder', status: 404, call: { method: 'GET', url: `/api/orders/${unknownId()}`, headers: auth() } },
  { operationId: 'getOrder', status: 429, app: 'limited', before: [{ method: 'GET', url: `/api/orders/${orderId}`, headers: auth() }], call: { method: 'GET', url: `/api/orders/${orderId}`, headers: auth() } },
  { operationId: 'getOrder', status: 503, app: 'databaseDown', call: { method: 'GET', url: `/api/orders/${orderId}`, headers: auth() } },
  // cancelOrder
  { operationId: 'cancelOrder', status: 200, call: { method: 'POST', url: `/api/orders/${orderId}/cancel`, headers: auth() } },
  { operationId: 'cancelOrder', status: 400, call: { method: 'POST', url: `/api/orders/${orderId}/cancel`, ...json({ reason: 'why' }, auth()) } },
  { operationId: 'cancelOrder', status: 401, call: { method: 'POST', url: `/api/orders/${orderId}/cancel` } },
  { operationId: 'cancelOrder', status: 404, call: { method: 'POST', url: `/api/orders/${unknownId()}/cancel`, headers: auth() } },
  { operationId: 'cancelOrder', status: 409, call: { method: 'POST', url: `/api/orders/${paidOrderId}/cancel`, headers: auth() } },
  { operationId: 'cancelOrder', status: 413, call: { method: 'POST', url: `/api/orders/${orderId}/cancel`, ...json(huge(), auth()) } },
  { operationId: 'cancelOrder', status: 415, call: { method: 'POST', url: `/api/orders/${orderId}/cancel`, payload: xml.payload, headers: { ...xml.headers, ...auth() } } },
  { operationId: 'cancelOrder', status: 429, app: 'limited', before: [{ method: 'POST', url: `/api/orders/${unknownId()}/cancel`, headers: auth() }], call: { method: 'POST', url: `/api/orders/${unknownId()}/cancel`, headers: auth() } },
  { operationId: 'cancelOrder', status: 503, app: 'databaseDown', call: { method: 'POST', url: `/api/orders/${orderId}/cancel`, headers: auth() } },
  // the waiting room
  { operationId: 'listSaleEvents', status: 200, call: { method: 'GET', url: '/api/waiting-room' } },
  { operationId: 'listSaleEvents', status: 429, app: 'limited', before: [{ method: 'GET', url: '/api/waiting-room' }], call: { method: 'GET', url: '/api/waiting-room' } },
  { operationId: 'getWaitingRoomStatus', status: 200, call: { method: 'GET', url: `/api/waiting-room/${FAST_SALE}` } },
  { operationId: 'getWaitingRoomStatus', status: 400, call: { method: 'GET', url: '/api/waiting-room/not!an!id' } },
  { operationId: 'getWaitingRoomStatus', status: 404, call: { method: 'GET', url: '/api/waiting-room/no-such-sale' } },
  { operationId: 'getWaitingRoomStatus', status: 429, app: 'limited', before: [{ method: 'GET', url: `/api/waiting-room/${FAST_SALE}` }], call: { method: 'GET', url: `/api/waiting-room/${FAST_SALE}` } },
  { operationId: 'getWaitingRoomStatus', status: 503, app: 'redisDown', call: { method: 'GET', url: `/api/waiting-room/${FAST_SALE}` } },
  { operationId: 'joinWaitingRoom', status: 200, call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/tickets`, headers: auth() } },
  { operationId: 'joinWaitingRoom', status: 201, call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/tickets`, headers: auth(tokenOfDeletedUser) } },
  { operationId: 'joinWaitingRoom', status: 400, call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/tickets`, ...json({ please: 'let me in' }, auth()) } },
  { operationId: 'joinWaitingRoom', status: 401, call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/tickets` } },
  { operationId: 'joinWaitingRoom', status: 404, call: { method: 'POST', url: '/api/waiting-room/no-such-sale/tickets', headers: auth() } },
  { operationId: 'joinWaitingRoom', status: 409, call: { method: 'POST', url: `/api/waiting-room/${LATER_SALE}/tickets`, headers: auth() } },
  { operationId: 'joinWaitingRoom', status: 413, call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/tickets`, ...json(huge(), auth()) } },
  { operationId: 'joinWaitingRoom', status: 415, call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/tickets`, payload: xml.payload, headers: { ...xml.headers, ...auth() } } },
  { operationId: 'joinWaitingRoom', status: 429, app: 'limited', before: [{ method: 'POST', url: `/api/waiting-room/${FAST_SALE}/tickets`, headers: auth() }], call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/tickets`, headers: auth() } },
  { operationId: 'joinWaitingRoom', status: 503, app: 'redisDown', call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/tickets`, headers: auth() } },
  { operationId: 'getAdmission', status: 200, call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/admission`, ...json({ ticket: fastTicket }, auth()) } },
  { operationId: 'getAdmission', status: 400, call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/admission`, ...json({}, auth()) } },
  { operationId: 'getAdmission', status: 401, call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/admission`, ...json({ ticket: fastTicket }) } },
  { operationId: 'getAdmission', status: 403, call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/admission`, ...json({ ticket: fastTicket }, auth(tokenOfDeletedUser)) } },
  { operationId: 'getAdmission', status: 404, call: { method: 'POST', url: '/api/waiting-room/no-such-sale/admission', ...json({ ticket: fastTicket }, auth()) } },
  { operationId: 'getAdmission', status: 409, call: { method: 'POST', url: `/api/waiting-room/${SLOW_SALE}/admission`, ...json({ ticket: slowTicket }, auth()) } },
  { operationId: 'getAdmission', status: 413, call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/admission`, ...json(huge(), auth()) } },
  { operationId: 'getAdmission', status: 415, call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/admission`, payload: xml.payload, headers: { ...xml.headers, ...auth() } } },
  { operationId: 'getAdmission', status: 429, app: 'limited', before: [{ method: 'POST', url: `/api/waiting-room/${FAST_SALE}/admission`, ...json({ ticket: fastTicket }, auth()) }], call: { method: 'POST', url: `/api/waiting-room/${FAST_SALE}/admission`, ...json({ ticket: fastTicket }, auth()) } },
  { operationId: 'getAdmission', status: 503, app: 'redisDown', call: { method: 'POST', url: `/api/waiting-room/${SLOW_SALE}/admission`, ...json({ ticket: slowTicket }, auth()) } },
  // listMyPayments
  { operationId: 'listMyPayments', status: 200, call: { method: 'GET', url: `/api/payments?orderId=${paidOrderId}`, headers: auth() } },
  { operationId: 'listMyPayments', status: 400, call: { method: 'GET', url: '/api/payments?orderId=7', headers: auth() } },
  { operationId: 'listMyPayments', status: 401, call: { method: 'GET', url: '/api/payments' } },
  { operationId: 'listMyPayments', status: 429, app: 'limited', before: [{ method: 'GET', url: '/api/payments', headers: auth() }], call: { method: 'GET', url: '/api/payments', headers: auth() } },
  { operationId: 'listMyPayments', status: 503, app: 'databaseDown', call: { method: 'GET', url: '/api/payments', headers: auth() } },
  // getPayment
  { operationId: 'getPayment', status: 200, call: { method: 'GET', url: `/api/payments/${paymentId}`, headers: auth() } },
  { operationId: 'getPayment', status: 400, call: { method: 'GET', url: '/api/payments/x', headers: auth() } },
  { operationId: 'getPayment', status: 401, call: { method: 'GET', url: `/api/payments/${paymentId}` } },
  { operationId: 'getPayment', status: 404, call: { method: 'GET', url: `/api/payments/${unknownId()}`, headers: auth() } },
  { operationId: 'getPayment', status: 429, app: 'limited', before: [{ method: 'GET', url: `/api/payments/${paymentId}`, headers: auth() }], call: { method: 'GET', url: `/api/payments/${paymentId}`, headers: auth() } },
  { operationId: 'getPayment', status: 503, app: 'databaseDown', call: { method: 'GET', url: `/api/payments/${paymentId}`, headers: auth() } },
];

function placeOrderCases(): Case[] {
  const order = (items: unknown, key = randomUUID()): Call => ({ method: 'POST', url: '/api/orders', ...json({ items }, { ...auth(), 'idempotency-key': key }) });
  const reused = randomUUID();
  return [
    { operationId: 'placeOrder', status: 202, call: order([{ productId, quantity: 1 }]) },
    { operationId: 'placeOrder', status: 400, call: order([{ productId, quantity: 0 }]) },
    { operationId: 'placeOrder', status: 403, call: order([{ productId: saleProductId, quantity: 1 }]) },
    { operationId: 'placeOrder', status: 401, call: { method: 'POST', url: '/api/orders', ...json({ items: [{ productId, quantity: 1 }] }, { 'idempotency-key': 'k' }) } },
    { operationId: 'placeOrder', status: 409, call: order([{ productId, quantity: 1000 }]) },
    { operationId: 'placeOrder', status: 413, call: order([{ productId, quantity: 1, ...huge() }]) },
    { operationId: 'placeOrder', status: 415, call: { method: 'POST', url: '/api/orders', payload: xml.payload, headers: { ...xml.headers, ...auth(), 'idempotency-key': 'k' } } },
    { operationId: 'placeOrder', status: 422, before: [order([{ productId, quantity: 1 }], reused)], call: order([{ productId, quantity: 2 }], reused) },
    { operationId: 'placeOrder', status: 429, app: 'limited', before: [order([{ productId, quantity: 1 }])], call: order([{ productId, quantity: 1 }]) },
    { operationId: 'placeOrder', status: 503, app: 'databaseDown', call: order([{ productId, quantity: 1 }]) },
  ];
}

describe('every documented answer of every operation matches the document', () => {
  // Built lazily: the cases need the ids made in beforeAll.
  it('answers each case with its documented status, content type, body and headers', async () => {
    const failures: string[] = [];
    for (const c of cases()) {
      const app = apps[c.app ?? 'normal'];
      // The limited app refills one token a second: on a busy machine a second can pass between the
      // request that spends it and the call, so a pair that did not get its 429 is sent again (3 tries).
      let status = 0;
      for (let attempt = 1; attempt <= (c.app === 'limited' ? 3 : 1) && status !== c.status; attempt++) {
        for (const call of c.before ?? []) await callAndValidate(app, call);
        status = await callAndValidate(app, c.call);
      }
      if (status !== c.status) failures.push(`${c.operationId}: expected ${c.status}, got ${status} for ${c.call.method} ${c.call.url}`);
    }
    expect(failures).toEqual([]);
  }, 180000);

  it('exercised every (operation, status) pair the document lists', () => {
    const documented = Object.values(document.paths!)
      .flatMap((operations) => Object.values(operations!) as Array<{ operationId: string; responses: Record<string, unknown> }>)
      .flatMap((operation) => Object.keys(operation.responses).map((status) => `${operation.operationId} ${status}`));
    expect([...exercised].sort()).toEqual(expect.arrayContaining(documented.sort()));
    expect(documented.sort()).toEqual(expect.arrayContaining([...exercised].sort()));
  });

  it.each(FLEETS.filter(([name]) => name !== 'local'))('the %s fleet documents its operations exactly as the local app does', async (_name, plugins) => {
    const ctx = await createTestContext({ databaseUrl: t.url });
    const app = await buildApp(ctx, plugins);
    try {
      const own = (await app.inject({ url: '/openapi.json' })).json() as Document;
      for (const [path, operations] of Object.entries(own.paths!)) expect(operations).toEqual(document.paths![path]);
      expect(own.servers).toEqual(document.servers);
      expect(own.components).toEqual(document.components);
    } finally {
      await app.close();
      await ctx.close();
    }
  });
});
