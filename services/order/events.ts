// The order service's events for the payment worker: `order-placed` and `order-cancelled`. The order
// service produces them (through the outbox), the payment worker consumes them. The producer owns the
// contract; consumers validate every message against it.
import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { UUID_PATTERN } from './cursor';

export const ORDER_PLACED = 'order-placed';

export const OrderPlacedEvent = Type.Object({
  type: Type.Literal(ORDER_PLACED),
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
  orderId: Type.String({ format: 'uuid' }),
  userId: Type.String({ format: 'uuid' }),
  totalCents: Type.Integer({ minimum: 0 }),
  currency: Type.String({ minLength: 3, maxLength: 3 }),
  occurredAt: Type.String(),
});
export type OrderCancelledEvent = Static<typeof OrderCancelledEvent>;

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
