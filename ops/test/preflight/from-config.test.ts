import { prod } from '../../../lib/config/prod';
import type { SaleEvent } from '../../../lib/config';
import { expectationsFromConfig, selectSale } from '../../preflight/from-config';

const events: SaleEvent[] = [
  { name: 'summer-2027', start: '2027-07-01T08:00:00Z', end: '2027-07-02T08:00:00Z', minCapacity: 6 },
  { name: 'cyber-monday-2027', start: '2027-11-29T08:00:00Z', end: '2027-11-30T08:00:00Z', minCapacity: 10 },
  { name: 'black-friday-2027', start: '2027-11-26T05:00:00Z', end: '2027-11-27T08:00:00Z', minCapacity: 12 },
];

test('without a name the next sale that has not ended is chosen', () => {
  expect(selectSale(events, undefined, Date.parse('2027-06-01T00:00:00Z'))?.name).toBe('summer-2027');
  // During a sale, that sale is still the one to check.
  expect(selectSale(events, undefined, Date.parse('2027-07-01T12:00:00Z'))?.name).toBe('summer-2027');
  expect(selectSale(events, undefined, Date.parse('2027-08-01T00:00:00Z'))?.name).toBe('black-friday-2027');
  expect(selectSale(events, undefined, Date.parse('2028-01-01T00:00:00Z'))).toBeUndefined();
});

test('a named sale is chosen even if it has ended; an unknown name is a usage error listing the known ones', () => {
  expect(selectSale(events, 'summer-2027', Date.parse('2028-01-01T00:00:00Z'))?.name).toBe('summer-2027');
  expect(() => selectSale(events, 'prime-day', 0)).toThrow(
    'unknown sale "prime-day"; the config lists: summer-2027, cyber-monday-2027, black-friday-2027',
  );
});

test('the prod config maps to the expected sizes, thresholds and sale', () => {
  const expectations = expectationsFromConfig(prod, { now: Date.parse('2027-11-01T00:00:00Z') });
  expect(expectations).toEqual({
    cache: { shards: prod.cache.shards, replicasPerShard: prod.cache.replicasPerShard, maxMemoryUsedPercent: 75 },
    database: { readers: prod.database.readers, maxReplicaLagMs: 1000 },
    queues: { maxOldestMessageAgeSeconds: prod.queues.oldestMessageAlarmSeconds },
    sale: {
      name: 'black-friday-2027',
      start: Date.parse('2027-11-26T05:00:00Z'),
      end: Date.parse('2027-11-27T08:00:00Z'),
      minCapacity: { user: 12, order: 12, payment: 12, worker: 12 },
    },
    capacityPlan: undefined,
    firewall: { rateLimit: prod.waf.rateLimit, evaluationWindowSeconds: prod.waf.evaluationWindowSeconds },
    metricWindowMinutes: 15,
  });
});
