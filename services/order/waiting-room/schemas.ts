// One schema per waiting-room route (the HTTP contract the storefront codes against): input
// validated, unknown fields rejected, responses shaped, and all of it in the OpenAPI document.
import { Type } from '@sinclair/typebox';
import { errorResponse } from '../../platform/openapi';

const EventId = Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$', description: 'the sale event (its name in the CDK config)' });
const EventState = Type.Union([Type.Literal('scheduled'), Type.Literal('open'), Type.Literal('ended')]);
const EventParams = Type.Object({ eventId: EventId }, { additionalProperties: false });
const Ticket = Type.String({ minLength: 1, maxLength: 2048, description: 'the ticket from POST /api/waiting-room/{eventId}/tickets' });

export const listEventsSchema = {
  operationId: 'listSaleEvents',
  summary: 'Sale events and their state (public; cacheable for 5 s)',
  response: {
    200: Type.Object({
      events: Type.Array(
        Type.Object({
          eventId: EventId,
          name: Type.String(),
          startsAt: Type.String({ format: 'date-time' }),
          endsAt: Type.String({ format: 'date-time' }),
          productIds: Type.Array(Type.String({ format: 'uuid' })),
          state: EventState,
        }),
      ),
    }),
  },
};

export const eventStatusSchema = {
  operationId: 'getWaitingRoomStatus',
  summary: "A sale event's queue: how far admission has reached and how fast it moves (public; cacheable for 1 s)",
  description: 'The estimated wait of position p is max(0, p - admittedThrough) / inletPerSecond seconds.',
  params: EventParams,
  response: {
    200: Type.Object({
      eventId: EventId,
      state: EventState,
      admittedThrough: Type.Integer({ minimum: 0, description: 'every position <= this is admitted' }),
      queueLength: Type.Integer({ minimum: 0 }),
      inletPerSecond: Type.Number({ minimum: 0 }),
    }),
    404: errorResponse('No sale event has this id'),
  },
};

const JoinedQueue = Type.Object({ eventId: EventId, ticket: Ticket, position: Type.Integer({ minimum: 1 }) });

// No body schema: the route takes none, which the handler checks (Fastify would otherwise demand one).
export const joinSchema = {
  operationId: 'joinWaitingRoom',
  summary: "Join a sale event's queue: 201 with a new place, 200 with the place this shopper already holds",
  params: EventParams,
  response: {
    201: Type.Object(JoinedQueue.properties, { description: 'A new place in the queue' }),
    200: Type.Object(JoinedQueue.properties, { description: 'The place this shopper already holds' }),
    404: errorResponse('No sale event has this id'),
    409: errorResponse('The sale event is not open (event_not_open): not started yet, or over'),
  },
};

export const admissionSchema = {
  operationId: 'getAdmission',
  summary: 'Exchange an admitted ticket for a short-lived admission token (409 not_admitted_yet until it is your turn)',
  params: EventParams,
  body: Type.Object({ ticket: Ticket }, { additionalProperties: false }),
  response: {
    200: Type.Object({ admissionToken: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }),
    403: errorResponse('The ticket belongs to another shopper or another sale event'),
    404: errorResponse('No sale event has this id'),
    409: Type.Object({
      error: Type.Literal('not_admitted_yet'),
      message: Type.String(),
      position: Type.Integer({ minimum: 1 }),
      admittedThrough: Type.Integer({ minimum: 0 }),
    }, { additionalProperties: false, description: 'Not admitted yet: admission has not reached this position' }),
  },
};
