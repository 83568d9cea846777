// Use cases: a buyer reads the payments of their own orders (reader pool: payments are written by
// the worker, not by this caller, so a replica's milliseconds of lag are acceptable).
import type { Database } from '../../platform/db';
import { findPaymentOfUser, listPaymentsOfUser, type Payment } from '../data/payments';

export async function getPayment(db: Pick<Database, 'reader'>, userId: string, paymentId: string): Promise<Payment | null> {
  return findPaymentOfUser(db.reader, paymentId, userId);
}

export async function listMyPayments(
  db: Pick<Database, 'reader'>,
  userId: string,
  query: { orderId?: string; limit: number },
): Promise<{ items: Payment[] }> {
  return { items: await listPaymentsOfUser(db.reader, userId, query) };
}
