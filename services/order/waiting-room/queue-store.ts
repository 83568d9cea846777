// Where a sale event's queue lives: shopper -> position, the arrival counter, and the inlet (how far
// admission has reached, and at what rate). In Redis every operation is one Lua script on keys that
// share the event's hash tag, so it is atomic across every order process (and on Redis Cluster);
// without Redis (`npm start` with nothing configured) the same operations run in process memory.
// The inlet is shared state, not a per-process loop: each process calls `advance` on its own tick
// and the script moves `admitted` by rate x the time since the last advance by anyone, so N
// processes admit at the configured rate, not N times it.
import type { RedisClient } from '../../platform/redis';

/** What `advance` reports: everyone at or below `admittedThrough` is admitted. */
export interface InletState {
  readonly admittedThrough: number;
  /** Shoppers who have joined (the highest position handed out). */
  readonly queueLength: number;
  /** The inlet's current rate (the controller lowers it under overload). */
  readonly inletPerSecond: number;
}

/** The controller's settings for one `advance` call. */
export interface InletSettings {
  /** The configured rate: the ceiling the controller climbs back to. */
  readonly ceilingPerSecond: number;
  /** The floor the controller never goes below. */
  readonly floorPerSecond: number;
  /** Additive increase per step while nobody reports overload. */
  readonly stepUpPerSecond: number;
  /** Shortest time between two rate changes. */
  readonly adjustMs: number;
}

export interface QueueStore {
  /**
   * The shopper's position: a new one (`created`) on the first call, the same one after, however
   * many calls race. Positions are 1, 2, 3, ... in arrival order with no gaps.
   */
  join(eventId: string, shopperId: string, expireAtMs: number): Promise<{ position: number; created: boolean }>;
  /**
   * Moves the inlet forward to `nowMs` (rate x elapsed since the last advance, never past the queue
   * length) and, at most once per `adjustMs`, steps the rate: halved if an order process reported
   * overload since the last step, else raised by `stepUpPerSecond` up to the ceiling.
   */
  advance(eventId: string, nowMs: number, settings: InletSettings, expireAtMs: number): Promise<InletState>;
  /** An order process says it is overloaded; the next rate step (within `forMs`) halves the inlet. */
  reportOverload(eventId: string, forMs: number): Promise<void>;
}

/** Keys of one event; the `{eventId}` hash tag puts them in one Redis Cluster slot, as Lua needs. */
function keys(eventId: string) {
  const tag = `wr:{${eventId}}`;
  return { positions: `${tag}:positions`, arrivals: `${tag}:arrivals`, inlet: `${tag}:inlet`, overloaded: `${tag}:overloaded` };
}

const JOIN_SCRIPT = `
local position = redis.call('HGET', KEYS[1], ARGV[1])
if position then return {tonumber(position), 0} end
position = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], position)
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
return {position, 1}
`;

// KEYS: inlet, arrivals, overloaded. ARGV: now ms, ceiling, floor, step up, adjust ms, expire at ms.
// Numbers go back as strings: Redis would truncate a Lua float reply to an integer.
const ADVANCE_SCRIPT = `
local now = tonumber(ARGV[1])
local ceiling = tonumber(ARGV[2])
local queued = tonumber(redis.call('GET', KEYS[2]) or '0')
local s = redis.call('HMGET', KEYS[1], 'admitted', 'at', 'rate', 'adjustedAt')
if not s[2] then
  redis.call('HSET', KEYS[1], 'admitted', 0, 'at', now, 'rate', ceiling, 'adjustedAt', now)
  redis.call('PEXPIREAT', KEYS[1], ARGV[6])
  return {'0', tostring(queued), tostring(ceiling)}
end
local admitted = tonumber(s[1])
local at = tonumber(s[2])
local rate = math.min(tonumber(s[3]), ceiling)
local adjustedAt = tonumber(s[4])
if now > at then
  admitted = math.min(admitted + rate * (now - at) / 1000, math.max(admitted, queued))
  at = now
end
if now - adjustedAt >= tonumber(ARGV[5]) then
  if redis.call('EXISTS', KEYS[3]) == 1 then
    rate = math.max(tonumber(ARGV[3]), rate / 2)
    redis.call('DEL', KEYS[3])
  else
    rate = math.min(ceiling, rate + tonumber(ARGV[4]))
  end
  adjustedAt = now
end
redis.call('HSET', KEYS[1], 'admitted', string.format('%.6f', admitted), 'at', at, 'rate', string.format('%.6f', rate), 'adjustedAt', adjustedAt)
return {tostring(math.floor(admitted)), tostring(queued), string.format('%.6f', rate)}
`;

type ScriptedRedis = RedisClient & {
  waitingRoomJoin(positions: string, arrivals: string, shopperId: string, expireAtMs: number): Promise<[number, number]>;
  waitingRoomAdvance(
    inlet: string,
    arrivals: string,
    overloaded: string,
    nowMs: number,
    ceiling: number,
    floor: number,
    stepUp: number,
    adjustMs: number,
    expireAtMs: number,
  ): Promise<[string, string, string]>;
};

export function createRedisQueueStore(redis: RedisClient): QueueStore {
  // defineCommand sends EVALSHA (EVAL once per connection after a NOSCRIPT) and applies the key prefix.
  if (!('waitingRoomJoin' in redis)) {
    redis.defineCommand('waitingRoomJoin', { numberOfKeys: 2, lua: JOIN_SCRIPT });
    redis.defineCommand('waitingRoomAdvance', { numberOfKeys: 3, lua: ADVANCE_SCRIPT });
  }
  const scripted = redis as ScriptedRedis;
  return {
    async join(eventId, shopperId, expireAtMs) {
      const k = keys(eventId);
      const [position, created] = await scripted.waitingRoomJoin(k.positions, k.arrivals, shopperId, expireAtMs);
      return { position: Number(position), created: Number(created) === 1 };
    },
    async advance(eventId, nowMs, s, expireAtMs) {
      const k = keys(eventId);
      const [admitted, queued, rate] = await scripted.waitingRoomAdvance(
        k.inlet,
        k.arrivals,
        k.overloaded,
        Math.floor(nowMs),
        s.ceilingPerSecond,
        s.floorPerSecond,
        s.stepUpPerSecond,
        s.adjustMs,
        expireAtMs,
      );
      return { admittedThrough: Number(admitted), queueLength: Number(queued), inletPerSecond: roundRate(Number(rate)) };
    },
    async reportOverload(eventId, forMs) {
      await redis.set(keys(eventId).overloaded, '1', 'PX', Math.max(1, Math.floor(forMs)));
    },
  };
}

/** The same operations in process memory, for one process (`npm start` without Redis). */
export function createMemoryQueueStore(now: () => number = Date.now): QueueStore {
  interface EventQueue {
    positions: Map<string, number>;
    arrivals: number;
    inlet?: { admitted: number; at: number; rate: number; adjustedAt: number };
    overloadedUntil: number;
  }
  const events = new Map<string, EventQueue>();
  const queueOf = (eventId: string) => {
    let queue = events.get(eventId);
    if (!queue) {
      queue = { positions: new Map(), arrivals: 0, overloadedUntil: 0 };
      events.set(eventId, queue);
    }
    return queue;
  };
  return {
    async join(eventId, shopperId) {
      const queue = queueOf(eventId);
      const known = queue.positions.get(shopperId);
      if (known !== undefined) return { position: known, created: false };
      const position = ++queue.arrivals;
      queue.positions.set(shopperId, position);
      return { position, created: true };
    },
    async advance(eventId, nowMs, s) {
      const queue = queueOf(eventId);
      if (!queue.inlet) {
        queue.inlet = { admitted: 0, at: nowMs, rate: s.ceilingPerSecond, adjustedAt: nowMs };
        return { admittedThrough: 0, queueLength: queue.arrivals, inletPerSecond: s.ceilingPerSecond };
      }
      const inlet = queue.inlet;
      inlet.rate = Math.min(inlet.rate, s.ceilingPerSecond);
      if (nowMs > inlet.at) {
        inlet.admitted = Math.min(inlet.admitted + (inlet.rate * (nowMs - inlet.at)) / 1000, Math.max(inlet.admitted, queue.arrivals));
        inlet.at = nowMs;
      }
      if (nowMs - inlet.adjustedAt >= s.adjustMs) {
        if (queue.overloadedUntil > now()) {
          inlet.rate = Math.max(s.floorPerSecond, inlet.rate / 2);
          queue.overloadedUntil = 0;
        } else {
          inlet.rate = Math.min(s.ceilingPerSecond, inlet.rate + s.stepUpPerSecond);
        }
        inlet.adjustedAt = nowMs;
      }
      return { admittedThrough: Math.floor(inlet.admitted), queueLength: queue.arrivals, inletPerSecond: roundRate(inlet.rate) };
    },
    async reportOverload(eventId, forMs) {
      queueOf(eventId).overloadedUntil = now() + forMs;
    },
  };
}

/** Rates are shown to shoppers (and used for the wait estimate) with two decimals. */
function roundRate(rate: number): number {
  return Math.round(rate * 100) / 100;
}
