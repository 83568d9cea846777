// Sandbox PaymentProvider for local runs, demos and tests. It stands in for a card processor.
//
// Decline rule: an amount whose cents end in 13 (e.g. 12.13 USD, totalCents % 100 === 13) is DECLINED
// with reason `card_declined`; every other amount SUCCEEDS. The demo catalog (services/order/seed.ts)
// prices every product whose SKU number ends in 3 at N.13, so ordering ONE such unit declines.
//
// Latency: each charge takes PAYMENT_SANDBOX_LATENCY_MS (config `payment.sandboxLatencyMs`), split in
// two halves around the moment the "processor" records the charge, so a worker killed in the second
// half leaves a charge it never recorded - the case the payment worker must resume without charging twice.
//
// Its ledger is the `sandbox_charges` table, keyed by idempotency key like a real processor's records;
// refunds go to `sandbox_refunds` the same way (same latency split), at most one per charge.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'pg';
import type { ChargeOutcome, ChargeRequest, PaymentProvider, RefundOutcome, RefundRequest } from './provider';

export const SANDBOX_DECLINE_REASON = 'card_declined';

/** The documented decline rule, exported so tests and demos compute amounts from the same rule. */
export function sandboxDeclines(amountCents: number): boolean {
  return amountCents % 100 === 13;
}

export function createSandboxProvider(options: { pool: Pool; latencyMs: number }): PaymentProvider {
  return {
    name: 'sandbox',
    async charge(request: ChargeRequest): Promise<ChargeOutcome> {
      await sleep(options.latencyMs / 2);
      const declined = sandboxDeclines(request.amountCents);
      await options.pool.query(
        `INSERT INTO sandbox_charges (idempotency_key, reference, amount_cents, currency, outcome, decline_reason)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (idempotency_key) DO NOTHING`,
        [
          request.idempotencyKey,
          `sbx_${randomUUID()}`,
          request.amountCents,
          request.currency,
          declined ? 'DECLINED' : 'SUCCEEDED',
          declined ? SANDBOX_DECLINE_REASON : null,
        ],
      );
      // The first charge for a key wins; a retry gets the recorded outcome back.
      const { rows } = await options.pool.query<{ reference: string; outcome: 'SUCCEEDED' | 'DECLINED'; reason: string | null }>(
        `SELECT reference, outcome, decline_reason AS reason FROM sandbox_charges WHERE idempotency_key = $1`,
        [request.idempotencyKey],
      );
      await sleep(options.latencyMs / 2);
      const charge = rows[0];
      return charge.outcome === 'DECLINED'
        ? { status: 'DECLINED', reference: charge.reference, reason: charge.reason ?? SANDBOX_DECLINE_REASON }
        : { status: 'SUCCEEDED', reference: charge.reference };
    },

    async refund(request: RefundRequest): Promise<RefundOutcome> {
      await sleep(options.latencyMs / 2);
      // Only a successful charge of at least the amount; a second refund of one charge (another key)
      // conflicts on charge_reference and is refused below, as a processor refuses to over-refund.
      await options.pool.query(
        `INSERT INTO sandbox_refunds (idempotency_key, reference, charge_reference, amount_cents, currency)
         SELECT $1, $2, reference, $4, $5 FROM sandbox_charges
          WHERE reference = $3 AND outcome = 'SUCCEEDED' AND amount_cents >= $4 AND currency = $5
         ON CONFLICT DO NOTHING`,
        [request.idempotencyKey, `sbx_rf_${randomUUID()}`, request.chargeReference, request.amountCents, request.currency],
      );
      const { rows } = await options.pool.query<{ reference: string; chargeReference: string }>(
        `SELECT reference, charge_reference AS "chargeReference" FROM sandbox_refunds WHERE idempotency_key = $1`,
        [request.idempotencyKey],
      );
      await sleep(options.latencyMs / 2);
      const refund = rows[0];
      if (!refund || refund.chargeReference !== request.chargeReference) {
        throw new Error(
          `sandbox: cannot refund ${request.amountCents} ${request.currency} of charge ${request.chargeReference} with key ${request.idempotencyKey}`,
        );
      }
      return { reference: refund.reference };
    },
  };
}
