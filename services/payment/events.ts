// The `payment-result` event: the payment worker produces it (through the outbox), the order worker
// consumes it to mark the order PAID or PAYMENT_FAILED.
import { Type, type Static } from '@sinclair/typebox';

export const PAYMENT_RESULT = 'payment-result';

export const PaymentResultEvent = Type.Object({
  type: Type.Literal(PAYMENT_RESULT),
  orderId: Type.String({ format: 'uuid' }),
  paymentId: Type.String({ format: 'uuid' }),
  outcome: Type.Union([Type.Literal('SUCCEEDED'), Type.Literal('DECLINED')]),
  declineReason: Type.Optional(Type.String()),
  occurredAt: Type.String(),
});
export type PaymentResultEvent = Static<typeof PaymentResultEvent>;
