// Waiting-room drill: `shoppers` buyers want `units` units of a sale product. Two sales run one after
// the other against the same order process, side by side:
// 1. without the waiting room: every shopper orders product B at once (over `connections` connections);
// 2. with it: every shopper joins the queue of product A's sale event (over the same connections)
//    while a driver polls the event's status, asks admission for the shoppers whose turn it should
//    be (and for a few beyond, who must be refused), and sends each admitted shopper's order at once.
// Passes when positions are 1..N with one per shopper, nobody is refused admission after someone
// behind them was admitted (0 inversions), no order without admission gets through, and neither sale
// oversells. Reports the p99 of the admitted shoppers' orders next to the crowd's, and the queue
// endpoints' throughput. Loopback only; bounded by the shopper count and a deadline.
import http from 'node:http';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { runLoad } from '../lib/load-run';
import { mintBuyerTokens, RAISED_LIMITS, serviceEnv, startEngines, startServiceProcess, type ServiceProcess } from '../lib/stack';
import { report, sleep, type DrillReport } from './common';
import { searchPathOption } from '../../services/platform/ownership';

export interface WaitingRoomDrillOptions {
  shoppers: number;
  units: number;
  /** The event's configured inlet, shoppers per second. */
  inletPerSecond: number;
  /** Concurrent connections of the crowd (joins, and the sale without a waiting room). */
  connections: number;
  /** Seconds of GET status load for the throughput figure. @default 5 */
  statusSeconds?: number;
}

export const FULL_WAITING_ROOM: WaitingRoomDrillOptions = { shoppers: 10_000, units: 1000, inletPerSecond: 200, connections: 200 };

const EVENT_ID = 'drill-sale';
const ADMISSION_KEY = 'surge-perf-waiting-room-key-for-loopback-drills-only';
/** Shoppers past the announced admission the driver also asks, to catch anyone let in out of turn. */
const PROBES_BEYOND = 20;
/** Concurrent admission requests of the driver. */
const ADMISSION_CONCURRENCY = 20;
/** How often the driver reads the event's status (a shopper's page polls about once a second). */
const POLL_MS = 100;

interface Answer {
  status: number;
  body: string;
  ms: number;
  sentAt: number;
  doneAt: number;
}

/** A keep-alive client of one origin: at most `sockets` connections, latency measured per request. */
function client(baseUrl: string, sockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const { hostname, port } = new URL(baseUrl);
  const send = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    new Promise<Answer>((resolve, reject) => {
      const sentAt = performance.now();
      const req = http.request({ agent, hostname, port, method, path, headers: body ? { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : headers, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const doneAt = performance.now();
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: doneAt - sentAt, sentAt, doneAt });
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

/** Runs `work` over `items` with `concurrency` workers; resolves when all are done. */
async function pool<T>(items: Iterable<T>, concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  const worker = async () => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) await work(next.value);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((sorted.length * p) / 100) - 1)] * 10) / 10;
}

export async function waitingRoomDrill(options: WaitingRoomDrillOptions): Promise<DrillReport> {
  const { shoppers: count, units, inletPerSecond, connections } = options;
  const loadAtStart = loadavg()[0].toFixed(1);
  const engines = await startEngines({ products: 100 });
  const services: ServiceProcess[] = [];
  const db = new pg.Client({ connectionString: engines.databaseUrl, options: searchPathOption() });
  await db.connect();
  try {
    // SKU-000001 and SKU-000002 cost N.99: both sales are of products the sandbox would approve.
    const productOf = async (sku: string) =>
      (await db.query<{ id: string }>('UPDATE products SET stock = $1 WHERE sku = $2 RETURNING id', [units, sku])).rows[0].id;
    const saleProduct = await productOf('SKU-000001');
    const crowdProduct = await productOf('SKU-000002');
    const now = Date.now();
    const event = { eventId: EVENT_ID, name: 'Drill sale', startsAt: new Date(now - 60_000).toISOString(), endsAt: new Date(now + 3600_000).toISOString(), productIds: [saleProduct], inletPerSecond };
    const env = serviceEnv(engines, { ...RAISED_LIMITS, WAITING_ROOM_EVENTS: JSON.stringify([event]), WAITING_ROOM_ADMISSION_KEY: ADMISSION_KEY, LOG_LEVEL: 'warn' });
    const order = await startServiceProcess('order', env, { tag: 'order-waiting-room' });
    services.push(order);
    const tokens = await mintBuyerTokens(count);
    // One client per role, each with as many connections as it has workers, so a request's latency
    // never includes waiting for another role's connection: the crowd (joins), the driver (status and
    // admissions), and orders (the crowd's in sale 1, the admitted shoppers' in sale 2).
    const crowdClient = client(order.url, connections);
    const driverClient = client(order.url, ADMISSION_CONCURRENCY + 1);
    const orderClient = client(order.url, connections);
    const auth = (i: number) => ({ authorization: `Bearer ${tokens[i]}` });
    const orderBody = (productId: string) => JSON.stringify({ items: [{ productId, quantity: 1 }] });
    const placeOrder = (i: number, productId: string, admission?: string) =>
      orderClient.send('POST', '/api/orders', { ...auth(i), 'idempotency-key': randomUUID(), ...(admission ? { 'surge-admission': admission } : {}) }, orderBody(productId));

    // 1. Without a waiting room: the whole crowd orders product B at once.
    const crowd: Answer[] = [];
    const crowdStarted = performance.now();
    await pool(Array.from({ length: count }, (_, i) => i), connections, async (i) => {
      crowd.push(await placeOrder(i, crowdProduct));
    });
    const crowdSeconds = (performance.now() - crowdStarted) / 1000;

    // The gate: no order of the sale product without an admission.
    const ungated = await placeOrder(0, saleProduct);
    // Long enough for the order latencies of sale 1 to leave the inlet controller's window.
    await sleep(3000);

    // 2. With the waiting room.
    const positions: number[] = new Array(count).fill(0);
    const joinAnswers: Answer[] = [];
    const admissions: Array<{ position: number; doneAt: number }> = [];
    const refusals: Array<{ position: number; sentAt: number }> = [];
    const admittedOrders: Answer[] = [];
    const orderQueue: Array<{ shopper: number; token: string }> = [];
    const inletSeen = new Set<number>();
    let statusReads = 0;
    const polls: Array<{ sentAt: number; admittedThrough: number }> = [];
    const known = new Set<number>(); // shoppers whose place the driver knows, not yet admitted
    const tickets = new Map<number, string>();
    let joinsDone = false;
    let failures = 0;
    let joinRetries = 0;
    let joinsRetried = 0;
    let placesFoundOnRetry = 0;
    const failedStatuses: number[] = [];

    const joining = (async () => {
      await pool(Array.from({ length: count }, (_, i) => i), connections, async (i) => {
        // A shopper whose join meets a 503 (Redis slower than its command timeout) tries again, as the
        // storefront does; the retries are reported.
        let answer = await crowdClient.send('POST', `/api/waiting-room/${EVENT_ID}/tickets`, auth(i));
        let attempt = 1;
        for (; answer.status === 503 && attempt < 10; attempt++) {
          joinRetries++;
          if (attempt === 1) joinsRetried++;
          await sleep(100 * attempt);
          answer = await crowdClient.send('POST', `/api/waiting-room/${EVENT_ID}/tickets`, auth(i));
          if (answer.status === 200) placesFoundOnRetry++;
        }
        joinAnswers.push(answer);
        // 200 after a retry: the attempt that timed out had taken the place (the join is idempotent).
        if (answer.status !== 201 && !(answer.status === 200 && attempt > 1)) {
          failedStatuses.push(answer.status);
          return void failures++;
        }
        const { position, ticket } = JSON.parse(answer.body) as { position: number; ticket: string };
        positions[i] = position;
        tickets.set(i, ticket);
        known.add(i);
      });
      joinsDone = true;
    })();
    const joinStarted = performance.now();
    let joinSeconds = 0;
    let joinsEndedAt = Infinity;
    void joining.then(() => {
      joinsEndedAt = performance.now();
      joinSeconds = (joinsEndedAt - joinStarted) / 1000;
    });

    // Each admitted shopper orders at once, through the same connections the crowd used.
    let ordering = true;
    const orderWorkers = Array.from({ length: connections }, async () => {
      while (ordering || orderQueue.length > 0) {
        const next = orderQueue.shift();
        if (!next) {
          await sleep(5);
          continue;
        }
        admittedOrders.push(await placeOrder(next.shopper, saleProduct, next.token));
      }
    });

    // The driver: a poller reads the status every POLL_MS and queues the shoppers it says are admitted,
    // plus the next few behind them (probes, who must be refused); admission workers take from the queue.
    const deadline = Date.now() + Math.ceil((count / inletPerSecond) * 3) * 1000 + 60_000;
    let admitted = 0;
    const due: number[] = [];
    const queued = new Set<number>();
    const finished = () => admitted >= count || Date.now() > deadline || (joinsDone && known.size === 0);
    const poller = (async () => {
      while (!finished()) {
        const status = await driverClient.send('GET', `/api/waiting-room/${EVENT_ID}`);
        statusReads++;
        const { admittedThrough, inletPerSecond: rate } = JSON.parse(status.body) as { admittedThrough: number; inletPerSecond: number };
        inletSeen.add(rate);
        polls.push({ sentAt: status.sentAt, admittedThrough });
        const candidates: number[] = [];
        for (const i of known) if (!queued.has(i) && positions[i] <= admittedThrough + PROBES_BEYOND) candidates.push(i);
        // Probes go first, so they are asked while the status just read is still close to the truth.
        const probes: number[] = [];
        for (const i of candidates.sort((a, b) => positions[a] - positions[b])) {
          queued.add(i);
          if (positions[i] > admittedThrough) probes.push(i);
          else due.push(i);
        }
        due.unshift(...probes);
        await sleep(POLL_MS);
      }
    })();
    const admitters = Array.from({ length: ADMISSION_CONCURRENCY }, async () => {
      while (!finished()) {
        const i = due.shift();
        if (i === undefined) {
          await sleep(5);
          continue;
        }
        const answer = await driverClient.send('POST', `/api/waiting-room/${EVENT_ID}/admission`, auth(i), JSON.stringify({ ticket: tickets.get(i) }));
        queued.delete(i);
        if (answer.status === 200) {
          admissions.push({ position: positions[i], doneAt: answer.doneAt });
          known.delete(i);
          admitted++;
          orderQueue.push({ shopper: i, token: (JSON.parse(answer.body) as { admissionToken: string }).admissionToken });
        } else if (answer.status === 409) {
          refusals.push({ position: positions[i], sentAt: answer.sentAt });
        } else {
          failedStatuses.push(answer.status);
          failures++;
        }
      }
    });
    await Promise.all([poller, ...admitters]);
    await joining;
    ordering = false;
    await Promise.all(orderWorkers);

    // A refresh keeps your place: every 20th shopper joins again and must get 200 and the same place.
    let placesKept = 0;
    let rejoined = 0;
    await pool(Array.from({ length: Math.ceil(count / 20) }, (_, k) => k * 20), ADMISSION_CONCURRENCY, async (i) => {
      const again = await driverClient.send('POST', `/api/waiting-room/${EVENT_ID}/tickets`, auth(i));
      rejoined++;
      if (again.status === 200 && (JSON.parse(again.body) as { position: number }).position === positions[i]) placesKept++;
    });

    // The queue endpoints' throughput: the status read every waiting shopper polls (at the origin,
    // as if CloudFront cached nothing).
    const statusLoad = await runLoad({
      url: order.url,
      title: 'waiting-room status',
      connections: 50,
      durationSeconds: options.statusSeconds ?? 5,
      requests: [{ method: 'GET', path: `/api/waiting-room/${EVENT_ID}` }],
    });
    for (const c of [crowdClient, driverClient, orderClient]) c.close();

    // Inversions: a refusal sent after someone behind that shopper had been admitted.
    const byTime = [...admissions].sort((a, b) => a.doneAt - b.doneAt);
    const maxBehind: Array<{ doneAt: number; max: number }> = [];
    for (const a of byTime) maxBehind.push({ doneAt: a.doneAt, max: Math.max(a.position, maxBehind.at(-1)?.max ?? 0) });
    let inversions = 0;
    for (const r of refusals) {
      let lo = 0;
      let hi = maxBehind.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (maxBehind[mid].doneAt < r.sentAt) lo = mid + 1;
        else hi = mid;
      }
      if (lo > 0 && maxBehind[lo - 1].max > r.position) inversions++;
    }
    // Ahead of the inlet: a grant of position q that a status read sent after it still put beyond
    // admission (admittedThrough only grows, so a fair grant is always covered by later reads).
    let ahead = 0;
    for (const a of admissions) {
      const later = polls.find((poll) => poll.sentAt > a.doneAt);
      if (later && later.admittedThrough < a.position) ahead++;
    }
    const sortedPositions = positions.filter((p) => p > 0).sort((a, b) => a - b);
    const positionsExact = sortedPositions.length === count && sortedPositions.every((p, i) => p === i + 1);

    const sold = async (productId: string) => {
      const stock = (await db.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [productId])).rows[0].stock;
      const orders = Number((await db.query<{ n: string }>('SELECT coalesce(sum(quantity), 0) AS n FROM order_items WHERE product_id = $1', [productId])).rows[0].n);
      return { stock, orders };
    };
    const sale = await sold(saleProduct);
    const crowdSale = await sold(crowdProduct);
    const codes = (answers: Answer[]) => answers.reduce<Record<string, number>>((c, a) => ({ ...c, [a.status]: (c[a.status] ?? 0) + 1 }), {});
    const accepted = (answers: Answer[]) => answers.filter((a) => a.status === 202);
    const admittedCodes = codes(admittedOrders);
    const crowdCodes = codes(crowd);

    return report(
      'waiting-room',
      [
        { what: `every shopper joined once and positions are exactly 1..${count} (${sortedPositions.length} positions, ${failures} failed requests)`, ok: positionsExact && failures === 0 },
        { what: `a second join keeps the place (200, same position): ${placesKept}/${rejoined}`, ok: placesKept === rejoined },
        { what: `every shopper admitted: ${admitted}/${count}`, ok: admitted === count },
        { what: `0 inversions: nobody refused after someone behind them was admitted (${inversions} in ${refusals.length} refusals)`, ok: inversions === 0 },
        { what: `nobody admitted ahead of the inlet (${ahead} grants beyond a later status read's admittedThrough)`, ok: ahead === 0 },
        { what: `an order without admission is refused 403 waiting_room_required (${ungated.status})`, ok: ungated.status === 403 && ungated.body.includes('waiting_room_required') },
        { what: `0 oversold with the waiting room: ${sale.orders} sold, stock left ${sale.stock}, ${accepted(admittedOrders).length} accepted`, ok: sale.orders + sale.stock === units && sale.orders <= units && accepted(admittedOrders).length === Math.min(units, count) },
        { what: `0 oversold without it: ${crowdSale.orders} sold, stock left ${crowdSale.stock}`, ok: crowdSale.orders + crowdSale.stock === units && crowdSale.orders <= units },
        { what: `admitted shoppers' orders answered 202 or 409 sold out only (${JSON.stringify(admittedCodes)})`, ok: Object.keys(admittedCodes).every((c) => c === '202' || c === '409') },
      ],
      {
        shoppers: count,
        units,
        connections,
        'inlet configured /s': inletPerSecond,
        'inlet seen /s': [...inletSeen].sort((a, b) => a - b).join(', '),
        'without waiting room: order p50 ms': percentile(crowd.map((a) => a.ms), 50),
        'without waiting room: order p99 ms': percentile(crowd.map((a) => a.ms), 99),
        'without waiting room: accepted order p99 ms': percentile(accepted(crowd).map((a) => a.ms), 99),
        'without waiting room: status codes': JSON.stringify(crowdCodes),
        'without waiting room: sale took s': Math.round(crowdSeconds * 10) / 10,
        'admitted shoppers: order p50 ms': percentile(admittedOrders.map((a) => a.ms), 50),
        'admitted shoppers: order p99 ms': percentile(admittedOrders.map((a) => a.ms), 99),
        'admitted shoppers: accepted order p99 ms': percentile(accepted(admittedOrders).map((a) => a.ms), 99),
        'admitted shoppers: order p99 ms once the joins were over': percentile(admittedOrders.filter((a) => a.sentAt > joinsEndedAt).map((a) => a.ms), 99),
        'admitted shoppers: orders sent once the joins were over': admittedOrders.filter((a) => a.sentAt > joinsEndedAt).length,
        'admitted shoppers: status codes': JSON.stringify(admittedCodes),
        'join throughput req/s': Math.round(count / Math.max(joinSeconds, 0.001)),
        'join p99 ms': percentile(joinAnswers.map((a) => a.ms), 99),
        'joins retried after a 503 (attempts)': `${joinsRetried} (${joinRetries})`,
        'retries answered 200: the timed-out attempt had taken the place': placesFoundOnRetry,
        'failed requests by status': JSON.stringify(failedStatuses.reduce<Record<string, number>>((c, st) => ({ ...c, [st]: (c[st] ?? 0) + 1 }), {})),
        'status throughput req/s (50 connections)': statusLoad.requestsPerSecond,
        'status p99 ms': statusLoad.latencyMs.p99,
        'admission refusals (probes) / grants': `${refusals.length} / ${admissions.length}`,
        'status reads by the driver': statusReads,
        'max RSS order MB': order.rssMb(),
        'load average at start / end (1 min, 2 cores shared)': `${loadAtStart} / ${loadavg()[0].toFixed(1)}`,
      },
    );
  } finally {
    await db.end().catch(() => undefined);
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
    await engines.stop();
  }
}
