// `npx tsx perf/source-vs-bundle.ts [--rounds 3] [--duration 5s]`: the cached product read of the
// order service run from source (services/order/main.ts under tsx, as `npm start` and the drills run
// it) and from the fleet's bundle (as `npm run bench` and the fleets run it), side by side on one stack,
// taking turns, both with the fleets' V8 flags. Prints req/s and server CPU per request of each round.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { parseDuration, runLoad } from './lib/load-run';
import { RAISED_LIMITS, readProcessCpu, serviceBundle, serviceEnv, startEngines, startServiceProcess } from './lib/stack';
import { catalogIds } from './scenarios';

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '5s' } } });
  const engines = await startEngines({ products: 100 });
  const env = serviceEnv(engines, RAISED_LIMITS);
  const processes = [
    { label: 'source (tsx)', p: await startServiceProcess('order', env, { tag: 'order-source' }) },
    { label: 'bundle', p: await startServiceProcess('order', env, { entry: serviceBundle('order'), tag: 'order-bundle' }) },
  ];
  try {
    const [hot] = await catalogIds(processes[0].p.url, 100);
    const path = `/api/products/${hot}`;
    console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    for (let round = 1; round <= Number(values.rounds); round++) {
      const figures: string[] = [];
      for (const { label, p } of processes) {
        await fetch(`${p.url}${path}`).then((r) => r.arrayBuffer());
        const cpuBefore = readProcessCpu(p.child.pid!)?.cpuMs ?? 0;
        const summary = await runLoad({ url: p.url, title: label, requests: [{ path }], connections: 50, durationSeconds: parseDuration(values.duration!) });
        const cpuUs = ((readProcessCpu(p.child.pid!)?.cpuMs ?? 0) - cpuBefore) * 1000 / Math.max(1, summary.requests);
        figures.push(`${label}: ${summary.requestsPerSecond} req/s, ${cpuUs.toFixed(1)} us CPU/request, p99 ${summary.latencyMs.p99} ms`);
      }
      console.log(`round ${round}: ${figures.join('; ')}`);
    }
    console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    for (const { p } of processes) await p.stop();
    await engines.stop();
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
