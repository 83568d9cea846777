// Bounded checkout load for the outage tests: a few shoppers on loopback placing one order each in a
// loop (with a short pause), recording when each request was sent and how it was answered.
import { randomUUID } from 'node:crypto';

export interface CheckoutAnswer {
  /** Date.now() when the request was sent. */
  sentAt: number;
  /** The HTTP status; 0 when no answer came (connection error or the 10 s timeout). */
  status: number;
  /** The order id of a 202. */
  orderId?: string;
  retryAfter?: string;
  body?: string;
}

export interface CheckoutLoad {
  readonly answers: CheckoutAnswer[];
  /** Stops sending and waits for the requests in flight. */
  stop(): Promise<CheckoutAnswer[]>;
}

export function startCheckoutLoad(options: {
  baseUrl: string;
  productId: string;
  /** Bearer headers for a fresh shopper. */
  authFor: () => Promise<{ authorization: string }>;
  /** Shoppers sending at once. @default 4 */
  shoppers?: number;
  /** Pause after each answer, per shopper. @default 25 */
  pauseMs?: number;
}): CheckoutLoad {
  const answers: CheckoutAnswer[] = [];
  let stopped = false;
  const shopper = async () => {
    const auth = await options.authFor();
    while (!stopped) {
      const sentAt = Date.now();
      try {
        const res = await fetch(`${options.baseUrl}/api/orders`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: JSON.stringify({ items: [{ productId: options.productId, quantity: 1 }] }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = await res.text();
        answers.push({
          sentAt,
          status: res.status,
          orderId: res.status === 202 ? (JSON.parse(body) as { id: string }).id : undefined,
          retryAfter: res.headers.get('retry-after') ?? undefined,
          body: res.status >= 500 ? body : undefined,
        });
      } catch {
        answers.push({ sentAt, status: 0 });
      }
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 25));
    }
  };
  const running = Promise.all(Array.from({ length: options.shoppers ?? 4 }, shopper));
  return {
    answers,
    async stop() {
      stopped = true;
      await running;
      return answers;
    },
  };
}

/** Status counts, e.g. { '202': 310, '503': 12 }. */
export function statusCounts(answers: readonly CheckoutAnswer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
}
