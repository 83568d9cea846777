// The payment worker SIGKILLed mid-batch: after a restart every order must be charged exactly once
// (one payment row, one processor charge) and settled. The sandbox provider's latency is raised so
// that the kill lands between "charge sent" and "outcome recorded" for some orders.
import pg from 'pg';
import { runLoad } from '../lib/load-run';
import { mintBuyerTokens, RAISED_LIMITS, serviceEnv, startEngines, startServiceProcess, type ServiceProcess } from '../lib/stack';
import { catalogIds, orderRequest, pick } from '../scenarios';
import { acceptedOrders, report, waitForSettlement, waitUntil, type DrillReport } from './common';
import { searchPathOption } from '../../services/platform/ownership';

export async function paymentWorkerKillDrill(options: { orders?: number } = {}): Promise<DrillReport> {
  const orders = options.orders ?? 300;
  const engines = await startEngines({ products: 1000 });
  const env = serviceEnv(engines, { ...RAISED_LIMITS, PAYMENT_SANDBOX_LATENCY_MS: '400' });
  const running: ServiceProcess[] = [];
  const client = new pg.Client({ connectionString: engines.databaseUrl, options: searchPathOption() });
  try {
    const order = await startServiceProcess('order', env);
    running.push(order);
    let worker = await startServiceProcess('worker', env);
    running.push(worker);
    await client.connect();
    const ids = await catalogIds(order.url, 1000);
    const buyers = await mintBuyerTokens(100);
    const accepted = acceptedOrders();
    await runLoad({
      url: order.url,
      title: 'orders',
      connections: 20,
      durationSeconds: 0,
      amount: orders,
      onResponse: accepted.onResponse,
      requests: [orderRequest(buyers, () => pick(ids))],
    });
    const orderIds = [...accepted.ids];
    const count = async (sql: string) => Number((await client.query<{ n: string }>(sql)).rows[0].n);
    // Kill once a good part of the work is done while some charges are mid-flight (a payment row is
    // PENDING from before the provider call until its outcome is recorded).
    await waitUntil(
      async () =>
        (await count("SELECT count(*) AS n FROM payments WHERE status <> 'PENDING'")) >= orderIds.length / 4 &&
        (await count("SELECT count(*) AS n FROM payments WHERE status = 'PENDING'")) > 0,
      60_000,
      20,
    );
    worker.child.kill('SIGKILL');
    await worker.exited;
    running.splice(running.indexOf(worker), 1);
    const settledAtKill = await count("SELECT count(*) AS n FROM payments WHERE status <> 'PENDING'");
    const midCharge = await count(
      "SELECT count(*) AS n FROM payments p JOIN sandbox_charges c ON c.idempotency_key = p.idempotency_key WHERE p.status = 'PENDING'",
    );
    const pendingAtKill = await count("SELECT count(*) AS n FROM payments WHERE status = 'PENDING'");
    worker = await startServiceProcess('worker', env);
    running.push(worker);
    const killedAt = Date.now();
    // Messages in hand at the kill come back after the visibility timeout (60 s).
    const ledger = await waitForSettlement(engines.databaseUrl, orderIds, 120_000);
    return report(
      'payment-worker-kill',
      [
        { what: `every order charged exactly once (${ledger.ordersNotChargedExactlyOnce} not)`, ok: ledger.ordersNotChargedExactlyOnce === 0 },
        { what: `exactly one payment per order (${ledger.ordersWithoutExactlyOnePayment} not)`, ok: ledger.ordersWithoutExactlyOnePayment === 0 },
        { what: `every order settled after the restart: ${ledger.settled}/${orderIds.length}`, ok: ledger.settled === orderIds.length && orderIds.length === orders },
        { what: `the kill hit work in progress (${pendingAtKill} payments pending)`, ok: pendingAtKill > 0 },
      ],
      {
        orders: orderIds.length,
        'payments settled at kill': settledAtKill,
        'charged at the processor but not recorded at kill': midCharge,
        'restart to all settled s': Math.round((Date.now() - killedAt) / 100) / 10,
        'order statuses': JSON.stringify(ledger.statuses),
      },
    );
  } finally {
    await client.end().catch(() => undefined);
    for (const s of running.reverse()) await s.stop().catch(() => undefined);
    await engines.stop();
  }
}
