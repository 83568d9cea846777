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
  /** `count` bound to one series, for the request path: each call is one addition, no lookup. */
  counter(name: string, dimensions: Dimensions): (value?: number) => void;
  /** `timing` bound to one series, for the request path. */
  timer(name: string, dimensions: Dimensions): (milliseconds: number) => void;
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
  /** Observations since the last flush; 0 = nothing to write. */
  seen: number;
  samples: number[];
}

interface Group {
  dimensions: Dimensions;
  series: Map<string, Series>;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const namespace = options.namespace ?? 'Surge';
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  // Groups and series live as long as the process (dimension sets are few: routes, policies, caches),
  // so bound counters stay valid across flushes; a flush writes and resets what was touched.
  const groups = new Map<string, Group>();
  // Dimension objects passed again and again map to their group without building the key each time.
  const groupOf = new WeakMap<Dimensions, Group>();

  const seriesFor = (name: string, dims: Dimensions, unit: Series['unit']): Series => {
    let group = groupOf.get(dims);
    if (!group) {
      const key = JSON.stringify(Object.entries({ Service: options.service, ...dims }).sort(([a], [b]) => a.localeCompare(b)));
      group = groups.get(key);
      if (!group) {
        group = { dimensions: { Service: options.service, ...dims }, series: new Map() };
        groups.set(key, group);
      }
      groupOf.set(dims, group);
    }
    let series = group.series.get(name);
    if (!series) {
      series = { unit, sum: 0, seen: 0, samples: [] };
      group.series.set(name, series);
    }
    return series;
  };

  const add = (s: Series, value: number) => {
    s.sum += value;
    s.seen += 1;
  };
  const sample = (s: Series, milliseconds: number) => {
    s.seen += 1;
    const value = Math.round(milliseconds * 10) / 10;
    if (s.samples.length < SAMPLES_PER_SERIES) {
      s.samples.push(value);
    } else {
      // Reservoir sampling keeps every observation equally likely to be reported.
      const i = Math.floor(Math.random() * s.seen);
      if (i < SAMPLES_PER_SERIES) s.samples[i] = value;
    }
  };

  const flush = () => {
    const timestamp = Date.now();
    for (const { dimensions, series } of groups.values()) {
      const touched = [...series].filter(([, s]) => s.seen > 0);
      if (touched.length === 0) continue;
      const doc: Record<string, unknown> = {
        _aws: {
          Timestamp: timestamp,
          CloudWatchMetrics: [
            {
              Namespace: namespace,
              Dimensions: [Object.keys(dimensions)],
              Metrics: touched.map(([name, s]) => ({ Name: name, Unit: s.unit })),
            },
          ],
        },
        ...dimensions,
      };
      for (const [name, s] of touched) {
        doc[name] = s.unit === 'Count' ? s.sum : s.samples;
        s.sum = 0;
        s.seen = 0;
        s.samples = [];
      }
      write(JSON.stringify(doc));
    }
  };

  const timer = options.flushMs > 0 ? setInterval(flush, options.flushMs) : undefined;
  timer?.unref();

  return {
    count(name, dimensions, value = 1) {
      add(seriesFor(name, dimensions, 'Count'), value);
    },
    timing(name, dimensions, milliseconds) {
      sample(seriesFor(name, dimensions, 'Milliseconds'), milliseconds);
    },
    counter(name, dimensions) {
      const s = seriesFor(name, dimensions, 'Count');
      return (value = 1) => add(s, value);
    },
    timer(name, dimensions) {
      const s = seriesFor(name, dimensions, 'Milliseconds');
      return (milliseconds) => sample(s, milliseconds);
    },
    flush,
    stop() {
      if (timer) clearInterval(timer);
      if (options.flushMs > 0) flush();
    },
  };
}
