// The `order-placed` event: the order service produces it (through the outbox), the payment worker
// consumes it. The producer owns the contract; consumers validate every message against it.
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
