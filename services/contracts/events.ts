// The events the services send each other through SQS, in one module both sides import: the order
// service's `order-placed` and `order-cancelled` (consumed by the payment worker) and the payment
// service's `payment-result` (consumed by the order worker). Each event names its contract version
// (EVENT_VERSION); a consumer validates every message against the schema before acting on it, and a
// change that old consumers could not read gets a new version, never an edit of this one.
// No service imports another service's folder: what they share about events is here.
import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * The contract version of every event below. Messages from before versions were written carry none and
 * read as version 1, so messages in flight during the deployment that added the field stay valid.
 */
export const EVENT_VERSION = 1;
const version = Type.Optional(Type.Literal(EVENT_VERSION));

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const ORDER_PLACED = 'order-placed';

export const OrderPlacedEvent = Type.Object({
  type: Type.Literal(ORDER_PLACED),
  version,
  orderId: Type.String({ format: 'uuid' }),
  userId: Type.String({ format: 'uuid' }),
  totalCents: Type.Integer({ minimum: 0 }),
  currency: Type.String({ minLength: 3, maxLength: 3 }),
  items: Type.Array(
    Type.Object({
      productId: Type.String({ format: 'uuid' }),
      quantity: Type.Integer({ minimum: 1 }),
      unitPriceCents: Type.Integer({ minimum: 0 }),
    }),
    { minItems: 1 },
  ),
  occurredAt: Type.String(),
});
export type OrderPlacedEvent = Static<typeof OrderPlacedEvent>;

/**
 * A PENDING order was cancelled by its buyer (stock already back on the shelf). It travels on the
 * `order-placed` outbox topic and queue, which carry every order event for the payment worker, so
 * cancelling needs no new queue. SQS does not keep order: it may arrive before its `order-placed`.
 * Amount and currency let the payment worker record a never-charged payment when it comes first.
 */
export const ORDER_CANCELLED = 'order-cancelled';

export const OrderCancelledEvent = Type.Object({
  type: Type.Literal(ORDER_CANCELLED),
  version,
  orderId: Type.String({ format: 'uuid' }),
  userId: Type.String({ format: 'uuid' }),
  totalCents: Type.Integer({ minimum: 0 }),
  currency: Type.String({ minLength: 3, maxLength: 3 }),
  occurredAt: Type.String(),
});
export type OrderCancelledEvent = Static<typeof OrderCancelledEvent>;

/** The payment worker's verdict on a placed order; the order worker marks the order PAID or PAYMENT_FAILED. */
export const PAYMENT_RESULT = 'payment-result';

export const PaymentResultEvent = Type.Object({
  type: Type.Literal(PAYMENT_RESULT),
  version,
  orderId: Type.String({ format: 'uuid' }),
  paymentId: Type.String({ format: 'uuid' }),
  outcome: Type.Union([Type.Literal('SUCCEEDED'), Type.Literal('DECLINED')]),
  declineReason: Type.Optional(Type.String()),
  occurredAt: Type.String(),
});
export type PaymentResultEvent = Static<typeof PaymentResultEvent>;

const OrderEventType = Type.Object({ type: Type.Union([Type.Literal(ORDER_PLACED), Type.Literal(ORDER_CANCELLED)]) });

if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (value) => UUID_PATTERN.test(value));

/** Why a queue message cannot be processed; the handler rethrows it so SQS redrives it to the DLQ. */
export class MalformedEventError extends Error {}

/** Parses a queue message body against an event schema, naming the first problem when it does not fit. */
export function parseEvent<S extends TSchema>(schema: S, body: string | undefined): Static<S> {
  let value: unknown;
  try {
    value = JSON.parse(body ?? '');
  } catch {
    throw new MalformedEventError('message body is not JSON');
  }
  if (!Value.Check(schema, value)) {
    const first = Value.Errors(schema, value).First();
    throw new MalformedEventError(`message does not match the event schema: ${first?.path || '/'} ${first?.message ?? ''}`.trim());
  }
  return value;
}

/** Parses a message of the `order-placed` queue: its `type` picks the schema it must then match. */
export function parseOrderEvent(body: string | undefined): OrderPlacedEvent | OrderCancelledEvent {
  const { type } = parseEvent(OrderEventType, body);
  return type === ORDER_PLACED ? parseEvent(OrderPlacedEvent, body) : parseEvent(OrderCancelledEvent, body);
}
