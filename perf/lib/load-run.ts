// One load run on autocannon and its summary: requests/s, latency percentiles, status codes, errors
// and the cache hit ratio read from each response's X-Cache header. Every run is bounded by a
// duration or a request count, so it always stops by itself.
import autocannon from 'autocannon';

export interface LoadRequest {
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Rewrites the request just before it is sent (unique Idempotency-Key, rotating buyer). */
  setup?: (request: { path: string; headers: Record<string, string>; body?: string }) => {
    path: string;
    headers: Record<string, string>;
    body?: string;
  };
}

export interface LoadOptions {
  url: string;
  title: string;
  requests: LoadRequest[];
  connections: number;
  /** Seconds; ignored when `amount` is set. */
  durationSeconds: number;
  /** Stop after this many requests instead of after a duration. */
  amount?: number;
  /**
   * How often autocannon looks whether the run is over, in ms (its `sampleInt`). A run ends at the
   * first look after its duration has passed or its `amount` has been answered, and its summary's
   * duration runs until then: with the default a run of 0.3 s, or of a few dozen requests, takes a
   * whole second. Nothing else in the summary depends on it (it reads no per-sample figure).
   * @default 1000 (autocannon's)
   */
  checkIntervalMs?: number;
  /** Draw a progress bar on stderr. */
  progress?: boolean;
  /** Per-response callback (status, body), e.g. to collect accepted order ids. */
  onResponse?: (status: number, body: string) => void;
  /** Seconds before a request counts as timed out. @default 10 */
  timeoutSeconds?: number;
  /**
   * Caps the request rate over all connections (autocannon's `overallRate`), in whole requests per
   * second; autocannon then opens at most this many connections.
   * @default no cap: each connection sends its next request as soon as the last one is answered
   */
  ratePerSecond?: number;
  /** Aborting it ends the run early; the summary covers what ran until then. */
  signal?: AbortSignal;
  /** Called once per request as it ends, from autocannon's `response` and `reqError` events. */
  onOutcome?: (outcome: RequestOutcome) => void;
}

/** How one request ended: a status and its latency, or an error without a response (`timeout`, `ECONNRESET`, ...). */
export type RequestOutcome = { status: number; latencyMs: number } | { error: string };

export interface LoadSummary {
  title: string;
  connections: number;
  durationSeconds: number;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  statusCodes: Record<string, number>;
  /** Connection errors and timeouts (no HTTP status). */
  errors: number;
  timeouts: number;
  cache: { hits: number; misses: number; hitRatio: number | null };
}

export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  let hits = 0;
  let misses = 0;
  const onResponse = (status: number, body: string, _context: unknown, headers: Record<string, string>) => {
    const xCache = headers?.['x-cache'] ?? headers?.['X-Cache'];
    if (xCache === 'HIT') hits++;
    else if (xCache === 'MISS') misses++;
    options.onResponse?.(status, body);
  };
  const requests = options.requests.map((r) => ({
    method: r.method ?? 'GET',
    path: r.path,
    headers: { ...(r.body ? { 'content-type': 'application/json' } : {}), ...r.headers },
    body: r.body,
    onResponse,
    ...(r.setup
      ? {
          setupRequest: (req: { path: string; headers: Record<string, string>; body?: string }) => ({ ...req, ...r.setup!(req) }),
        }
      : {}),
  }));
  let instance!: autocannon.Instance;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.durationSeconds }),
    ...(options.checkIntervalMs ? { sampleInt: options.checkIntervalMs } : {}),
    timeout: options.timeoutSeconds ?? 10,
    ...(options.ratePerSecond ? { overallRate: options.ratePerSecond } : {}),
    requests: requests as autocannon.Request[],
    }, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const onOutcome = options.onOutcome;
  if (onOutcome) {
    instance.on('response', (_client, status, _bytes, latencyMs) => onOutcome({ status, latencyMs }));
    instance.on('reqError', (error: NodeJS.ErrnoException) => onOutcome({ error: requestErrorKind(error) }));
  }
  if (options.signal?.aborted) instance.stop();
  else options.signal?.addEventListener('abort', () => instance.stop(), { once: true });
  if (options.progress) {
    autocannon.track(instance, { outputStream: process.stderr, renderProgressBar: true, renderResultsTable: false, renderLatencyTable: false });
  }
  const result = await finished;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = (stat as { count: number }).count;
  const done = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  return {
    title: options.title,
    connections: options.connections,
    durationSeconds: round(result.duration, 2),
    requests: done,
    requestsPerSecond: round(done / Math.max(result.duration, 0.001), 0),
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: round(result.latency.mean, 2),
    },
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    cache: { hits, misses, hitRatio: hits + misses > 0 ? round(hits / (hits + misses), 4) : null },
  };
}

/** autocannon reports a timeout as an Error without a code, and socket errors with Node's code. */
function requestErrorKind(error: NodeJS.ErrnoException): string {
  if (error?.message === 'request timed out') return 'timeout';
  return error?.code ?? 'socket error';
}

/** The middle value (the upper one of the two middles for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** "30s", "2m", "500ms" or a bare number of seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`--duration must look like 30s, 2m or 500ms, got "${text}"`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}

/** The result table the load tool and the drills print. */
export function formatSummaries(summaries: LoadSummary[]): string {
  const header = ['run', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'requests', 'status codes', 'errors', 'cache hit'];
  const rows = summaries.map((s) => [
    s.title,
    String(s.requestsPerSecond),
    String(s.latencyMs.p50),
    String(s.latencyMs.p90),
    String(s.latencyMs.p99),
    String(s.requests),
    Object.entries(s.statusCodes)
      .map(([code, n]) => `${code}:${n}`)
      .join(' ') || '-',
    String(s.errors + s.timeouts),
    s.cache.hitRatio === null ? '-' : `${(s.cache.hitRatio * 100).toFixed(1)}%`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
