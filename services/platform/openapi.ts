// The OpenAPI document's one source of truth beyond each route's own schema: the error body, the
// statuses every route shares (schema violations, oversized or mistyped bodies, missing tokens, rate
// limits, an unreachable database) added to each route's responses from what the route is (its
// input schemas, its method, whether it demands a token, its rate limit), and the document header.
// Forks generate clients from /openapi.json, so a status the platform can answer is documented on
// every operation that can answer it, never only in prose. Route-specific statuses (404, 409, 422)
// are declared by the route with `errorResponse`.
import { Type, type TObject } from '@sinclair/typebox';
import type { RouteOptions } from 'fastify';
import { requireUser } from './auth';

/** `{ error, message }`: every 4xx and 5xx answer (errors.ts). */
export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'machine-readable code, e.g. bad_request, not_found, too_many_requests' }),
    message: Type.String({ description: 'what was wrong, for a human; names the field for a schema violation' }),
  },
  { additionalProperties: false },
);

const RETRY_AFTER = { type: 'string', description: 'seconds to wait before retrying' } as const;

/** A documented error status of a route: the error body with the description OpenAPI shows. */
export function errorResponse(description: string, headers?: Record<string, { type: 'string'; description: string }>): TObject {
  return Type.Object(ErrorBody.properties, { additionalProperties: false, description, ...(headers ? { headers } : {}) });
}

/** Content types a body-accepting route parses (Fastify's JSON parser; everything else is 415). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** What the platform adds to a documented route; read from the route itself, once, when it is added. */
export interface RouteTraits {
  /** The route's rate-limit policy runs (`config.rateLimit !== false`). */
  rateLimited: boolean;
  /** The route may need a backing service (the database, Redis) and so answer 503 (`config.answersFromProcess !== true`). */
  mayBeUnavailable: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route answers from the process alone (no database or Redis call), so it never answers 503. */
    answersFromProcess?: boolean;
  }
}

type Schema = NonNullable<RouteOptions['schema']> & {
  hide?: boolean;
  operationId?: string;
  summary?: string;
  security?: unknown[];
  response?: Record<string, unknown>;
};

/**
 * Completes a route's schema for the document: the shared error statuses it can answer, its security
 * (bearer when it demands a token, none otherwise) and checks that it has an operationId and a summary
 * (a route without them fails at start, not in a client generator). Hidden routes are left alone.
 */
export function documentRoute(route: RouteOptions, traits: RouteTraits): void {
  const schema = route.schema as Schema | undefined;
  if (!schema || schema.hide) return;
  const where = `${[route.method].flat().join(',')} ${route.url}`;
  if (!schema.operationId || !schema.summary) throw new Error(`route ${where} needs an operationId and a summary in its schema`);
  const methods = [route.method].flat().map((m) => m.toUpperCase());
  const takesBody = methods.some((m) => BODY_METHODS.has(m));
  const hasInput = takesBody || schema.querystring !== undefined || schema.params !== undefined || schema.headers !== undefined;
  const hooks = [route.onRequest, route.preValidation, route.preHandler].flatMap((h) => (h === undefined ? [] : [h].flat()));
  const needsToken = hooks.includes(requireUser as never);

  const shared: Record<string, TObject> = {};
  if (hasInput) shared[400] = errorResponse('The request is invalid: the message names the field and the rule it broke');
  if (needsToken) shared[401] = errorResponse('No Bearer access token, or one that is invalid or expired');
  if (takesBody) {
    shared[413] = errorResponse('The request body is larger than the service accepts');
    shared[415] = errorResponse('The request body is not application/json');
  }
  if (traits.rateLimited) shared[429] = errorResponse('Rate limit exceeded', { 'retry-after': RETRY_AFTER });
  if (traits.mayBeUnavailable) {
    shared[503] = errorResponse('A backing service (the database, or Redis for the waiting room) is unavailable; retry after Retry-After seconds', {
      'retry-after': RETRY_AFTER,
    });
  }

  // A route's own declaration of a status wins (it may describe it more precisely).
  route.schema = {
    ...schema,
    ...(schema.querystring ? { querystring: defaultsOptional(schema.querystring as JsonObjectSchema) } : {}),
    security: needsToken ? [{ bearer: [] }] : [],
    response: { ...shared, ...(schema.response ?? {}) },
  };
}

interface JsonObjectSchema {
  properties?: Record<string, { default?: unknown }>;
  required?: string[];
}

/**
 * A query parameter with a default need not be sent (`?limit` defaults to 20): not `required` in the
 * document. Validation is unchanged: ajv fills the default in before the handler sees the query, so
 * the handler's type may still say the field is always there.
 */
function defaultsOptional<T extends JsonObjectSchema>(querystring: T): T {
  if (!querystring.required) return querystring;
  return { ...querystring, required: querystring.required.filter((name) => querystring.properties?.[name]?.default === undefined) };
}

/** The document header: `info`, `servers`, the bearer scheme. */
export function openApiHeader(service: string) {
  return {
    openapi: {
      info: {
        title: `Surge ${service} API`,
        version: '1.0.0',
        description:
          'Errors are `{ error, message }`. Protected operations take `Authorization: Bearer <token>` from `POST /api/users/login`. ' +
          'Responses carry `RateLimit` and `RateLimit-Policy` headers; a 429 or 503 carries `Retry-After`.',
        license: { name: 'MIT-0', url: 'https://spdx.org/licenses/MIT-0.html' },
      },
      // Relative: every service is reached through the same origin (CloudFront, or `npm start`).
      servers: [{ url: '/', description: 'the origin this document was fetched from' }],
      components: { securitySchemes: { bearer: { type: 'http' as const, scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  };
}
