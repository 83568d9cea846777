// Use-case tests for cancelled orders on the payment side (cancelPayment, and chargeOrder meeting a
// cancel) with the sandbox provider against the real PostgreSQL: whichever order the order-placed
// and order-cancelled events arrive in, and however often, the buyer ends with no net charge - never
// charged when the cancel comes first, charged and refunded exactly once when it comes later.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, countRows } from '../../test-support/testing';
import type { OrderCancelledEvent, OrderPlacedEvent } from '../../contracts/events';
import { addProduct } from '../../order/test/fixtures';
import { cancelOrder } from '../../order/use-cases/cancel-order';
import { placeOrder } from '../../order/use-cases/place-order';
import { findOrCreatePayment } from '../../payment/data/payments';
import type { PaymentProvider } from '../../payment/provider';
import { createSandboxProvider } from '../../payment/sandbox-provider';
import { cancelPayment } from '../../payment/use-cases/cancel-payment';
import { chargeOrder } from '../../payment/use-cases/charge-order';

let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
let sandbox: PaymentProvider;
beforeAll(async () => {
  testDb = await createTestDatabase();
  sandbox = createSandboxProvider({ pool: testDb.db.writer, latencyMs: 10 });
});
afterAll(async () => {
  await testDb?.drop();
});

function orderEvents(totalCents = 2_500): { placed: OrderPlacedEvent; cancelled: OrderCancelledEvent } {
  const orderId = randomUUID();
  const userId = randomUUID();
  const occurredAt = new Date().toISOString();
  return {
    placed: {
      type: 'order-placed',
      orderId,
      userId,
      totalCents,
      currency: 'USD',
      items: [{ productId: randomUUID(), quantity: 1, unitPriceCents: totalCents }],
      occurredAt,
    },
    cancelled: { type: 'order-cancelled', orderId, userId, totalCents, currency: 'USD', occurredAt },
  };
}

const deps = (provider: PaymentProvider = sandbox) => ({ db: testDb.db, provider });
const chargesOf = (orderId: string) =>
  countRows(testDb.db.writer, `SELECT 1 FROM sandbox_charges WHERE idempotency_key = 'order-' || $1`, [orderId]);
const refundsOf = (orderId: string) =>
  countRows(testDb.db.writer, `SELECT 1 FROM sandbox_refunds WHERE idempotency_key = 'refund-' || $1`, [orderId]);
const paymentOf = async (orderId: string) =>
  (await testDb.db.writer.query(`SELECT status, refund_reference AS "refundReference" FROM payments WHERE order_id = $1`, [orderId])).rows;

/** A sandbox whose charge waits for `release()` after the payment is marked started, so a cancel can land mid-charge. */
function pausedCharge(): { provider: PaymentProvider; charging: Promise<void>; release(): void } {
  let started!: () => void;
  let release!: () => void;
  const charging = new Promise<void>((resolve) => (started = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    provider: {
      ...sandbox,
      async charge(request) {
        started();
        await released;
        return sandbox.charge(request);
      },
    },
    charging,
    release,
  };
}

describe('a cancel that comes before the charge', () => {
  it('closes the payment CANCELLED when order-cancelled arrives before order-placed, and the later order-placed charges nothing', async () => {
    const { placed, cancelled } = orderEvents();
    expect(await cancelPayment(deps(), cancelled)).toMatchObject({ orderId: placed.orderId, status: 'CANCELLED', amountCents: 2_500 });
    const { payment, recorded } = await chargeOrder(deps(), placed);
    expect(recorded).toBe(false);
    expect(payment.status).toBe('CANCELLED');
    expect(await chargesOf(placed.orderId)).toBe(0);
    expect(await countRows(testDb.db.writer, `SELECT 1 FROM outbox WHERE payload->>'orderId' = $1`, [placed.orderId])).toBe(0);
  });

  it('never charges a PENDING payment whose charge had not started (a delivery died before calling the provider)', async () => {
    const { placed, cancelled } = orderEvents();
    await findOrCreatePayment(testDb.db.writer, {
      orderId: placed.orderId,
      userId: placed.userId,
      amountCents: placed.totalCents,
      currency: placed.currency,
      provider: 'sandbox',
    });
    expect((await cancelPayment(deps(), cancelled)).status).toBe('CANCELLED');
    expect((await chargeOrder(deps(), placed)).payment.status).toBe('CANCELLED');
    expect(await chargesOf(placed.orderId)).toBe(0);
    expect(await paymentOf(placed.orderId)).toEqual([{ status: 'CANCELLED', refundReference: null }]);
  });
});

describe('an order cancelled while its order-placed event waited in the queue', () => {
  // The payment service knows of a cancellation only from the order-cancelled event (it cannot read
  // the order service's tables). Handled in the other order, the charge goes through and the cancel
  // that follows refunds it in full: no net charge, and the order's final state stays the order
  // service's CANCELLED (it ignores a payment result for an order that is no longer PENDING).
  it('is charged and refunded in full when order-placed is handled before order-cancelled', async () => {
    const product = await addProduct(testDb.db.writer, { priceCents: 2_500, stock: 3 });
    const userId = randomUUID();
    const { order } = await placeOrder(testDb.db, { userId, idempotencyKey: randomUUID(), items: [{ productId: product.id, quantity: 1 }] });
    await cancelOrder(testDb.db, { userId, orderId: order.id });
    const events = await testDb.db.writer.query(`SELECT payload FROM outbox WHERE topic = 'order-placed' AND payload->>'orderId' = $1 ORDER BY id`, [
      order.id,
    ]);
    const [placed, cancelled] = events.rows.map((row) => row.payload);
    expect([placed.type, cancelled.type]).toEqual(['order-placed', 'order-cancelled']);

    expect((await chargeOrder(deps(), placed)).payment.status).toBe('SUCCEEDED');
    expect((await cancelPayment(deps(), cancelled)).status).toBe('REFUNDED');
    expect([await chargesOf(order.id), await refundsOf(order.id)]).toEqual([1, 1]);
  });
});

describe('a cancel that comes after the charge', () => {
  it('refunds a SUCCEEDED payment once, and redelivered or concurrent order-cancelled events refund nothing more', async () => {
    const { placed, cancelled } = orderEvents();
    expect((await chargeOrder(deps(), placed)).payment.status).toBe('SUCCEEDED');

    const refunded = await cancelPayment(deps(), cancelled);
    expect(refunded).toMatchObject({ status: 'REFUNDED', refundReference: expect.stringMatching(/^sbx_rf_/) });
    await cancelPayment(deps(), cancelled);
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => cancelPayment(deps(), cancelled)));
    expect(new Set(concurrent.map((p) => p.status))).toEqual(new Set(['REFUNDED']));
    // A late redelivery of order-placed neither charges again nor refunds again.
    expect((await chargeOrder(deps(), placed)).payment.status).toBe('REFUNDED');

    expect(await chargesOf(placed.orderId)).toBe(1);
    expect(await refundsOf(placed.orderId)).toBe(1);
    expect(await paymentOf(placed.orderId)).toEqual([{ status: 'REFUNDED', refundReference: refunded.refundReference }]);
  });

  it('refunds once when order-cancelled is delivered several times at once right after the charge', async () => {
    const { placed, cancelled } = orderEvents();
    await chargeOrder(deps(), placed);
    await Promise.all(Array.from({ length: 8 }, () => cancelPayment(deps(), cancelled)));
    expect(await refundsOf(placed.orderId)).toBe(1);
    expect((await paymentOf(placed.orderId))[0].status).toBe('REFUNDED');
  });

  it('lets the charging delivery refund when the cancel lands while the charge is in flight', async () => {
    const { placed, cancelled } = orderEvents();
    const paused = pausedCharge();
    const charging = chargeOrder(deps(paused.provider), placed);
    await paused.charging;

    // The charge has started: the cancel cannot close the payment unpaid, and nothing is charged yet to refund.
    expect((await cancelPayment(deps(), cancelled)).status).toBe('PENDING');
    expect(await refundsOf(placed.orderId)).toBe(0);

    paused.release();
    const { payment, recorded } = await charging;
    expect(recorded).toBe(true);
    expect(payment.status).toBe('REFUNDED');
    expect(await chargesOf(placed.orderId)).toBe(1);
    expect(await refundsOf(placed.orderId)).toBe(1);
    // The result is still published (the charge happened); the order worker ignores it for a CANCELLED order.
    expect(
      await countRows(testDb.db.writer, `SELECT 1 FROM outbox WHERE topic = 'payment-result' AND payload->>'orderId' = $1`, [placed.orderId]),
    ).toBe(1);
  });

  it('ends with no net charge whichever way a concurrent order-placed and order-cancelled interleave', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 10; round++) {
      const { placed, cancelled } = orderEvents();
      // Cancels 0-27 ms after the charge begins (the sandbox takes 10 ms): before, during and after it.
      const cancelLater = async () => {
        await sleep(round * 3);
        await cancelPayment(deps(), cancelled);
      };
      await Promise.all([chargeOrder(deps(), placed), cancelLater(), cancelLater()]);
      const [payment] = await paymentOf(placed.orderId);
      const [charges, refunds] = [await chargesOf(placed.orderId), await refundsOf(placed.orderId)];
      expect([payment.status, charges, refunds]).toEqual(payment.status === 'CANCELLED' ? ['CANCELLED', 0, 0] : ['REFUNDED', 1, 1]);
      outcomes.push(payment.status);
    }
    console.info(`order-placed vs order-cancelled, 10 rounds: ${outcomes.join(' ')}`);
  });

  it('keeps a DECLINED payment as it is: nothing was taken, nothing to refund', async () => {
    const { placed, cancelled } = orderEvents(1_213);
    expect((await chargeOrder(deps(), placed)).payment.status).toBe('DECLINED');
    expect((await cancelPayment(deps(), cancelled)).status).toBe('DECLINED');
    expect(await refundsOf(placed.orderId)).toBe(0);
  });
});

describe('a worker that dies around the refund', () => {
  it('finishes the refund exactly once on redelivery when the worker died after the provider refunded', async () => {
    const { placed, cancelled } = orderEvents();
    await chargeOrder(deps(), placed);
    const dyingAfterRefund: PaymentProvider = {
      ...sandbox,
      async refund(request) {
        await sandbox.refund(request);
        throw new Error('worker died');
      },
    };
    await expect(cancelPayment(deps(dyingAfterRefund), cancelled)).rejects.toThrow('worker died');
    expect((await paymentOf(placed.orderId))[0].status).toBe('SUCCEEDED');

    expect((await cancelPayment(deps(), cancelled)).status).toBe('REFUNDED');
    expect(await refundsOf(placed.orderId)).toBe(1);
  });

  it('refunds on the redelivered order-placed when the charging delivery died before refunding', async () => {
    const { placed, cancelled } = orderEvents();
    const paused = pausedCharge();
    const failingRefund: PaymentProvider = {
      ...paused.provider,
      async refund() {
        throw new Error('provider timed out');
      },
    };
    const charging = chargeOrder(deps(failingRefund), placed);
    await paused.charging;
    await cancelPayment(deps(), cancelled);
    paused.release();
    await expect(charging).rejects.toThrow('provider timed out');
    expect((await paymentOf(placed.orderId))[0].status).toBe('SUCCEEDED');

    expect((await chargeOrder(deps(), placed)).payment.status).toBe('REFUNDED');
    expect(await chargesOf(placed.orderId)).toBe(1);
    expect(await refundsOf(placed.orderId)).toBe(1);
  });
});

describe('sandbox refunds', () => {
  it('refuses to refund a charge that does not exist, a declined one, or one already refunded under another key', async () => {
    const refund = (chargeReference: string, idempotencyKey: string = randomUUID()) =>
      sandbox.refund({ idempotencyKey, chargeReference, amountCents: 1_213, currency: 'USD', orderId: randomUUID() });
    await expect(refund('sbx_unknown')).rejects.toThrow(/cannot refund/);

    const declined = await sandbox.charge({ idempotencyKey: randomUUID(), amountCents: 1_213, currency: 'USD', orderId: randomUUID() });
    await expect(refund(declined.reference)).rejects.toThrow(/cannot refund/);

    const charged = await sandbox.charge({ idempotencyKey: randomUUID(), amountCents: 1_300, currency: 'USD', orderId: randomUUID() });
    const first = await refund(charged.reference, 'refund-key-1');
    expect(await refund(charged.reference, 'refund-key-1')).toEqual(first);
    await expect(refund(charged.reference, 'refund-key-2')).rejects.toThrow(/cannot refund/);
  });
});
