// HTTP entry point of the order service: catalog reads, the buyer's orders and the sale events'
// waiting room (./waiting-room, which gates orders for the products of an open event). Handlers only map
// HTTP to the use cases; schemas live in ./schemas.
import { performance } from 'node:perf_hooks';
import type { FastifyReply, onResponseHookHandler } from 'fastify';
import { requireUser } from '../platform/auth';
import { JSON_CONTENT_TYPE, replayHotPathBody, type HotPath, type HotPathKit, type SurgeApp } from '../platform/app';
import type { CacheEncoder, CacheRead } from '../platform/cache';
import type { ServiceContext } from '../platform/context';
import { notFound } from '../platform/errors';
import { rateLimitHeaders } from '../platform/rate-limit/headers';
import { addressIdentity, rateLimitKey } from '../platform/rate-limit/limiter';
import {
  cancelOrderSchema,
  getOrderSchema,
  getProductSchema,
  listOrdersSchema,
  listProductsSchema,
  placeOrderSchema,
} from './schemas';
import { cancelOrder } from './use-cases/cancel-order';
import type { Product } from './data/products';
import { browseProducts, getProduct, PRODUCT_MAX_AGE_SECONDS, serveCachedProduct } from './use-cases/read-catalog';
import { getOrder, listMyOrders } from './use-cases/read-orders';
import { placeOrder } from './use-cases/place-order';
import { requireNoBody } from './no-body';
import { createServiceWaitingRoom, requireAdmission, waitingRoomRoutes } from './waiting-room/routes';
import { createStockGate } from './stock-gate';
import { PLACE_ORDER_ROUTE, soldOutHotPath } from './sold-out-hot-path';

const PUBLIC_CACHE_CONTROL = `public, max-age=${PRODUCT_MAX_AGE_SECONDS}`;
/** What a product answer says of the cache, from the route and the hot path alike. */
const CACHE_HEADERS = {
  hit: { 'x-cache': 'HIT', 'cache-control': PUBLIC_CACHE_CONTROL },
  miss: { 'x-cache': 'MISS', 'cache-control': PUBLIC_CACHE_CONTROL },
} as const;

export async function orderRoutes(api: SurgeApp, host: ServiceContext): Promise<void> {
  // The order service's tables, through its own role, whichever process hosts these routes.
  const ctx = host.as('order');
  const gate = createStockGate({
    redis: ctx.redis,
    onRedisError: (err) => ctx.logger.debug({ err }, 'stock gate: Redis not asked; the database decides'),
  });
  api.addHook('onClose', async () => gate.stop());
  api.get('/api/products', { schema: listProductsSchema }, async (request, reply) => {
    const page = await browseProducts(ctx, request.query);
    reply.header('cache-control', PUBLIC_CACHE_CONTROL);
    return page;
  });

  // Not an async handler: a read the L1 answers is sent without a promise (the hot path of a sale).
  api.get('/api/products/:id', { schema: getProductSchema }, (request, reply) => {
    const respond = ({ value: product, hit, encoded }: CacheRead<Product>) => {
      // Set before a possible 404 too, so CloudFront does not keep a "missing" answer for long.
      reply.headers(hit ? CACHE_HEADERS.hit : CACHE_HEADERS.miss);
      if (!product) throw notFound(`product ${request.params.id} does not exist`);
      if (encoded === undefined) return product;
      // The body this route's serializer rendered when the cache was filled: Fastify sends a string
      // with a JSON content type as it is, without serializing the product again per request.
      sendSerialized(reply, encoded);
      return undefined;
    };
    // The route's own response serializer, so the cached body is byte for byte what Fastify would send.
    const serialize = reply.getSerializationFunction('200') as CacheEncoder<Product> | undefined;
    const read = getProduct(ctx, request.params.id, serialize);
    return read instanceof Promise ? read.then(respond) : respond(read);
  });
  api.addHotPath(PRODUCT_ROUTE, (kit) => cachedProductHotPath(ctx, kit));

  // The waiting room of the sale events (./waiting-room): its routes, and the gate of their products.
  const room = createServiceWaitingRoom(ctx);
  await waitingRoomRoutes(api, room);

  const admission = requireAdmission(room);
  // The inlet's overload signal: this process's order latency (waiting-room.ts).
  const recordOrderLatency: onResponseHookHandler = (_request, reply, done) => {
    room.recordOrderLatency(reply.elapsedTime);
    done();
  };
  api.post(
    '/api/orders',
    {
      schema: placeOrderSchema,
      onRequest: requireUser,
      // The body the sold-out hot path read, when it hands the request over.
      preParsing: replayHotPathBody,
      preHandler: admission,
      onResponse: recordOrderLatency,
      config: { rateLimit: { policy: 'orders' } },
    },
    async (request, reply) => {
      const { order, replayed } = await placeOrder(
        ctx.db,
        { userId: request.userId, idempotencyKey: request.headers['idempotency-key'], items: request.body.items },
        gate,
      );
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(202).send(order);
    },
  );

  // A sold-out stampede's refusals, answered before Fastify (./sold-out-hot-path).
  api.addHotPath(
    PLACE_ORDER_ROUTE,
    (kit) => soldOutHotPath(ctx, kit, { gate, room }),
    [requireUser, admission, recordOrderLatency],
  );

  api.get('/api/orders/:id', { schema: getOrderSchema, onRequest: requireUser }, async (request) => {
    const order = await getOrder(ctx.db, request.userId, request.params.id);
    if (!order) throw notFound(`order ${request.params.id} does not exist`);
    return order;
  });

  // Shares the 'orders' bucket with placing orders: both are the buyer's order writes.
  api.post(
    '/api/orders/:id/cancel',
    {
      schema: cancelOrderSchema,
      onRequest: requireUser,
      preValidation: requireNoBody,
      config: { rateLimit: { policy: 'orders' } },
    },
    async (request, reply) => {
      const { order, replayed } = await cancelOrder(ctx.db, { userId: request.userId, orderId: request.params.id }, gate);
      if (replayed) reply.header('idempotent-replayed', 'true');
      return order;
    },
  );

  api.get('/api/orders', { schema: listOrdersSchema, onRequest: requireUser }, async (request) =>
    listMyOrders(ctx.db, request.userId, request.query),
  );
}

const PRODUCT_PATH = '/api/products/';
const PRODUCT_ROUTE = `GET ${PRODUCT_PATH}:id`;
/** A UUID's length: longer or shorter ids (and any query string or %-escape) go to the route. */
const PRODUCT_URL_LENGTH = PRODUCT_PATH.length + 36;

/**
 * The product read of a sale, answered before Fastify: `GET /api/products/:id` whose product the L1
 * holds with its rendered body, from a client without a Bearer token whose rate-limit token this
 * process holds. The response is the route's, byte for byte in the body and header for header (the
 * HTTP tests pass through both). Anything else - a miss, a missing product, a query string, a token
 * to verify, a lease to renew, a body, HEAD - goes to the route as if this did not exist. Fastify's
 * per-request work (request and reply objects, routing, three hook phases) was most of the cost of
 * such a read: see docs/BENCHMARKS.md.
 */
function cachedProductHotPath(ctx: ServiceContext, kit: HotPathKit): HotPath {
  const policy = ctx.config.rateLimits.default;
  const countResponse = kit.countResponse(PRODUCT_ROUTE);
  return (req, res) => {
    const url = req.url!;
    if (req.method !== 'GET' || url.length !== PRODUCT_URL_LENGTH || !url.startsWith(PRODUCT_PATH)) return false;
    const { headers } = req;
    if (headers.authorization !== undefined || headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined) return false;
    const started = performance.now();
    return serveCachedProduct(ctx, url.slice(PRODUCT_PATH.length), ({ encoded }) => {
      if (encoded === undefined) return false;
      const limit = ctx.limiter.takeLeased(rateLimitKey(policy, addressIdentity(kit.clientIp(req))), policy);
      if (!limit) return false;
      // Named one by one, not spread: spreading both objects into this literal cost ~10 us per request
      // (measured side by side), as much as the rest of the hot path.
      const limitHeaders = rateLimitHeaders(policy, limit);
      res.writeHead(
        200,
        kit.withCommonHeaders(req, {
          'ratelimit-policy': limitHeaders['ratelimit-policy'],
          ratelimit: limitHeaders.ratelimit,
          'x-cache': CACHE_HEADERS.hit['x-cache'],
          'cache-control': CACHE_HEADERS.hit['cache-control'],
          'content-type': JSON_CONTENT_TYPE,
          'content-length': Buffer.byteLength(encoded),
        }),
      );
      res.end(encoded);
      countResponse(200, performance.now() - started);
      return true;
    });
  };
}

/** Sends JSON that is already serialized: Fastify passes a string with a JSON content type through as it is. */
function sendSerialized(reply: FastifyReply, body: string): void {
  reply.type(JSON_CONTENT_TYPE).send(body);
}
