// What every drill shares: its report (a verdict, named checks and figures), database look-ups that
// decide whether accepted orders were kept exactly once and settled, and bounded waiting.
import pg from 'pg';
import { searchPathOption } from '../../services/platform/ownership';

export interface DrillCheck {
  what: string;
  ok: boolean;
}

export interface DrillReport {
  name: string;
  verdict: 'PASS' | 'FAIL';
  checks: DrillCheck[];
  figures: Record<string, string | number>;
}

export function report(name: string, checks: DrillCheck[], figures: Record<string, string | number>): DrillReport {
  return { name, verdict: checks.every((c) => c.ok) ? 'PASS' : 'FAIL', checks, figures };
}

export function formatReport(r: DrillReport): string {
  const lines = [`drill ${r.name}: ${r.verdict}`];
  for (const c of r.checks) lines.push(`  [${c.ok ? 'ok' : 'FAILED'}] ${c.what}`);
  for (const [k, v] of Object.entries(r.figures)) lines.push(`  ${k}: ${v}`);
  return lines.join('\n');
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns true or `timeoutMs` passes; returns whether it came true. */
export async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

export interface OrderLedger {
  /** Accepted ids found in the orders table (each id is a primary key, so at most once). */
  present: number;
  /** Of those, how many are PAID or PAYMENT_FAILED. */
  settled: number;
  /** Payment rows per accepted order: how many orders have != 1. */
  ordersWithoutExactlyOnePayment: number;
  /** Sandbox processor charges per accepted order: how many have != 1. */
  ordersNotChargedExactlyOnce: number;
  statuses: Record<string, number>;
}

/** What the database says about a set of accepted order ids. */
export async function orderLedger(databaseUrl: string, orderIds: string[]): Promise<OrderLedger> {
  const client = new pg.Client({ connectionString: databaseUrl, options: searchPathOption() });
  await client.connect();
  try {
    const { rows } = await client.query<{ status: string; n: string }>(
      'SELECT status, count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) GROUP BY status',
      [orderIds],
    );
    const statuses = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    const present = rows.reduce((sum, r) => sum + Number(r.n), 0);
    const settled = (statuses.PAID ?? 0) + (statuses.PAYMENT_FAILED ?? 0);
    const payments = await client.query<{ bad: string }>(
      `SELECT count(*) AS bad FROM unnest($1::uuid[]) AS o(id)
        WHERE (SELECT count(*) FROM payments p WHERE p.order_id = o.id) <> 1`,
      [orderIds],
    );
    const charges = await client.query<{ bad: string }>(
      `SELECT count(*) AS bad FROM unnest($1::uuid[]) AS o(id)
        WHERE (SELECT count(*) FROM payments p JOIN sandbox_charges c ON c.idempotency_key = p.idempotency_key
                WHERE p.order_id = o.id) <> 1`,
      [orderIds],
    );
    return {
      present,
      settled,
      ordersWithoutExactlyOnePayment: Number(payments.rows[0].bad),
      ordersNotChargedExactlyOnce: Number(charges.rows[0].bad),
      statuses,
    };
  } finally {
    await client.end();
  }
}

/** Waits (bounded) until every accepted order is PAID or PAYMENT_FAILED; returns the final ledger. */
/**
 * Waits until every order has settled. The worker settles a backlog at its own pace, so the wait gives
 * up only when `stallMs` pass without one more order settling - or after `maxMs` in all.
 */
export async function waitForSettlement(databaseUrl: string, orderIds: string[], stallMs: number, maxMs = 600_000): Promise<OrderLedger> {
  let ledger = await orderLedger(databaseUrl, orderIds);
  const giveUpAt = Date.now() + maxMs;
  let stalledAt = Date.now() + stallMs;
  while (ledger.settled < orderIds.length && Date.now() < Math.min(stalledAt, giveUpAt)) {
    await sleep(500);
    const before = ledger.settled;
    ledger = await orderLedger(databaseUrl, orderIds);
    if (ledger.settled > before) stalledAt = Date.now() + stallMs;
  }
  return ledger;
}

/** Collects the ids of 202-accepted orders from POST /api/orders responses. */
export function acceptedOrders() {
  const ids = new Set<string>();
  return {
    ids,
    onResponse(status: number, body: string) {
      if (status !== 202) return;
      try {
        ids.add((JSON.parse(body) as { id: string }).id);
      } catch {
        // a truncated body is counted by the status anyway
      }
    },
  };
}
