// The PaymentProvider interface every card processor plugs in behind. The payment worker calls
// `charge` (and `refund`) with the same idempotency key for every attempt at one order's payment (or
// refund); a provider must return the original outcome for a key it has seen (real processors, e.g.
// Stripe, do) instead of charging or refunding again.

export interface ChargeRequest {
  /** Stable per payment; retries of the same payment reuse it. */
  readonly idempotencyKey: string;
  readonly amountCents: number;
  /** ISO 4217 code, e.g. USD. */
  readonly currency: string;
  readonly orderId: string;
}

export type ChargeOutcome =
  | { readonly status: 'SUCCEEDED'; readonly reference: string }
  | { readonly status: 'DECLINED'; readonly reference: string; readonly reason: string };

export interface RefundRequest {
  /** Stable per refund; retries of the same refund reuse it. */
  readonly idempotencyKey: string;
  /** The `reference` the provider returned for the successful charge being refunded. */
  readonly chargeReference: string;
  /** The whole charge: Surge refunds only cancelled orders, never part of one. */
  readonly amountCents: number;
  readonly currency: string;
  readonly orderId: string;
}

export interface RefundOutcome {
  readonly reference: string;
}

export interface PaymentProvider {
  /** Stored with each payment, e.g. `sandbox`. */
  readonly name: string;
  /**
   * Charges the card, or returns the outcome of an earlier charge with the same idempotency key.
   * A decline is an outcome, not an error; throw only when the outcome is unknown (network, 5xx), so
   * the message is retried with the same key.
   */
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
  /**
   * Refunds a successful charge in full, or returns the earlier refund with the same idempotency key.
   * Throws when the refund did not (or may not) happen, so the message is retried with the same key.
   */
  refund(request: RefundRequest): Promise<RefundOutcome>;
}
