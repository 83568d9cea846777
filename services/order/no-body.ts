// A preValidation hook for routes that take no input but the URL: no body, or an empty JSON object;
// anything else is a 400 naming it. (A body schema would make Fastify demand a body.)
import type { FastifyRequest } from 'fastify';
import { badRequest } from '../platform/errors';

export async function requireNoBody(request: FastifyRequest): Promise<void> {
  const body = request.body;
  if (body === undefined) return;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body must be empty or {}');
  const [field] = Object.keys(body);
  if (field !== undefined) throw badRequest(`body.${field} is not allowed`);
}
