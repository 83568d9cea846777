// HTTP entry point of the payment service: a buyer reads the payments of their own orders.
import { requireUser } from '../platform/auth';
import type { SurgeApp } from '../platform/app';
import type { ServiceContext } from '../platform/context';
import { notFound } from '../platform/errors';
import { getPaymentSchema, listPaymentsSchema } from './schemas';
import { getPayment, listMyPayments } from './use-cases/read-payments';

export async function paymentRoutes(api: SurgeApp, host: ServiceContext): Promise<void> {
  // The payment service's tables, through its own role, whichever process hosts these routes.
  const ctx = host.as('payment');
  api.get('/api/payments', { schema: listPaymentsSchema, onRequest: requireUser }, async (request) =>
    listMyPayments(ctx.db, request.userId, request.query),
  );

  api.get('/api/payments/:id', { schema: getPaymentSchema, onRequest: requireUser }, async (request) => {
    const payment = await getPayment(ctx.db, request.userId, request.params.id);
    if (!payment) throw notFound(`payment ${request.params.id} does not exist`);
    return payment;
  });
}
