// Metrics are aggregated in process and written as CloudWatch EMF documents, one per dimension set.
import { createMetrics } from '../metrics';

it('writes one EMF document per dimension set with sums and sampled latencies', () => {
  const lines: string[] = [];
  const metrics = createMetrics({ service: 'order', flushMs: 60000, write: (l) => lines.push(l) });
  const route = { Route: 'GET /api/products/:id' };
  for (let i = 0; i < 250; i++) {
    metrics.count('Requests', route);
    metrics.timing('Latency', route, i % 10);
  }
  metrics.count('CacheHit', { Cache: 'product' }, 3);
  metrics.flush();
  metrics.stop();

  const docs = lines.map((l) => JSON.parse(l));
  expect(docs).toHaveLength(2);
  const byRoute = docs.find((d) => d.Route)!;
  expect(byRoute).toMatchObject({
    Service: 'order',
    Route: 'GET /api/products/:id',
    Requests: 250,
    _aws: {
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [
        {
          Namespace: 'Surge',
          Dimensions: [['Service', 'Route']],
          Metrics: [
            { Name: 'Requests', Unit: 'Count' },
            { Name: 'Latency', Unit: 'Milliseconds' },
          ],
        },
      ],
    },
  });
  expect(byRoute.Latency).toHaveLength(100);
  expect(byRoute.Latency.every((v: number) => v >= 0 && v < 10)).toBe(true);
  expect(docs.find((d) => d.Cache)).toMatchObject({ Service: 'order', Cache: 'product', CacheHit: 3 });
});

it('writes nothing when turned off (flushMs 0) and nothing for an empty interval', () => {
  const lines: string[] = [];
  const off = createMetrics({ service: 'user', flushMs: 0, write: (l) => lines.push(l) });
  off.count('Requests', {});
  off.stop();
  const on = createMetrics({ service: 'user', flushMs: 60000, write: (l) => lines.push(l) });
  on.flush();
  on.stop();
  expect(lines).toEqual([]);
});
