// Property-based: fast-check sends generated valid and invalid bodies, query strings and headers to
// every operation of the document, on each fleet's routes (one app serving all of them, as `npm
// start` does). Every answer must be below 500, documented for its operation and match the document
// (document-checker.ts); afterwards the service still answers. Runs are bounded (NUM_RUNS per
// operation) so the file takes seconds, not minutes.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Document } from 'openapi-backend';
import { buildApp, type SurgeApp } from '../../platform/app';
import type { ServiceContext } from '../../platform/context';
import { createTestContext, createTestDatabase, type TestDatabase } from '../../test-support/testing';
import { addProduct } from '../../order/test/fixtures';
import { createDocumentChecker, type DocumentChecker } from './document-checker';
import { FLEETS } from './fleets';

const NUM_RUNS = 40;
const ALL_ROUTES = FLEETS.find(([name]) => name === 'local')![1];

let t: TestDatabase;
let ctx: ServiceContext;
let app: SurgeApp;
let checker: DocumentChecker;
let document: Document;
let token: string;
let productId: string;
let orderId: string;
/** A product of the open sale event, and this file's shopper's ticket in its waiting room. */
let saleProductId: string;
let ticket: string;
const SALE = 'fuzz-sale';

beforeAll(async () => {
  t = await createTestDatabase();
  saleProductId = (await addProduct(t.db.writer, { stock: 1_000_000 })).id;
  const now = Date.now();
  const sale = { eventId: SALE, name: SALE, startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3600_000).toISOString(), productIds: [saleProductId], inletPerSecond: 1000 };
  // Limits high enough that most generated requests reach the handlers (429s are checked too).
  ctx = await createTestContext({
    databaseUrl: t.url,
    env: { RATE_LIMIT_DEFAULT_BURST: '100000', RATE_LIMIT_ORDERS_PER_MINUTE: '100000', RATE_LIMIT_LOGIN_PER_MINUTE: '100000', RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE: '100000', RATE_LIMIT_REGISTER_PER_MINUTE: '100000', WAITING_ROOM_EVENTS: JSON.stringify([sale]) },
  });
  app = await buildApp(ctx, ALL_ROUTES);
  document = (await app.inject({ url: '/openapi.json' })).json();
  checker = await createDocumentChecker(document);
  const email = `fuzz-${randomUUID()}@example.com`;
  await app.inject({ method: 'POST', url: '/api/users', payload: { email, password: 'fuzz-password', name: 'Fuzz' } });
  token = (await app.inject({ method: 'POST', url: '/api/users/login', payload: { email, password: 'fuzz-password' } })).json().token;
  productId = (await addProduct(t.db.writer, { stock: 1_000_000 })).id;
  orderId = (
    await app.inject({ method: 'POST', url: '/api/orders', headers: { authorization: `Bearer ${token}`, 'idempotency-key': randomUUID() }, payload: { items: [{ productId, quantity: 1 }] } })
  ).json().id;
  ticket = (await app.inject({ method: 'POST', url: `/api/waiting-room/${SALE}/tickets`, headers: { authorization: `Bearer ${token}` } })).json().ticket;
}, 60000);

afterAll(async () => {
  await app?.close();
  await ctx?.close();
  await t?.drop();
});

/** Anything JSON-ish or not: the invalid side of every input. */
const junk = fc.oneof(fc.string({ maxLength: 40 }), fc.integer().map(String), fc.constantFrom('', ' ', '%', '%00', '../', '\u0000', 'null', '-1', '1e309', 'true'));
const uuidish = fc.oneof(fc.uuid(), fc.constant(randomUUID()), junk);
const email = fc.oneof(fc.emailAddress(), junk);
const password = fc.oneof(fc.string({ minLength: 8, maxLength: 30 }), junk);

/** A valid body per operation (so handlers run), or generated junk of any JSON shape. */
const validBodies: Record<string, () => fc.Arbitrary<unknown>> = {
  registerUser: () => fc.record({ email: fc.emailAddress(), password: fc.string({ minLength: 8, maxLength: 30 }), name: fc.string({ minLength: 1, maxLength: 20 }) }),
  logIn: () => fc.record({ email, password }),
  placeOrder: () =>
    fc.record({
      items: fc.array(fc.record({ productId: fc.oneof(fc.constant(productId), fc.constant(saleProductId), fc.uuid()), quantity: fc.integer({ min: -2, max: 1200 }) }), { maxLength: 4 }),
    }),
  cancelOrder: () => fc.constantFrom(undefined, {}),
  joinWaitingRoom: () => fc.constantFrom(undefined, {}),
  getAdmission: () => fc.record({ ticket: fc.oneof(fc.constant(ticket), junk) }),
};
const bodyFor = (operationId: string) =>
  fc.oneof(
    validBodies[operationId]?.() ?? fc.constant(undefined),
    fc.jsonValue({ maxDepth: 3 }),
    fc.record({ email, password, name: junk, items: fc.array(fc.record({ productId: uuidish, quantity: fc.jsonValue({ maxDepth: 1 }) }), { maxLength: 3 }) }, { requiredKeys: [] }),
  );

const contentType = fc.constantFrom(undefined, 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x');
const authorization = () => fc.constantFrom(undefined, `Bearer ${token}`, 'Bearer not.a.token', 'Basic dXNlcjpwYXNz', 'Bearer', `bearer ${token}x`);
const queryValue = fc.oneof(fc.integer({ min: -5, max: 200 }).map(String), fc.uuid(), junk);

interface Operation {
  method: string;
  path: string;
  operationId: string;
  parameters: Array<{ name: string; in: string }>;
}

function operations(): Operation[] {
  return Object.entries(document.paths!).flatMap(([path, methods]) =>
    Object.entries(methods!).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      operationId: (op as { operationId: string }).operationId,
      parameters: ((op as { parameters?: Operation['parameters'] }).parameters ?? []),
    })),
  );
}

/** A request for the operation: path ids known or not, documented and unknown query keys, any headers and body. */
function requestFor(op: Operation) {
  const pathIds = fc.oneof(fc.constantFrom(productId, orderId), uuidish);
  const queryNames = [...op.parameters.filter((p) => p.in === 'query').map((p) => p.name), 'unknown'];
  return fc.record({
    id: pathIds,
    eventId: fc.oneof(fc.constant(SALE), junk),
    query: fc.dictionary(fc.constantFrom(...queryNames), queryValue, { maxKeys: 3 }),
    authorization: authorization(),
    idempotencyKey: fc.option(fc.oneof(fc.uuid(), fc.string({ maxLength: 300 })), { nil: undefined }),
    contentType,
    body: bodyFor(op.operationId),
    rawBody: fc.option(fc.string({ maxLength: 60 }), { nil: undefined, freq: 4 }),
  });
}

describe('generated requests to every operation', () => {
  it('never answer 5xx or anything the document does not say', async () => {
    const ops = operations();
    expect(ops.length).toBe(15);
    for (const op of ops) {
      await fc.assert(
        fc.asyncProperty(requestFor(op), async (r) => {
          const path = op.path.replace('{id}', encodeURIComponent(r.id)).replace('{eventId}', encodeURIComponent(r.eventId));
          const qs = new URLSearchParams(r.query).toString();
          const url = qs ? `${path}?${qs}` : path;
          const headers: Record<string, string> = {};
          if (r.authorization) headers.authorization = r.authorization;
          if (r.idempotencyKey !== undefined) headers['idempotency-key'] = r.idempotencyKey;
          let payload: string | undefined;
          if (op.method !== 'GET') {
            payload = r.rawBody ?? (r.body === undefined ? undefined : JSON.stringify(r.body));
            if (payload !== undefined && r.contentType) headers['content-type'] = r.contentType;
          }
          const res = await app.inject({ method: op.method as 'GET' | 'POST', url, headers, payload });
          const verdict = checker.check(op.method, url, res, op.operationId);
          expect(res.statusCode).toBeLessThan(500);
          expect(verdict.problems).toEqual([]);
        }),
        { numRuns: NUM_RUNS },
      );
    }
    expect((await app.inject({ url: '/health/live' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/products?limit=1' })).statusCode).toBe(200);
  }, 300000);
});
