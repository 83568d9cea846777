// PostgreSQL stopped under checkout load (5 s; `--down 300` for the 5-minute outage of issue 14.5):
// the order service answers 503 while it is down; afterwards every accepted (202) order is present
// exactly once and reaches a final status, and no message was dead-lettered (the worker paused
// polling while the database was down and backed retries off). Runs on a
// THROWAWAY PostgreSQL 15 cluster (initdb in a temp dir, run as the `postgres` user on a free loopback
// port); the shared server on 5432 is never touched.
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { seedCatalog } from '../../services/order/seed';
import { createDatabase } from '../../services/platform/db';
import { migrate } from '../../services/platform/migrate';
import { throwawayCluster, type SqsEmulator } from '../../services/test-support/testing';
import { runLoad } from '../lib/load-run';
import { mintBuyerTokens, RAISED_LIMITS, serviceEnv, startEngines, startServiceProcess, type ServiceProcess } from '../lib/stack';
import { catalogIds, orderRequest, pick } from '../scenarios';
import { acceptedOrders, report, sleep, waitForSettlement, type DrillReport } from './common';

/** Messages in a queue, visible or in flight. */
async function depth(sqs: SqsEmulator, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
}

export async function postgresStopDrill(options: { loadSeconds?: number; downSeconds?: number } = {}): Promise<DrillReport> {
  const downSeconds = options.downSeconds ?? 5;
  // A short outage runs under load throughout; a long one (the issue's 5 minutes) gets load into
  // its first seconds only: 503s for minutes would measure nothing new and load the machine.
  const loadSeconds = options.loadSeconds ?? (downSeconds <= 10 ? 18 : 12);
  const cluster = await throwawayCluster();
  const running: ServiceProcess[] = [];
  let engines: Awaited<ReturnType<typeof startEngines>> | undefined;
  try {
    const db = createDatabase({ writerUrl: cluster.url, readerUrl: cluster.url, poolMax: 2 });
    await migrate(db.writer);
    await seedCatalog(db, 1000);
    await db.close();
    // The queues as the stack builds them by default: 60 s visibility, 5 receives.
    engines = await startEngines({ databaseUrl: cluster.url, maxReceiveCount: 5 });
    // A slow processor on the long outage, so charges queue up and messages are in flight at the stop.
    const env = serviceEnv(engines, { ...RAISED_LIMITS, PAYMENT_SANDBOX_LATENCY_MS: downSeconds > 10 ? '400' : '20' });
    const order = await startServiceProcess('order', env);
    running.push(order);
    running.push(await startServiceProcess('worker', env));
    const ids = await catalogIds(order.url, 1000);
    const buyers = await mintBuyerTokens(200);
    const accepted = acceptedOrders();
    const timeline: string[] = [];
    let inFlightAtStop = 0;
    let restartedAt = 0;
    const t0 = Date.now();
    const at = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    const outage = (async () => {
      await sleep(5000);
      cluster.stop();
      timeline.push(`stopped at ${at()}`);
      const e = engines!;
      inFlightAtStop = (await depth(e.sqs, e.queueUrls.orderPlaced)) + (await depth(e.sqs, e.queueUrls.paymentResult));
      await sleep(downSeconds * 1000);
      cluster.start();
      restartedAt = Date.now();
      timeline.push(`started at ${at()}`);
    })();
    const summary = await runLoad({
      url: order.url,
      title: 'checkout during PostgreSQL outage',
      connections: 20,
      durationSeconds: loadSeconds,
      onResponse: accepted.onResponse,
      requests: [orderRequest(buyers, () => pick(ids))],
    });
    await outage;
    const orderIds = [...accepted.ids];
    const survivors = running.filter((s) => s.alive()).map((s) => s.name);
    const crashed = running.filter((s) => !s.alive()).map((s) => `${s.name} (see ${s.logFile})`);
    // After a long outage the retry backoff (up to 300 s) may hold a message back that long.
    const ledger = await waitForSettlement(cluster.url, orderIds, crashed.length ? 10_000 : downSeconds > 10 ? 330_000 : 90_000);
    const settledAfterRestartSeconds = Math.round((Date.now() - restartedAt) / 1000);
    const deadLettered = (await depth(engines.sqs, engines.queueUrls.orderPlacedDlq)) + (await depth(engines.sqs, engines.queueUrls.paymentResultDlq));
    const c503 = summary.statusCodes['503'] ?? 0;
    const c500 = summary.statusCodes['500'] ?? 0;
    return report(
      'postgres-stop',
      [
        { what: `services stayed up through the outage (${survivors.join(', ') || 'none'} up${crashed.length ? `; crashed: ${crashed.join(', ')}` : ''})`, ok: crashed.length === 0 },
        { what: `503 while the database was down (${c503}), no 500 (${c500})`, ok: c503 > 0 && c500 === 0 },
        { what: `every accepted order present exactly once: ${ledger.present}/${orderIds.length}`, ok: ledger.present === orderIds.length },
        { what: `every accepted order reached a final status: ${ledger.settled}/${orderIds.length}`, ok: ledger.settled === orderIds.length },
        { what: `one payment per accepted order (${ledger.ordersWithoutExactlyOnePayment} not)`, ok: ledger.ordersWithoutExactlyOnePayment === 0 },
        { what: `no message dead-lettered (${deadLettered})`, ok: deadLettered === 0 },
      ],
      {
        timeline: timeline.join('; '),
        'down s': downSeconds,
        'accepted orders': orderIds.length,
        'messages in the queues when PostgreSQL stopped': inFlightAtStop,
        's from restart until the wait for settlement ended': settledAfterRestartSeconds,
        'status codes': JSON.stringify(summary.statusCodes),
        'connection errors': summary.errors,
        timeouts: summary.timeouts,
        'p99 ms': summary.latencyMs.p99,
        'order statuses': JSON.stringify(ledger.statuses),
      },
    );
  } finally {
    for (const s of running.reverse()) await s.stop().catch(() => undefined);
    await engines?.stop();
    cluster.destroy();
  }
}
