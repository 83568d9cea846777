// The one error type services throw, and the one fastify error handler that turns any error into
// `{ error: <code>, message }`: 4xx say what was wrong with the input; 5xx say nothing internal and
// are logged with the request id.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from './db';

export class AppError extends Error {
  /**
   * The level a 4xx is logged at. 'debug' for refusals that are the expected answer by the thousand -
   * a sale's "sold out" - so they do not flood the logs (their count is in the route's metrics).
   */
  logLevel: 'info' | 'debug' = 'info';

  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (message: string) => new AppError(400, 'bad_request', message);
export const unauthorized = (message: string) => new AppError(401, 'unauthorized', message);
export const forbidden = (message: string) => new AppError(403, 'forbidden', message);
export const notFound = (message: string) => new AppError(404, 'not_found', message);
export const conflict = (message: string) => new AppError(409, 'conflict', message);
/** A 409 for a product without the units asked for: logged at debug (a sale answers it by the thousand). */
export const outOfStock = (message: string) => Object.assign(conflict(message), { logLevel: 'debug' as const });
/** What the error handler answers `outOfStock(message)` with, without building the error (a hot path's 409). */
export const outOfStockAnswer = (message: string): { status: 409; body: ErrorBody } => ({ status: 409, body: { error: 'conflict', message } });
export const unprocessable = (message: string) => new AppError(422, 'unprocessable', message);
export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  new AppError(429, 'too_many_requests', message, { 'retry-after': String(retryAfterSeconds) });
export const serviceUnavailable = (message: string) =>
  new AppError(503, 'service_unavailable', message, { 'retry-after': '2' });

export interface ErrorBody {
  error: string;
  message: string;
}

/** The fastify error handler installed by buildApp. */
export function handleError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, body, headers } = describe(err);
  if (status >= 500) {
    request.log.error({ err, reqId: request.id }, 'request failed');
  } else {
    const level = err instanceof AppError ? err.logLevel : 'info';
    request.log[level]({ reqId: request.id, status, error: body.error, message: body.message }, 'request rejected');
  }
  return reply.status(status).headers(headers).send(body);
}

function describe(err: FastifyError | Error): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (err instanceof AppError) {
    return { status: err.statusCode, body: { error: err.code, message: err.message }, headers: err.headers };
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    return { status: 400, body: { error: 'bad_request', message: validationMessage(fe) }, headers: {} };
  }
  if (isDatabaseUnavailable(err)) {
    return {
      status: 503,
      body: { error: 'service_unavailable', message: 'The database is unavailable; try again shortly' },
      headers: { 'retry-after': '2' },
    };
  }
  const status = fe.statusCode;
  if (status === 413) {
    return { status, body: { error: 'payload_too_large', message: 'Request body is too large' }, headers: {} };
  }
  if (status === 415) {
    return { status, body: { error: 'unsupported_media_type', message: fe.message }, headers: {} };
  }
  // Fastify's own client errors (malformed JSON, empty JSON body, bad content-length) carry a
  // statusCode and describe only the request, so their message is safe to return.
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = err instanceof SyntaxError ? `Malformed JSON body: ${err.message}` : fe.message;
    return { status, body: { error: 'bad_request', message }, headers: {} };
  }
  return { status: 500, body: { error: 'internal', message: 'Internal server error' }, headers: {} };
}

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** "body.items[0].quantity must be >= 1", "body.email is required", "body.role is not allowed". */
export function validationMessage(err: FastifyError): string {
  const issues = (err.validation ?? []) as ValidationIssue[];
  const context = (err as FastifyError & { validationContext?: string }).validationContext ?? 'request';
  const issue = issues[0];
  if (!issue) return err.message;
  const base = fieldPath(context, issue.instancePath);
  switch (issue.keyword) {
    case 'required':
      return `${joinPath(base, String(issue.params.missingProperty))} is required`;
    case 'additionalProperties':
      return `${joinPath(base, String(issue.params.additionalProperty))} is not allowed`;
    default:
      return `${base} ${issue.message ?? 'is invalid'}`;
  }
}

function fieldPath(context: string, instancePath: string): string {
  let path = context;
  for (const part of instancePath.split('/').slice(1)) {
    const name = part.replace(/~1/g, '/').replace(/~0/g, '~');
    path = /^\d+$/.test(name) ? `${path}[${name}]` : joinPath(path, name);
  }
  return path;
}

function joinPath(base: string, name: string): string {
  return `${base}.${name}`;
}
