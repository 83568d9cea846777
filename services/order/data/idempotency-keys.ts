// Data access for Idempotency-Key records of POST /api/orders, scoped per user.
import type { Queryable } from '../../platform/db';

export type KeyClaim<R> =
  | { kind: 'claimed' }
  | { kind: 'seen-before'; requestHash: string; response: R };

/**
 * Claims (userId, key) inside the caller's transaction. If another transaction holds an uncommitted
 * claim, the INSERT waits for it: when it commits we read its stored response ('seen-before'); when it
 * rolls back our INSERT wins ('claimed').
 */
export async function claimIdempotencyKey<R>(
  tx: Queryable,
  userId: string,
  key: string,
  requestHash: string,
): Promise<KeyClaim<R>> {
  const inserted = await tx.query(
    `INSERT INTO order_idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)
     ON CONFLICT (user_id, key) DO NOTHING`,
    [userId, key, requestHash],
  );
  if (inserted.rowCount === 1) return { kind: 'claimed' };
  const { rows } = await tx.query<{ requestHash: string; response: R }>(
    `SELECT request_hash AS "requestHash", response FROM order_idempotency_keys WHERE user_id = $1 AND key = $2`,
    [userId, key],
  );
  return { kind: 'seen-before', requestHash: rows[0].requestHash, response: rows[0].response };
}

/** Stores the response of a claimed key; must run in the claiming transaction, before it commits. */
export async function recordIdempotentResponse(
  tx: Queryable,
  userId: string,
  key: string,
  orderId: string,
  response: unknown,
): Promise<void> {
  await tx.query(
    `UPDATE order_idempotency_keys SET order_id = $3, response = $4 WHERE user_id = $1 AND key = $2`,
    [userId, key, orderId, JSON.stringify(response)],
  );
}
