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

it('bound counters and timers keep adding to their series across flushes, and each flush starts from zero', () => {
  const lines: string[] = [];
  const metrics = createMetrics({ service: 'order', flushMs: 60000, write: (l) => lines.push(l) });
  const route = { Route: 'POST /api/orders' };
  const requests = metrics.counter('Requests', route);
  const errors = metrics.counter('Errors5xx', route);
  const latency = metrics.timer('Latency', route);
  requests();
  requests();
  errors(0);
  latency(12.34);
  // The same series through the unbound call, with an equal but different dimensions object.
  metrics.count('Requests', { Route: 'POST /api/orders' });
  metrics.flush();
  requests();
  metrics.flush();
  metrics.flush();
  metrics.stop();

  const docs = lines.map((l) => JSON.parse(l));
  expect(docs).toHaveLength(2);
  // A zero count is still written (alarms need the datapoint); latency is rounded to 0.1 ms.
  expect(docs[0]).toMatchObject({ Route: 'POST /api/orders', Requests: 3, Errors5xx: 0, Latency: [12.3] });
  expect(docs[1]).toMatchObject({ Route: 'POST /api/orders', Requests: 1 });
  expect(docs[1]).not.toHaveProperty('Errors5xx');
  expect(docs[1]).not.toHaveProperty('Latency');
  expect(docs[1]._aws.CloudWatchMetrics[0].Metrics).toEqual([{ Name: 'Requests', Unit: 'Count' }]);
});
