// One schema per payment-service route (input validation, response shape, OpenAPI).
import { Type } from '@sinclair/typebox';
import { errorResponse } from '../platform/openapi';

const Uuid = Type.String({ format: 'uuid' });

export const Payment = Type.Object({
  id: Uuid,
  orderId: Uuid,
  amountCents: Type.Integer({ minimum: 0 }),
  currency: Type.String(),
  status: Type.Union(
    [
      Type.Literal('PENDING'),
      Type.Literal('SUCCEEDED'),
      Type.Literal('DECLINED'),
      Type.Literal('CANCELLED'),
      Type.Literal('REFUNDED'),
    ],
    { description: 'CANCELLED: the order was cancelled before any charge; REFUNDED: charged, then refunded in full because the order was cancelled' },
  ),
  provider: Type.String(),
  providerReference: Type.Union([Type.String(), Type.Null()], { description: "the provider's reference of the charge" }),
  declineReason: Type.Union([Type.String(), Type.Null()]),
  refundReference: Type.Union([Type.String(), Type.Null()], { description: "the provider's reference of the refund" }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const listPaymentsSchema = {
  operationId: 'listMyPayments',
  tags: ['payments'],
  summary: "The caller's payments, newest first; only those of one order with ?orderId=",
  querystring: Type.Object(
    { orderId: Type.Optional(Uuid), limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'most payments returned' }) },
    { additionalProperties: false },
  ),
  response: { 200: Type.Object({ items: Type.Array(Payment) }, { description: "The caller's payments, newest first" }) },
};

export const getPaymentSchema = {
  operationId: 'getPayment',
  tags: ['payments'],
  summary: "One of the caller's payments (404 for anyone else's)",
  params: Type.Object({ id: Uuid }, { additionalProperties: false }),
  response: {
    200: Type.Object(Payment.properties, { description: 'The payment' }),
    404: errorResponse('The caller has no payment with this id'),
  },
};
