// One schema per waiting-room route (the HTTP contract the storefront codes against): input
// validated, unknown fields rejected, responses shaped, and all of it in the OpenAPI document.
import { Type } from '@sinclair/typebox';

const EventId = Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$', description: 'the sale event (its name in the CDK config)' });
const EventState = Type.Union([Type.Literal('scheduled'), Type.Literal('open'), Type.Literal('ended')]);
const EventParams = Type.Object({ eventId: EventId }, { additionalProperties: false });
const Ticket = Type.String({ minLength: 1, maxLength: 2048, description: 'the ticket from POST /api/waiting-room/{eventId}/tickets' });
const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

export const listEventsSchema = {
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
    404: ErrorBody,
  },
};

// No body schema: the route takes none, which the handler checks (Fastify would otherwise demand one).
export const joinSchema = {
  summary: "Join a sale event's queue: 201 with a new place, 200 with the place this shopper already holds",
  security: [{ bearer: [] }],
  params: EventParams,
  response: {
    '2xx': Type.Object({ eventId: EventId, ticket: Ticket, position: Type.Integer({ minimum: 1 }) }),
    404: ErrorBody,
    409: ErrorBody,
  },
};

export const admissionSchema = {
  summary: 'Exchange an admitted ticket for a short-lived admission token (409 not_admitted_yet until it is your turn)',
  security: [{ bearer: [] }],
  params: EventParams,
  body: Type.Object({ ticket: Ticket }, { additionalProperties: false }),
  response: {
    200: Type.Object({ admissionToken: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }),
    403: ErrorBody,
    404: ErrorBody,
    409: Type.Object({
      error: Type.Literal('not_admitted_yet'),
      message: Type.String(),
      position: Type.Integer({ minimum: 1 }),
      admittedThrough: Type.Integer({ minimum: 0 }),
    }),
  },
};
