// Unit tests for event parsing: what a consumer accepts, and that a malformed message is named.
import { randomUUID } from 'node:crypto';
import { EVENT_VERSION, MalformedEventError, OrderPlacedEvent, parseEvent, parseOrderEvent, PaymentResultEvent } from '../events';

const valid = {
  type: 'order-placed',
  orderId: randomUUID(),
  userId: randomUUID(),
  totalCents: 1_999,
  currency: 'USD',
  items: [{ productId: randomUUID(), quantity: 1, unitPriceCents: 1_999 }],
  occurredAt: new Date().toISOString(),
};

describe('parseEvent', () => {
  it('returns a message that fits the schema', () => {
    expect(parseEvent(OrderPlacedEvent, JSON.stringify(valid))).toEqual(valid);
  });

  it.each([
    ['a body that is not JSON', '{"type":', /not JSON/],
    ['a missing body', undefined, /not JSON/],
    ['another event type', JSON.stringify({ ...valid, type: 'payment-result' }), /\/type/],
    ['an order id that is not a UUID', JSON.stringify({ ...valid, orderId: '42' }), /\/orderId/],
    ['a negative total', JSON.stringify({ ...valid, totalCents: -1 }), /\/totalCents/],
    ['no items', JSON.stringify({ ...valid, items: [] }), /\/items/],
    ['a contract version this consumer does not know', JSON.stringify({ ...valid, version: EVENT_VERSION + 1 }), /\/version/],
  ])('rejects %s, naming the problem', (_case, body, message) => {
    expect(() => parseEvent(OrderPlacedEvent, body)).toThrow(MalformedEventError);
    expect(() => parseEvent(OrderPlacedEvent, body)).toThrow(message);
  });

  it('reads a message of the current contract version, and one from before versions were written as version 1', () => {
    expect(parseEvent(OrderPlacedEvent, JSON.stringify({ ...valid, version: EVENT_VERSION }))).toEqual({ ...valid, version: 1 });
    expect(parseEvent(OrderPlacedEvent, JSON.stringify(valid))).toEqual(valid);
  });

  it('knows payment results by outcome', () => {
    const result = { type: 'payment-result', orderId: randomUUID(), paymentId: randomUUID(), occurredAt: 'now' };
    expect(parseEvent(PaymentResultEvent, JSON.stringify({ ...result, outcome: 'DECLINED', declineReason: 'card_declined' }))).toMatchObject({
      outcome: 'DECLINED',
    });
    expect(() => parseEvent(PaymentResultEvent, JSON.stringify({ ...result, outcome: 'MAYBE' }))).toThrow(/\/outcome/);
  });
});

describe('parseOrderEvent', () => {
  const cancelled = { type: 'order-cancelled', orderId: randomUUID(), userId: randomUUID(), totalCents: 1_999, currency: 'USD', occurredAt: 'now' };

  it('reads both events of the order-placed queue by their type', () => {
    expect(parseOrderEvent(JSON.stringify(valid))).toEqual(valid);
    expect(parseOrderEvent(JSON.stringify(cancelled))).toEqual(cancelled);
  });

  it.each([
    ['an unknown type', JSON.stringify({ ...cancelled, type: 'order-shipped' }), /\/type/],
    ['a cancel without its amount', JSON.stringify({ ...cancelled, totalCents: undefined }), /\/totalCents/],
    ['a placed order without items', JSON.stringify({ ...valid, items: undefined }), /\/items/],
    ['a body that is not JSON', 'nope', /not JSON/],
  ])('rejects %s, naming the problem', (_case, body, message) => {
    expect(() => parseOrderEvent(body)).toThrow(MalformedEventError);
    expect(() => parseOrderEvent(body)).toThrow(message);
  });
});
