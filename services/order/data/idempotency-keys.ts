// Data access for Idempotency-Key records of POST /api/orders, scoped per user. Keys are claimed with
// the order they placed, in the statement that places it (placeOrderAtomically in ./orders).
import type { Queryable } from '../../platform/db';

/** The stored request fingerprint and response of a used key, or undefined if the key is unused. */
export async function findIdempotentResponse<R>(
  db: Queryable,
  userId: string,
  key: string,
): Promise<{ requestHash: string; response: R } | undefined> {
  const { rows } = await db.query<{ requestHash: string; response: R }>(
    `SELECT request_hash AS "requestHash", response FROM order_idempotency_keys WHERE user_id = $1 AND key = $2`,
    [userId, key],
  );
  return rows[0];
}
