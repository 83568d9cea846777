// The inlet follows the order fleet's health: a process whose POST /api/orders p99 is over the
// threshold reports overload and the inlet halves; once latencies recover it climbs back by a tenth
// of the configured rate per step. Driven with a hand-moved clock on the in-memory store (the Redis
// store runs the same steps: queue-store.test.ts).
import pino from 'pino';
import type { WaitingRoomConfig } from '../../../platform/config';
import { createMemoryQueueStore } from '../queue-store';
import { createLatencyWindow, createWaitingRoom } from '../waiting-room';

const T0 = Date.parse('2027-11-26T08:00:00Z');
const config: WaitingRoomConfig = {
  events: [{ eventId: 'sale', name: 'Sale', startsAt: '2027-11-26T07:00:00.000Z', endsAt: '2027-11-26T09:00:00.000Z', productIds: [], inletPerSecond: 200 }],
  admissionKey: 'inlet-controller-test-key-of-at-least-32-bytes',
  admissionTtlSeconds: 300,
  tickMs: 250,
  overloadP99Ms: 500,
  adjustMs: 1000,
};

function setup() {
  let clock = T0;
  const room = createWaitingRoom({ config, store: createMemoryQueueStore(() => clock), logger: pino({ level: 'silent' }), now: () => clock });
  const rate = async () => (await room.status('sale')).inletPerSecond;
  /** Moves the clock one adjust interval in ticks, recording `latencyMs` orders (100 per tick) if given. */
  const interval = async (latencyMs?: number) => {
    for (let t = 0; t < 4; t++) {
      clock += 250;
      if (latencyMs !== undefined) for (let i = 0; i < 100; i++) room.recordOrderLatency(latencyMs);
      await room.tick();
    }
  };
  return { room, rate, interval };
}

it('halves the inlet for each interval of overload (p99 over the threshold), down to a floor', async () => {
  const { room, rate, interval } = setup();
  await room.tick();
  expect(await rate()).toBe(200);
  await interval(800);
  expect(await rate()).toBe(100);
  await interval(800);
  expect(await rate()).toBe(50);
  for (let i = 0; i < 6; i++) await interval(800);
  expect(await rate()).toBe(10); // a twentieth of the configured rate
});

it('raises the inlet additively once latencies recover, up to the configured rate', async () => {
  const { room, rate, interval } = setup();
  await room.tick();
  await interval(800);
  await interval(800);
  expect(await rate()).toBe(50);
  await interval(20);
  expect(await rate()).toBe(70);
  await interval(); // no orders at all: nothing says overloaded
  expect(await rate()).toBe(90);
  for (let i = 0; i < 10; i++) await interval(20);
  expect(await rate()).toBe(200);
});

it('keeps the rate while p99 stays at the threshold', async () => {
  const { room, rate, interval } = setup();
  await room.tick();
  await interval(500);
  expect(await rate()).toBe(200);
});

describe('latency window', () => {
  it('gives the p99 of the last window and 0 when too few orders say anything', () => {
    let clock = 0;
    const window = createLatencyWindow(1000, () => clock);
    for (let i = 1; i <= 10; i++) window.record(1000);
    expect(window.p99()).toBe(0);
    for (let i = 1; i <= 100; i++) window.record(i);
    clock = 500;
    expect(window.p99()).toBe(1000); // 110 samples: the 109th smallest is one of the slow ones
    clock = 1200;
    window.record(5);
    expect(window.p99()).toBe(0); // the old ones have left the window
  });
});
