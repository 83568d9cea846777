// The shared token bucket: one Lua script in Redis, so concurrent requests on many instances cannot
// overspend a bucket. defineCommand sends it by EVALSHA and falls back to EVAL once per cache miss.
import type { RedisClient } from '../redis';

// KEYS[1] bucket; ARGV[1] capacity; ARGV[2] refill per second; ARGV[3] tokens wanted (a lease; 1 for
// one request). Redis's own clock, so instance clock skew cannot mint tokens. Takes as many whole
// tokens as it can, up to the number wanted. Returns {tokens taken, whole tokens left, ms until a
// token (when none was taken), ms until full}.
const TOKEN_BUCKET_LUA = `
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2]) / 1000
local wanted = tonumber(ARGV[3] or '1')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
tokens = math.min(capacity, tokens + math.max(0, now - at) * perMs)
local allowed = math.min(wanted, math.floor(tokens))
local waitMs = 0
if allowed >= 1 then
  tokens = tokens - allowed
else
  allowed = 0
  waitMs = math.ceil((1 - tokens) / perMs)
end
local fullMs = math.ceil((capacity - tokens) / perMs)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], fullMs + 1000)
return { allowed, math.floor(tokens), waitMs, fullMs }
`;

export type TokenBucketCommand = (
  key: string,
  capacity: number,
  refillPerSecond: number,
  wanted: number,
) => Promise<[number, number, number, number]>;

/** The bucket script as a command of `redis` (defined once per client). */
export function tokenBucketCommand(redis: RedisClient): TokenBucketCommand {
  if (!(redis as unknown as { surgeTokenBucket?: unknown }).surgeTokenBucket) {
    redis.defineCommand('surgeTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET_LUA });
  }
  return (redis as unknown as { surgeTokenBucket: TokenBucketCommand }).surgeTokenBucket.bind(redis);
}
