// The error handler's log levels: a 4xx at info, except the refusals a sale answers by the thousand
// (out of stock), at debug; a 5xx at error. The response is the same either way.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, handleError, outOfStock } from '../errors';

function handled(err: Error): { levels: string[]; status?: number; body?: unknown } {
  const levels: string[] = [];
  const log = Object.fromEntries(['error', 'warn', 'info', 'debug'].map((level) => [level, () => levels.push(level)]));
  const sent: { status?: number; body?: unknown } = {};
  const reply = {
    status(code: number) {
      sent.status = code;
      return reply;
    },
    headers: () => reply,
    send(body: unknown) {
      sent.body = body;
      return reply;
    },
  };
  handleError(err, { log, id: 'req-1' } as unknown as FastifyRequest, reply as unknown as FastifyReply);
  return { levels, ...sent };
}

describe('handleError log levels', () => {
  it('logs a rejected input at info', () => {
    expect(handled(badRequest('quantity must be a whole number'))).toEqual({
      levels: ['info'],
      status: 400,
      body: { error: 'bad_request', message: 'quantity must be a whole number' },
    });
  });

  it('logs an out-of-stock refusal at debug, with the same 409 answer', () => {
    expect(handled(outOfStock('product p (Kettle) is out of stock: requested 1, available 0'))).toEqual({
      levels: ['debug'],
      status: 409,
      body: { error: 'conflict', message: 'product p (Kettle) is out of stock: requested 1, available 0' },
    });
  });

  it('logs a failure at error and says nothing internal', () => {
    expect(handled(new Error('secret'))).toMatchObject({ levels: ['error'], status: 500 });
  });
});
