// SIGTERM to the order service under checkout load: every request the service had accepted must be
// answered (zero failed in-flight requests), it must exit 0, and every 202 order must be in the
// database. Our own keep-alive client tells "refused: the listener was already closed" (never in
// flight; a load balancer would have sent it elsewhere) from "sent, then failed".
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { mintBuyerTokens, RAISED_LIMITS, serviceEnv, startEngines, startServiceProcess } from '../lib/stack';
import { requestOutcome } from '../../services/test-support/testing';
import { catalogIds } from '../scenarios';
import { orderLedger, report, sleep, type DrillReport } from './common';

export async function sigtermUnderLoadDrill(options: { connections?: number; beforeSeconds?: number } = {}): Promise<DrillReport> {
  const connections = options.connections ?? 50;
  const engines = await startEngines({ products: 1000 });
  const order = await startServiceProcess('order', serviceEnv(engines, RAISED_LIMITS));
  try {
    const ids = await catalogIds(order.url, 1000);
    const buyers = await mintBuyerTokens(200);
    const { port } = new URL(order.url);
    const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
    const counts = { ok: 0, rejected4xx: 0, failed5xx: 0, refused: 0, failedInFlight: 0 };
    const accepted: string[] = [];
    let stopped = false;

    const oneRequest = async () => {
      const body = JSON.stringify({ items: [{ productId: ids[Math.floor(Math.random() * ids.length)], quantity: 1 }] });
      const outcome = await requestOutcome(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/orders',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${buyers[Math.floor(Math.random() * buyers.length)]}`,
            'idempotency-key': randomUUID(),
          },
        },
        body,
      );
      if (outcome.kind === 'refused') counts.refused++;
      else if (outcome.kind === 'cut') counts.failedInFlight++;
      else if (outcome.status === 202) {
        counts.ok++;
        accepted.push((JSON.parse(outcome.body) as { id: string }).id);
      } else if (outcome.status >= 500) counts.failed5xx++;
      else counts.rejected4xx++;
    };

    const clients = Array.from({ length: connections }, async () => {
      while (!stopped) await oneRequest();
    });
    await sleep((options.beforeSeconds ?? 4) * 1000);
    const signalledAt = Date.now();
    const okBefore = counts.ok;
    order.child.kill('SIGTERM');
    const exitCode = await order.exited;
    const drainMs = Date.now() - signalledAt;
    await sleep(500);
    stopped = true;
    await Promise.all(clients);
    agent.destroy();
    const ledger = await orderLedger(engines.databaseUrl, accepted);
    return report(
      'sigterm-under-load',
      [
        { what: `zero failed in-flight requests (${counts.failedInFlight} reset after being sent, ${counts.failed5xx} 5xx)`, ok: counts.failedInFlight === 0 && counts.failed5xx === 0 },
        { what: `exited 0 after draining (got ${exitCode})`, ok: exitCode === 0 },
        { what: `every 202 order is in the database: ${ledger.present}/${accepted.length}`, ok: ledger.present === accepted.length },
      ],
      {
        connections,
        'orders accepted before SIGTERM': okBefore,
        'orders accepted during drain': counts.ok - okBefore,
        'refused after the listener closed (not in flight)': counts.refused,
        '4xx': counts.rejected4xx,
        'SIGTERM to exit ms': drainMs,
      },
    );
  } finally {
    await order.stop().catch(() => undefined);
    await engines.stop();
  }
}
