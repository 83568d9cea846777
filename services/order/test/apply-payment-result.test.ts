// Use-case tests for applyPaymentResult: settling an order is idempotent, and a failed payment puts
// the stock back exactly once.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, needsRealEngine } from '../../test-support/testing';
import type { PaymentResultEvent } from '../../contracts/events';
import { applyPaymentResult, UnknownOrderError } from '../use-cases/apply-payment-result';
import { placeOrder } from '../use-cases/place-order';
import { addProduct, newUserId, stockOf } from './fixtures';
import { searchPathOption } from '../../platform/ownership';

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb?.drop();
});

async function pendingOrderOf(productId: string, quantity: number): Promise<string> {
  const { order } = await placeOrder(testDb.as('order'), {
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
    expect(await applyPaymentResult(testDb.as('order'), result(orderId, 'SUCCEEDED'))).toBe('settled');
    expect(await applyPaymentResult(testDb.as('order'), result(orderId, 'SUCCEEDED'))).toBe('already-settled');
    expect(await statusOf(orderId)).toBe('PAID');
    expect(await stockOf(testDb.db.writer, product.id)).toBe(3);
  });

  it('marks the order PAYMENT_FAILED and releases its stock exactly once, even when applied concurrently', async () => {
    const product = await addProduct(testDb.db.writer, { stock: 5 });
    const orderId = await pendingOrderOf(product.id, 2);
    const outcomes = await Promise.all(Array.from({ length: 4 }, () => applyPaymentResult(testDb.as('order'), result(orderId, 'DECLINED'))));
    expect(outcomes.filter((o) => o === 'settled')).toHaveLength(1);
    expect(await statusOf(orderId)).toBe('PAYMENT_FAILED');
    expect(await stockOf(testDb.db.writer, product.id)).toBe(5);
  });

  it('throws for an order that does not exist, so the message ends in the DLQ', async () => {
    await expect(applyPaymentResult(testDb.as('order'), result(randomUUID(), 'SUCCEEDED'))).rejects.toBeInstanceOf(UnknownOrderError);
  });

  needsRealEngine('postgres', 'lock order matters only when transactions overlap; embedded ones never do')('overlapping transactions', () => {
    it('releases stock taking the product locks in id order, as placing orders does (no deadlock with a batch)', async () => {
      const [low, high] = (await Promise.all([addProduct(testDb.db.writer), addProduct(testDb.db.writer)])).sort((a, b) => (a.id < b.id ? -1 : 1));
      // The order's lines name the higher id first.
      const { order } = await placeOrder(testDb.as('order'), {
        userId: newUserId(),
        idempotencyKey: randomUUID(),
        items: [
          { productId: high.id, quantity: 1 },
          { productId: low.id, quantity: 1 },
        ],
      });
      // A batch of new orders holds the lower product, as it would while it locks its products in id order.
      const batch = new pg.Client({ connectionString: testDb.url, options: searchPathOption() });
      await batch.connect();
      try {
        await batch.query('BEGIN');
        await batch.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [low.id]);
        const release = applyPaymentResult(testDb.as('order'), result(order.id, 'DECLINED'));
        // The release waits for the lower product...
        for (let waiting = 0; waiting === 0; ) {
          const { rows } = await batch.query<{ n: string }>(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
          );
          waiting = Number(rows[0].n);
        }
        // ...holding nothing yet, so the batch can go on to the higher one instead of deadlocking.
        await expect(batch.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE NOWAIT', [high.id])).resolves.toMatchObject({ rowCount: 1 });
        await batch.query('COMMIT');
        await release;
      } finally {
        await batch.end();
      }
      expect(await stockOf(testDb.db.writer, low.id)).toBe(10);
      expect(await stockOf(testDb.db.writer, high.id)).toBe(10);
    });
  });
});
