// Use-case tests for chargeOrder with the sandbox provider against the real PostgreSQL: exactly one
// payment and one provider charge per order, whatever the deliveries and crashes.
import { randomUUID } from 'node:crypto';
import { createTestDatabase, countRows } from '../../test-support/testing';
import type { OrderPlacedEvent } from '../../contracts/events';
import type { PaymentProvider } from '../provider';
import { createSandboxProvider, sandboxDeclines } from '../sandbox-provider';
import { chargeOrder } from '../use-cases/charge-order';

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let sandbox: PaymentProvider;
beforeAll(async () => {
  testDb = await createTestDatabase();
  sandbox = createSandboxProvider({ pool: testDb.db.writer, latencyMs: 10 });
});
afterAll(async () => {
  await testDb?.drop();
});

function orderPlaced(totalCents = 4_999): OrderPlacedEvent {
  return {
    type: 'order-placed',
    orderId: randomUUID(),
    userId: randomUUID(),
    totalCents,
    currency: 'USD',
    items: [{ productId: randomUUID(), quantity: 1, unitPriceCents: totalCents }],
    occurredAt: new Date().toISOString(),
  };
}

const chargesOf = (orderId: string) =>
  countRows(testDb.db.writer, `SELECT 1 FROM sandbox_charges WHERE idempotency_key = 'order-' || $1`, [orderId]);
const paymentsOf = (orderId: string) => countRows(testDb.db.writer, 'SELECT 1 FROM payments WHERE order_id = $1', [orderId]);
const resultEventsOf = (orderId: string) =>
  countRows(testDb.db.writer, `SELECT 1 FROM outbox WHERE topic = 'payment-result' AND payload->>'orderId' = $1`, [orderId]);

describe('chargeOrder', () => {
  it('charges, records SUCCEEDED and enqueues one payment-result event', async () => {
    const event = orderPlaced(4_999);
    const { payment, recorded } = await chargeOrder({ db: testDb.db, provider: sandbox }, event);

    expect(recorded).toBe(true);
    expect(payment).toMatchObject({ orderId: event.orderId, userId: event.userId, amountCents: 4_999, status: 'SUCCEEDED' });
    expect(payment.providerReference).toMatch(/^sbx_/);
    const { rows } = await testDb.db.writer.query(
      `SELECT payload FROM outbox WHERE topic = 'payment-result' AND payload->>'orderId' = $1`,
      [event.orderId],
    );
    expect(rows.map((r) => r.payload)).toEqual([
      expect.objectContaining({ type: 'payment-result', paymentId: payment.id, outcome: 'SUCCEEDED' }),
    ]);
  });

  it('declines amounts ending in 13 cents, as documented', async () => {
    expect(sandboxDeclines(1_213)).toBe(true);
    expect(sandboxDeclines(1_299)).toBe(false);
    const event = orderPlaced(1_213);
    const { payment } = await chargeOrder({ db: testDb.db, provider: sandbox }, event);
    expect(payment).toMatchObject({ status: 'DECLINED', declineReason: 'card_declined' });
    const { rows } = await testDb.db.writer.query(`SELECT payload FROM outbox WHERE payload->>'orderId' = $1`, [
      event.orderId,
    ]);
    expect(rows[0].payload).toMatchObject({ outcome: 'DECLINED', declineReason: 'card_declined' });
  });

  it('records one payment and one charge when the same message is delivered twice, also concurrently', async () => {
    const sequential = orderPlaced();
    await chargeOrder({ db: testDb.db, provider: sandbox }, sequential);
    const second = await chargeOrder({ db: testDb.db, provider: sandbox }, sequential);
    expect(second.recorded).toBe(false);
    expect(second.payment.status).toBe('SUCCEEDED');

    const concurrent = orderPlaced();
    const results = await Promise.all(Array.from({ length: 5 }, () => chargeOrder({ db: testDb.db, provider: sandbox }, concurrent)));
    expect(results.filter((r) => r.recorded)).toHaveLength(1);
    expect(new Set(results.map((r) => r.payment.providerReference)).size).toBe(1);

    for (const event of [sequential, concurrent]) {
      expect(await paymentsOf(event.orderId)).toBe(1);
      expect(await chargesOf(event.orderId)).toBe(1);
      expect(await resultEventsOf(event.orderId)).toBe(1);
    }
  });

  it('resumes a charge whose worker died after the provider charged but before the outcome was recorded', async () => {
    const event = orderPlaced();
    // The provider charges, then the "process" dies before chargeOrder can commit the outcome.
    const dyingAfterCharge: PaymentProvider = {
      ...sandbox,
      async charge(request) {
        await sandbox.charge(request);
        throw new Error('worker died');
      },
    };
    await expect(chargeOrder({ db: testDb.db, provider: dyingAfterCharge }, event)).rejects.toThrow('worker died');
    expect(await chargesOf(event.orderId)).toBe(1);
    const { rows: pending } = await testDb.db.writer.query('SELECT status FROM payments WHERE order_id = $1', [event.orderId]);
    expect(pending[0].status).toBe('PENDING');

    const redelivered = await chargeOrder({ db: testDb.db, provider: sandbox }, event);
    expect(redelivered).toMatchObject({ recorded: true, payment: { status: 'SUCCEEDED' } });
    expect(await chargesOf(event.orderId)).toBe(1);
    expect(await paymentsOf(event.orderId)).toBe(1);
    expect(await resultEventsOf(event.orderId)).toBe(1);
  });

  it('leaves the payment PENDING and rethrows when the provider outcome is unknown', async () => {
    const event = orderPlaced();
    const unreachable: PaymentProvider = {
      ...sandbox,
      async charge() {
        throw new Error('provider timed out');
      },
    };
    await expect(chargeOrder({ db: testDb.db, provider: unreachable }, event)).rejects.toThrow('provider timed out');
    expect(await resultEventsOf(event.orderId)).toBe(0);
    const { rows } = await testDb.db.writer.query('SELECT status FROM payments WHERE order_id = $1', [event.orderId]);
    expect(rows).toEqual([{ status: 'PENDING' }]);
  });
});
