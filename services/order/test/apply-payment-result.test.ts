// Use-case tests for applyPaymentResult: settling an order is idempotent, and a failed payment puts
// the stock back exactly once.
import { randomUUID } from 'node:crypto';
import { createTestDatabase } from '../../platform/testing';
import type { PaymentResultEvent } from '../../payment/events';
import { applyPaymentResult, UnknownOrderError } from '../use-cases/apply-payment-result';
import { placeOrder } from '../use-cases/place-order';
import { addProduct, newUserId, stockOf } from './fixtures';

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb?.drop();
});

async function pendingOrderOf(productId: string, quantity: number): Promise<string> {
  const { order } = await placeOrder(testDb.db, {
    userId: newUserId(),
    idempotencyKey: randomUUID(),
    items: [{ productId, quantity }],
  });
  return order.id;
}

const result = (orderId: string, outcome: 'SUCCEEDED' | 'DECLINED'): PaymentResultEvent => ({
  type: 'payment-result',
  orderId,
  paymentId: randomUUID(),
  outcome,
  occurredAt: new Date().toISOString(),
});

const statusOf = async (orderId: string) =>
  (await testDb.db.writer.query('SELECT status FROM orders WHERE id = $1', [orderId])).rows[0].status;

describe('applyPaymentResult', () => {
  it('marks the order PAID once and keeps the stock taken', async () => {
    const product = await addProduct(testDb.db.writer, { stock: 5 });
    const orderId = await pendingOrderOf(product.id, 2);
    expect(await applyPaymentResult(testDb.db, result(orderId, 'SUCCEEDED'))).toBe('settled');
    expect(await applyPaymentResult(testDb.db, result(orderId, 'SUCCEEDED'))).toBe('already-settled');
    expect(await statusOf(orderId)).toBe('PAID');
    expect(await stockOf(testDb.db.writer, product.id)).toBe(3);
  });

  it('marks the order PAYMENT_FAILED and releases its stock exactly once, even when applied concurrently', async () => {
    const product = await addProduct(testDb.db.writer, { stock: 5 });
    const orderId = await pendingOrderOf(product.id, 2);
    const outcomes = await Promise.all(Array.from({ length: 4 }, () => applyPaymentResult(testDb.db, result(orderId, 'DECLINED'))));
    expect(outcomes.filter((o) => o === 'settled')).toHaveLength(1);
    expect(await statusOf(orderId)).toBe('PAYMENT_FAILED');
    expect(await stockOf(testDb.db.writer, product.id)).toBe(5);
  });

  it('throws for an order that does not exist, so the message ends in the DLQ', async () => {
    await expect(applyPaymentResult(testDb.db, result(randomUUID(), 'SUCCEEDED'))).rejects.toBeInstanceOf(UnknownOrderError);
  });
});
