// Metrics in CloudWatch Embedded Metric Format (EMF). Chosen over Prometheus because the fleets
// already ship stdout to CloudWatch Logs, which turns EMF lines into metrics with no scraper, no
// extra port and no metrics server to run. Per-request EMF lines would cost more than the request
// (see FIELD-NOTES), so values are aggregated in process and written as one JSON line per
// dimension set every `flushMs`: counters as sums, latencies as up to 100 uniformly sampled values
// per series and interval (enough for p50/p99 on CloudWatch; the exact count is the Requests counter).
export type Dimensions = Record<string, string>;

export interface Metrics {
  count(name: string, dimensions: Dimensions, value?: number): void;
  timing(name: string, dimensions: Dimensions, milliseconds: number): void;
  /** Writes what was aggregated since the last flush. */
  flush(): void;
  /** Stops the timer and flushes one last time. */
  stop(): void;
}

export interface MetricsOptions {
  /** Added as the `Service` dimension of every metric. */
  service: string;
  /** CloudWatch namespace. @default 'Surge' */
  namespace?: string;
  /** Flush interval; 0 turns metrics off (local runs and tests): nothing is written. */
  flushMs: number;
  /** Where EMF lines go. @default stdout */
  write?: (line: string) => void;
}

const SAMPLES_PER_SERIES = 100;

interface Series {
  unit: 'Count' | 'Milliseconds';
  sum: number;
  seen: number;
  samples: number[];
}

export function createMetrics(options: MetricsOptions): Metrics {
  const namespace = options.namespace ?? 'Surge';
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  // dimension-set key -> (dimensions, metric name -> series)
  let groups = new Map<string, { dimensions: Dimensions; series: Map<string, Series> }>();

  // Callers on the request path pass the same dimensions object every time (one per route; it must not
  // be changed afterwards), so its canonical key is computed once per object, not sorted per request.
  const keys = new WeakMap<Dimensions, string>();
  const seriesFor = (name: string, dims: Dimensions, unit: Series['unit']): Series => {
    let key = keys.get(dims);
    if (key === undefined) {
      key = JSON.stringify(Object.entries({ Service: options.service, ...dims }).sort(([a], [b]) => a.localeCompare(b)));
      keys.set(dims, key);
    }
    let group = groups.get(key);
    if (!group) {
      group = { dimensions: { Service: options.service, ...dims }, series: new Map() };
      groups.set(key, group);
    }
    let series = group.series.get(name);
    if (!series) {
      series = { unit, sum: 0, seen: 0, samples: [] };
      group.series.set(name, series);
    }
    return series;
  };

  const flush = () => {
    const current = groups;
    groups = new Map();
    const timestamp = Date.now();
    for (const { dimensions, series } of current.values()) {
      const doc: Record<string, unknown> = {
        _aws: {
          Timestamp: timestamp,
          CloudWatchMetrics: [
            {
              Namespace: namespace,
              Dimensions: [Object.keys(dimensions)],
              Metrics: [...series].map(([name, s]) => ({ Name: name, Unit: s.unit })),
            },
          ],
        },
        ...dimensions,
      };
      for (const [name, s] of series) doc[name] = s.unit === 'Count' ? s.sum : s.samples;
      write(JSON.stringify(doc));
    }
  };

  const timer = options.flushMs > 0 ? setInterval(flush, options.flushMs) : undefined;
  timer?.unref();

  return {
    count(name, dimensions, value = 1) {
      seriesFor(name, dimensions, 'Count').sum += value;
    },
    timing(name, dimensions, milliseconds) {
      const s = seriesFor(name, dimensions, 'Milliseconds');
      s.seen += 1;
      const value = Math.round(milliseconds * 10) / 10;
      if (s.samples.length < SAMPLES_PER_SERIES) {
        s.samples.push(value);
      } else {
        // Reservoir sampling keeps every observation equally likely to be reported.
        const i = Math.floor(Math.random() * s.seen);
        if (i < SAMPLES_PER_SERIES) s.samples[i] = value;
      }
    },
    flush,
    stop() {
      if (timer) clearInterval(timer);
      if (options.flushMs > 0) flush();
    },
  };
}
