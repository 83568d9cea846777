// HTTP entry point of the waiting room (the contract in docs/ARCHITECTURE.md, "Waiting room"), and
// the gate POST /api/orders passes through: while a sale event is open, its products are sold only
// with an admission token for that event and shopper (header Surge-Admission).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requireUser } from '../../platform/auth';
import type { SurgeApp } from '../../platform/app';
import type { ServiceContext } from '../../platform/context';
import { requireNoBody } from '../no-body';
import { createMemoryQueueStore, createRedisQueueStore } from './queue-store';
import { admissionSchema, eventStatusSchema, joinSchema, listEventsSchema } from './schemas';
import { createWaitingRoom, type WaitingRoom } from './waiting-room';

/** The header an order carries its admission token in. */
export const ADMISSION_HEADER = 'surge-admission';

/** The waiting room of this process: Redis-backed when the service has Redis, else in memory. */
export function createServiceWaitingRoom(ctx: ServiceContext): WaitingRoom {
  return createWaitingRoom({
    config: ctx.config.waitingRoom,
    store: ctx.redis ? createRedisQueueStore(ctx.redis) : createMemoryQueueStore(),
    logger: ctx.logger,
  });
}

export async function waitingRoomRoutes(api: SurgeApp, room: WaitingRoom): Promise<void> {
  room.start();
  api.addHook('onClose', async () => room.stop());

  api.get('/api/waiting-room', { schema: listEventsSchema, config: { answersFromProcess: true } }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=5');
    return { events: room.listEvents() };
  });

  api.get('/api/waiting-room/:eventId', { schema: eventStatusSchema }, async (request, reply) => {
    // Set before a possible 404 too, so CloudFront keeps no answer longer than a second.
    reply.header('cache-control', 'public, max-age=1');
    return room.status(request.params.eventId);
  });

  api.post('/api/waiting-room/:eventId/tickets', { schema: joinSchema, onRequest: requireUser, preValidation: requireNoBody }, async (request, reply) => {
    const { created, ...ticket } = await room.join(request.params.eventId, request.userId);
    reply.header('cache-control', 'no-store');
    return reply.code(created ? 201 : 200).send(ticket);
  });

  api.post('/api/waiting-room/:eventId/admission', { schema: admissionSchema, onRequest: requireUser }, async (request, reply) => {
    const answer = await room.admit(request.params.eventId, request.userId, request.body.ticket);
    reply.header('cache-control', 'no-store');
    if (answer.admitted) return { admissionToken: answer.admissionToken, expiresAt: answer.expiresAt };
    return reply.code(409).send({
      error: 'not_admitted_yet' as const,
      message: `Position ${answer.position} is not admitted yet: admission has reached position ${answer.admittedThrough}`,
      position: answer.position,
      admittedThrough: answer.admittedThrough,
    });
  });
}

/**
 * preHandler of POST /api/orders (after requireUser and validation): refuses with 403 an order that
 * holds a product of an open sale event without this shopper's admission token for that event.
 */
export function requireAdmission(room: WaitingRoom) {
  return async function checkAdmission(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const { items } = request.body as { items: Array<{ productId: string }> };
    const header = request.headers[ADMISSION_HEADER];
    const token = typeof header === 'string' && header.length > 0 ? header : undefined;
    const blocked = await room.eventBlocking(
      items.map((item) => item.productId),
      request.userId,
      token,
    );
    if (!blocked) return undefined;
    // Returning the reply ends the request here: the order handler never runs.
    return reply.code(403).send({
      error: 'waiting_room_required',
      message: `Product ${blocked.productId} is in sale event ${blocked.eventId}: join the waiting room first`,
      eventId: blocked.eventId,
    });
  };
}
