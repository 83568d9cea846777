// loadConfig's waiting-room part: WAITING_ROOM_EVENTS as JSON or base64 (as the stack writes it), each
// bad field refused naming the variable, and the admission key required in dev/prod only with events.
import { loadConfig, type SecretSource } from '../config';
import { generateTokenKey } from '../token-keys';

const noSecrets: SecretSource = {
  async getSecretString(arn) {
    if (arn === 'arn:admission') return JSON.stringify({ signingKey: 'a'.repeat(40) });
    throw new Error(`unknown secret ${arn}`);
  },
};
const LOCAL = { DATABASE_URL: 'postgres://u@127.0.0.1:5432/surge' };
const DEPLOYED = { ...LOCAL, SURGE_ENV: 'prod', REDIS_URL: 'redis://127.0.0.1:6379', TOKEN_KEYS: JSON.stringify({ keys: [generateTokenKey('waiting-room-config')] }) };
const EVENT = {
  eventId: 'black-friday',
  name: 'Black Friday',
  startsAt: '2027-11-26T05:00:00Z',
  endsAt: '2027-11-27T08:00:00Z',
  productIds: ['6F1C2A3B-0000-4000-8000-000000000001'],
  inletPerSecond: 250,
};
const events = (list: unknown) => ({ ...LOCAL, WAITING_ROOM_EVENTS: JSON.stringify(list) });

it('has no events and local defaults when nothing is set', async () => {
  const { waitingRoom } = await loadConfig(LOCAL, noSecrets);
  expect(waitingRoom).toEqual({
    events: [],
    admissionKey: expect.any(String),
    admissionTtlSeconds: 300,
    tickMs: 250,
    overloadP99Ms: 1000,
    adjustMs: 5000,
  });
});

it('reads the events from JSON and from base64 alike, times in ISO form and ids in lower case', async () => {
  const expected = [{ ...EVENT, startsAt: '2027-11-26T05:00:00.000Z', endsAt: '2027-11-27T08:00:00.000Z', productIds: ['6f1c2a3b-0000-4000-8000-000000000001'] }];
  expect((await loadConfig(events([EVENT]), noSecrets)).waitingRoom.events).toEqual(expected);
  const base64 = Buffer.from(JSON.stringify([EVENT])).toString('base64');
  expect((await loadConfig({ ...LOCAL, WAITING_ROOM_EVENTS: base64 }, noSecrets)).waitingRoom.events).toEqual(expected);
});

it.each([
  ['not JSON', { ...LOCAL, WAITING_ROOM_EVENTS: '[{' }, /WAITING_ROOM_EVENTS: is neither a JSON array of events nor base64 of one/],
  ['an object', events({ ...EVENT }), /WAITING_ROOM_EVENTS: must be a JSON array of events/],
  ['a bad event id', events([{ ...EVENT, eventId: 'black friday' }]), /WAITING_ROOM_EVENTS: \[0\]\.eventId must be 1-64 letters, digits or hyphens, got "black friday"/],
  ['a duplicate event id', events([EVENT, { ...EVENT, productIds: ['6f1c2a3b-0000-4000-8000-000000000002'] }]), /\[1\]\.eventId "black-friday" is used by more than one event/],
  ['a time without zone', events([{ ...EVENT, startsAt: '2027-11-26 05:00' }]), /\[0\]\.startsAt must be an ISO 8601 UTC time/],
  ['an end before the start', events([{ ...EVENT, endsAt: '2027-11-25T00:00:00Z' }]), /\[0\] ends \(2027-11-25T00:00:00Z\) before it starts/],
  ['no products', events([{ ...EVENT, productIds: [] }]), /\[0\]\.productIds must be a non-empty array of product UUIDs/],
  ['a SKU for a product id', events([{ ...EVENT, productIds: ['SKU-000001'] }]), /\[0\]\.productIds must be a non-empty array of product UUIDs/],
  ['a product in two events', events([EVENT, { ...EVENT, eventId: 'cyber-monday' }]), /\[1\]: product 6F1C2A3B-0000-4000-8000-000000000001 is already in event "black-friday"/],
  ['an inlet of 0', events([{ ...EVENT, inletPerSecond: 0 }]), /\[0\]\.inletPerSecond must be a whole number from 1 to 100000, got 0/],
  ['a short admission key', { ...LOCAL, WAITING_ROOM_ADMISSION_KEY: 'short' }, /WAITING_ROOM_ADMISSION_KEY: must be at least 32 bytes long/],
  ['a tick of 0', { ...LOCAL, WAITING_ROOM_TICK_MS: '0' }, /WAITING_ROOM_TICK_MS: must be between 10 and 10000, got 0/],
])('refuses %s, naming the variable', async (_what, env, message) => {
  await expect(loadConfig(env, noSecrets)).rejects.toThrow(message);
});

it('needs an admission key in dev/prod only when events are configured, and reads it from Secrets Manager', async () => {
  await expect(loadConfig(DEPLOYED, noSecrets)).resolves.toBeDefined();
  await expect(loadConfig({ ...DEPLOYED, WAITING_ROOM_EVENTS: JSON.stringify([EVENT]) }, noSecrets)).rejects.toThrow(
    /WAITING_ROOM_ADMISSION_KEY: is required in every environment but local when WAITING_ROOM_EVENTS lists events/,
  );
  const cfg = await loadConfig({ ...DEPLOYED, WAITING_ROOM_EVENTS: JSON.stringify([EVENT]), WAITING_ROOM_ADMISSION_SECRET_ARN: 'arn:admission' }, noSecrets);
  expect(cfg.waitingRoom.admissionKey).toBe('a'.repeat(40));
});
