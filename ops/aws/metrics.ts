// Reads CloudWatch metric series with GetMetricData (one request for many series).
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { awsCall } from './errors';

export interface MetricRequest {
  /** Caller's key for the series, returned in the result map. */
  readonly key: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat: 'Maximum' | 'Average' | 'Sum';
}

export interface MetricPoint {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly value: number;
}

export interface MetricWindow {
  /** Epoch milliseconds. */
  readonly end: number;
  readonly minutes: number;
  /** @default 60 - one point a minute, the finest standard resolution of these metrics */
  readonly periodSeconds?: number;
}

/** Returns each requested series oldest point first; a series with no data is an empty array. */
export async function readMetricSeries(
  cloudWatch: CloudWatchClient,
  requests: readonly MetricRequest[],
  window: MetricWindow,
): Promise<Map<string, MetricPoint[]>> {
  const series = new Map<string, MetricPoint[]>(requests.map((r) => [r.key, []]));
  if (requests.length === 0) return series;
  // GetMetricData query ids must match ^[a-z][a-zA-Z0-9_]*$, so use positions, not caller keys.
  const queries: MetricDataQuery[] = requests.map((r, index) => ({
    Id: `m${index}`,
    ReturnData: true,
    MetricStat: {
      Metric: {
        Namespace: r.namespace,
        MetricName: r.metricName,
        Dimensions: Object.entries(r.dimensions).map(([Name, Value]) => ({ Name, Value })),
      },
      Period: window.periodSeconds ?? 60,
      Stat: r.stat,
    },
  }));
  let nextToken: string | undefined;
  do {
    const response = await awsCall('cloudwatch:GetMetricData', () =>
      cloudWatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: new Date(window.end - window.minutes * 60_000),
          EndTime: new Date(window.end),
          ScanBy: 'TimestampAscending',
          NextToken: nextToken,
        }),
      ),
    );
    for (const data of response.MetricDataResults ?? []) {
      const request = requests[Number((data.Id ?? '').slice(1))];
      if (request === undefined) continue;
      const points = series.get(request.key)!;
      (data.Timestamps ?? []).forEach((at, i) => {
        const value = data.Values?.[i];
        if (value !== undefined) points.push({ at: new Date(at).getTime(), value });
      });
    }
    nextToken = response.NextToken;
  } while (nextToken);
  for (const points of series.values()) points.sort((a, b) => a.at - b.at);
  return series;
}

/** The largest value in a series, or undefined when it has no points. */
export function peak(points: readonly MetricPoint[]): number | undefined {
  return points.length === 0 ? undefined : Math.max(...points.map((p) => p.value));
}

/** The series with the largest value, and that value; undefined when no series has a point. */
export function highestSeries(series: ReadonlyMap<string, readonly MetricPoint[]>): { key: string; value: number } | undefined {
  let highest: { key: string; value: number } | undefined;
  for (const [key, points] of series) {
    const value = peak(points);
    if (value !== undefined && (highest === undefined || value > highest.value)) highest = { key, value };
  }
  return highest;
}
