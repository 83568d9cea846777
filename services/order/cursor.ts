// Opaque page cursors: base64url JSON of the last item's position, so clients cannot depend on the
// ordering columns. A cursor that does not decode to the expected shape is the caller's error (400).
import { badRequest } from '../platform/errors';

export function encodeCursor(position: Record<string, string>): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor<K extends string>(cursor: string, fields: Record<K, RegExp>): Record<K, string> {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('cursor is not a cursor returned by this API');
  }
  const position = decoded as Record<string, unknown>;
  for (const [field, pattern] of Object.entries(fields) as Array<[K, RegExp]>) {
    const value = position?.[field];
    if (typeof value !== 'string' || !pattern.test(value)) throw badRequest('cursor is not a cursor returned by this API');
  }
  return position as Record<K, string>;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const INTEGER_PATTERN = /^-?\d{1,19}$/;
