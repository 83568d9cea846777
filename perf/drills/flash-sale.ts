// Flash-sale drill: `units` of one product, `attempts` order attempts from `connections` concurrent
// connections across `buyers` distinct buyers (order rate limits raised). Passes when exactly `units`
// orders are accepted, nothing is oversold, and every accepted order ends PAID or PAYMENT_FAILED.
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { runLoad } from '../lib/load-run';
import { mintBuyerTokens, RAISED_LIMITS, readProcessCpu, serviceEnv, startEngines, startServiceProcess, type ServiceProcess } from '../lib/stack';
import { acceptedOrders, report, waitForSettlement, type DrillReport } from './common';
import { searchPathOption } from '../../services/platform/ownership';

export interface FlashSaleOptions {
  units: number;
  attempts: number;
  connections: number;
  buyers: number;
  /** Bound for the payments to settle after the sale. @default 180 s */
  settleTimeoutMs?: number;
  progress?: boolean;
}

/** Transactions committed and rolled back in the drill's own database so far (other databases' load excluded). */
async function databaseTransactions(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
  );
  return Number(rows[0].n);
}

export const FULL_FLASH_SALE: FlashSaleOptions = { units: 1000, attempts: 100_000, connections: 500, buyers: 5000 };

export async function flashSaleDrill(options: FlashSaleOptions): Promise<DrillReport> {
  const engines = await startEngines({ products: 100 });
  const services: ServiceProcess[] = [];
  try {
    const env = serviceEnv(engines, { ...RAISED_LIMITS, PAYMENT_SANDBOX_LATENCY_MS: '50' });
    const order = await startServiceProcess('order', env);
    services.push(order);
    services.push(await startServiceProcess('worker', env));

    // SKU-000001 costs N.99, which the sandbox approves: no declines put stock back mid-sale.
    const client = new pg.Client({ connectionString: engines.databaseUrl, options: searchPathOption() });
    await client.connect();
    const productId = (
      await client.query<{ id: string }>("UPDATE products SET stock = $1 WHERE sku = 'SKU-000001' RETURNING id", [options.units])
    ).rows[0].id;

    const buyers = await mintBuyerTokens(options.buyers);
    let next = 0;
    const loadAtStart = loadavg().map((l) => l.toFixed(2)).join(' ');
    // CPU the order service spent per attempt: steadier than attempts/s on cores shared with other work.
    const orderCpuMs = () => readProcessCpu(order.child.pid!)?.cpuMs ?? 0;
    const cpuBefore = orderCpuMs();
    const ownCpu = process.cpuUsage();
    const transactionsBefore = await databaseTransactions(client);
    const accepted = acceptedOrders();
    const body = JSON.stringify({ items: [{ productId, quantity: 1 }] });
    const summary = await runLoad({
      url: order.url,
      title: 'flash-sale',
      connections: options.connections,
      durationSeconds: 0,
      amount: options.attempts,
      timeoutSeconds: 30,
      progress: options.progress,
      onResponse: accepted.onResponse,
      requests: [
        {
          method: 'POST',
          path: '/api/orders',
          body,
          // Buyers in turn, so every one of them takes part; each attempt has its own key.
          setup: (req) => ({
            ...req,
            body,
            headers: { ...req.headers, authorization: `Bearer ${buyers[next++ % buyers.length]}`, 'idempotency-key': randomUUID() },
          }),
        },
      ],
    });
    const ids = [...accepted.ids];
    const perAttempt = (total: number) => (summary.requests > 0 ? Math.round((total / summary.requests) * 100) / 100 : 0);
    const orderCpuUsPerAttempt = Math.round(perAttempt((orderCpuMs() - cpuBefore) * 1000));
    const ownCpuUsed = process.cpuUsage(ownCpu);
    const loadGeneratorCpuUsPerAttempt = Math.round(perAttempt(ownCpuUsed.user + ownCpuUsed.system));
    // PostgreSQL publishes a backend's counts when it goes idle, at most once a second.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const transactionsPerAttempt = perAttempt((await databaseTransactions(client)) - transactionsBefore);
    const peakRss = order.peakRssMb();
    const loadAtEnd = loadavg().map((l) => l.toFixed(2)).join(' ');
    const stock = (await client.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [productId])).rows[0].stock;
    const sold = Number(
      (
        await client.query<{ n: string }>(
          "SELECT coalesce(sum(i.quantity), 0) AS n FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.product_id = $1 AND o.status <> 'PAYMENT_FAILED'",
          [productId],
        )
      ).rows[0].n,
    );
    const ordersForProduct = Number(
      (await client.query<{ n: string }>('SELECT count(DISTINCT order_id) AS n FROM order_items WHERE product_id = $1', [productId])).rows[0].n,
    );
    await client.end();
    const ledger = await waitForSettlement(engines.databaseUrl, ids, options.settleTimeoutMs ?? 180_000);
    const accepted202 = summary.statusCodes['202'] ?? 0;
    const other = Object.entries(summary.statusCodes)
      .filter(([code]) => code !== '202' && code !== '409')
      .reduce((sum, [, n]) => sum + n, 0);
    return report(
      'flash-sale',
      [
        { what: `exactly ${options.units} orders accepted (202): ${accepted202}`, ok: accepted202 === options.units && ids.length === options.units },
        { what: `0 oversold: ${sold} sold, stock left ${stock}`, ok: sold <= options.units && stock >= 0 && sold + stock === options.units },
        { what: `the database holds exactly the accepted orders: ${ordersForProduct}`, ok: ordersForProduct === ids.length },
        { what: `every accepted order PAID or PAYMENT_FAILED: ${ledger.settled}/${ids.length}`, ok: ledger.settled === ids.length },
        { what: `one payment per accepted order (${ledger.ordersWithoutExactlyOnePayment} without exactly one)`, ok: ledger.ordersWithoutExactlyOnePayment === 0 },
        { what: `every other attempt answered 409 sold out (${other} other answers, ${summary.errors} errors, ${summary.timeouts} timeouts)`, ok: other === 0 && summary.errors === 0 && summary.timeouts === 0 },
      ],
      {
        attempts: summary.requests,
        connections: options.connections,
        buyers: options.buyers,
        'throughput req/s': summary.requestsPerSecond,
        'p50 ms': summary.latencyMs.p50,
        'p99 ms': summary.latencyMs.p99,
        'order service CPU us per attempt': orderCpuUsPerAttempt,
        'drill process (load generator) CPU us per attempt': loadGeneratorCpuUsPerAttempt,
        'database transactions per attempt (this database only)': transactionsPerAttempt,
        'status codes': JSON.stringify(summary.statusCodes),
        'order statuses': JSON.stringify(ledger.statuses),
        // VmHWM: the kernel's record of the process's largest resident set, read at the end of the load.
        'peak RSS order MB (VmHWM)': peakRss,
        'load average at start (1/5/15 min)': loadAtStart,
        'load average at end (1/5/15 min)': loadAtEnd,
      },
    );
  } finally {
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
    await engines.stop();
  }
}
