// One schema per order-service route: validates input (unknown fields rejected), types the handler,
// shapes the response and feeds the OpenAPI document.
import { Type } from '@sinclair/typebox';
import { ErrorBody, errorResponse } from '../platform/openapi';

const Uuid = Type.String({ format: 'uuid' });
const Cursor = Type.String({ minLength: 1, maxLength: 512, description: 'nextCursor of the previous page' });
/** The shortest catalog search: a trigram (products_name_trgm) needs 3 characters. */
export const SEARCH_MIN_LENGTH = 3;

const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'items per page' });
const Money = Type.Integer({ minimum: 0, description: 'amount in the smallest currency unit (cents)' });

export const Product = Type.Object({
  id: Uuid,
  sku: Type.String(),
  name: Type.String(),
  priceCents: Money,
  currency: Type.String({ minLength: 3, maxLength: 3 }),
  stock: Type.Integer({ minimum: 0, description: 'units left; may lag the truth by up to 2 s' }),
});

const OrderLine = Type.Object({
  productId: Uuid,
  quantity: Type.Integer({ minimum: 1 }),
  unitPriceCents: Money,
});

const OrderStatus = Type.Union([
  Type.Literal('PENDING'),
  Type.Literal('PAID'),
  Type.Literal('PAYMENT_FAILED'),
  Type.Literal('CANCELLED'),
]);

export const Order = Type.Object({
  id: Uuid,
  status: OrderStatus,
  totalCents: Money,
  currency: Type.String(),
  items: Type.Array(OrderLine),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

const PlacedOrder = Type.Object({
  id: Uuid,
  status: Type.Literal('PENDING'),
  totalCents: Money,
  currency: Type.String(),
  items: Type.Array(OrderLine),
  createdAt: Type.String({ format: 'date-time' }),
});

const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

export const listProductsSchema = {
  operationId: 'listProducts',
  tags: ['catalog'],
  summary: 'Browse the catalog, one keyset page at a time',
  querystring: Type.Object(
    {
      limit: Limit,
      cursor: Type.Optional(Cursor),
      // 3 characters at least: shorter patterns cannot use the trigram index and would scan the catalog.
      q: Type.Optional(Type.String({ minLength: SEARCH_MIN_LENGTH, maxLength: 100, description: `case-insensitive substring of the name, ${SEARCH_MIN_LENGTH} characters or more` })),
    },
    { additionalProperties: false },
  ),
  response: {
    200: Type.Object(
      { items: Type.Array(Product), nextCursor: Type.Union([Type.String(), Type.Null()]) },
      { description: 'A page of products in id order; nextCursor is null on the last page' },
    ),
  },
};

export const getProductSchema = {
  operationId: 'getProduct',
  tags: ['catalog'],
  summary: 'One product, served from the cache (X-Cache: HIT or MISS)',
  params: IdParams,
  response: {
    200: Type.Object(Product.properties, { description: 'The product' }),
    404: errorResponse('No product has this id'),
  },
};

export const placeOrderSchema = {
  operationId: 'placeOrder',
  tags: ['orders'],
  summary: 'Place an order, reserving its stock; replays the first response for a repeated Idempotency-Key',
  headers: Type.Object({
    'idempotency-key': Type.String({ minLength: 1, maxLength: 255, description: 'unique per intended order' }),
    'surge-admission': Type.Optional(
      Type.String({ description: 'admission token from the waiting room; required while a sale event of an ordered product is open (else 403 waiting_room_required)' }),
    ),
  }),
  body: Type.Object(
    {
      items: Type.Array(
        Type.Object(
          { productId: Uuid, quantity: Type.Integer({ minimum: 1, maximum: 1000 }) },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: 50 },
      ),
    },
    { additionalProperties: false },
  ),
  response: {
    202: Type.Object(PlacedOrder.properties, { description: 'The order, accepted and awaiting payment (or the first answer replayed)' }),
    403: Type.Object(
      { ...ErrorBody.properties, eventId: Type.String({ description: 'the sale event whose waiting room admits buyers of the product' }) },
      { additionalProperties: false, description: 'A product is in an open sale event and the request has no valid admission for this shopper (waiting_room_required)' },
    ),
    409: errorResponse('Not enough stock of a product, or stock changed while the order was placed'),
    422: errorResponse('The Idempotency-Key was already used with a different request body'),
  },
};

export const getOrderSchema = {
  operationId: 'getOrder',
  tags: ['orders'],
  summary: "One of the caller's orders (404 for anyone else's)",
  params: IdParams,
  response: {
    200: Type.Object(Order.properties, { description: 'The order' }),
    404: errorResponse('The caller has no order with this id'),
  },
};

// No body schema: Fastify would then require a body, and this route takes none (or `{}`), which
// routes.ts checks before validation.
export const cancelOrderSchema = {
  operationId: 'cancelOrder',
  tags: ['orders'],
  summary: 'Cancel a PENDING order, releasing its stock; a CANCELLED order replays 200, a PAID or PAYMENT_FAILED one is 409',
  description: 'No request body, or an empty JSON object.',
  params: IdParams,
  response: {
    200: Type.Object(Order.properties, { description: 'The cancelled order' }),
    404: errorResponse('The caller has no order with this id'),
    409: errorResponse('The order is PAID or PAYMENT_FAILED: only a PENDING order can be cancelled'),
  },
};

export const listOrdersSchema = {
  operationId: 'listMyOrders',
  tags: ['orders'],
  summary: "The caller's orders, newest first",
  querystring: Type.Object({ limit: Limit, cursor: Type.Optional(Cursor) }, { additionalProperties: false }),
  response: {
    200: Type.Object(
      { items: Type.Array(Order), nextCursor: Type.Union([Type.String(), Type.Null()]) },
      { description: "A page of the caller's orders; nextCursor is null on the last page" },
    ),
  },
};
