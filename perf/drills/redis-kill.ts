// Redis killed under browse load: product reads must keep answering from the database (error rate
// <= 0.1%) while Redis is down, and the cache must serve hits again after Redis returns.
import { runLoad } from '../lib/load-run';
import { RAISED_LIMITS, serviceEnv, startEngines, startServiceProcess } from '../lib/stack';
import { catalogIds, productReadRequest } from '../scenarios';
import { report, sleep, waitUntil, type DrillReport } from './common';

export async function redisKillDrill(options: { loadSeconds?: number; downSeconds?: number } = {}): Promise<DrillReport> {
  const loadSeconds = options.loadSeconds ?? 20;
  const downSeconds = options.downSeconds ?? 8;
  const engines = await startEngines({ products: 1000 });
  const order = await startServiceProcess('order', serviceEnv(engines, RAISED_LIMITS));
  try {
    const ids = await catalogIds(order.url, 200);
    const hot = ids[0];
    const events: string[] = [];
    const t0 = Date.now();
    const at = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    let recoverySeconds = -1;
    const chaos = (async () => {
      await sleep(5000);
      await engines.redis!.stop();
      events.push(`Redis SIGKILLed at ${at()}`);
      await sleep(downSeconds * 1000);
      await engines.redis!.start();
      const back = Date.now();
      events.push(`Redis restarted (empty) at ${at()}`);
      // Recovery: the breaker's trial call closes it and reads are cached again.
      const ok = await waitUntil(async () => {
        await fetch(`${order.url}/api/products/${hot}`);
        const r = await fetch(`${order.url}/api/products/${hot}`);
        return r.headers.get('x-cache') === 'HIT';
      }, 20_000);
      if (ok) recoverySeconds = Math.round((Date.now() - back) / 100) / 10;
    })();
    const summary = await runLoad({
      url: order.url,
      title: 'browse during Redis outage',
      connections: 20,
      durationSeconds: loadSeconds,
      requests: [productReadRequest(ids)],
    });
    await chaos;
    const ok200 = summary.statusCodes['200'] ?? 0;
    const failed = summary.requests - ok200 + summary.errors + summary.timeouts;
    const errorRate = failed / Math.max(1, summary.requests + summary.errors + summary.timeouts);
    return report(
      'redis-kill',
      [
        { what: `error rate <= 0.1% while Redis was down: ${(errorRate * 100).toFixed(3)}% (${failed} of ${summary.requests})`, ok: errorRate <= 0.001 },
        { what: `cache hits again after Redis returned (${recoverySeconds} s)`, ok: recoverySeconds >= 0 },
      ],
      {
        timeline: events.join('; '),
        'requests/s': summary.requestsPerSecond,
        'p99 ms': summary.latencyMs.p99,
        'max ms': summary.latencyMs.max,
        'status codes': JSON.stringify(summary.statusCodes),
        'X-Cache hit ratio over the run': summary.cache.hitRatio ?? '-',
        'recovery s': recoverySeconds,
      },
    );
  } finally {
    await order.stop().catch(() => undefined);
    await engines.stop();
  }
}
